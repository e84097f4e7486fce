// The agent-inject hooks of the copilot-api gateway, one script for the
// three events (the event name is the first argument, hooks/hooks.json).
// Claude Code sends the hook input as JSON on stdin and reads our JSON
// answer from stdout.
//
//   SubagentStart     additionalContext = __SUBAGENT_MARKER__{session_id,
//                     agent_id, agent_type}; Claude Code puts it in the
//                     subagent's first user message, where the gateway finds
//                     it and sends the subagent's requests as x-initiator: agent.
//   UserPromptSubmit  lets the prompt through unchanged.
//   SessionStart      optional rules, each switched on by an environment
//                     variable (1, true, yes or on):
//                     CLAUDE_PLUGIN_ENABLE_QUESTION_RULES,
//                     CLAUDE_PLUGIN_ENABLE_NO_BACKGROUND_AGENTS_RULE.

const MARKER = "__SUBAGENT_MARKER__";

const QUESTION_RULES = [
  "- Do not ask the user questions in plain text: ask them with the AskUserQuestion tool.",
  "- When you believe the task is done, ask the user with the AskUserQuestion tool to confirm it; " +
    "if they answer with feedback, act on it and ask for confirmation again the same way.",
];

const NO_BACKGROUND_AGENTS_RULE = [
  "- Never start an Agent with `run_in_background: true`: through the proxy a background agent " +
    'ends in "No task found" errors. Run every agent in the foreground.',
];

function enabled(name) {
  return /^(1|true|yes|on)$/i.test((process.env[name] ?? "").trim());
}

async function readInput() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (!text) return {};
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

function text(value) {
  return typeof value === "string" && value !== "" ? value : null;
}

function subagentStart(input) {
  const session = text(input.session_id);
  const agent = text(input.agent_id);
  // The gateway accepts a marker only with all three fields set.
  if (!session || !agent) return { continue: true };
  const marker = MARKER + JSON.stringify({
    session_id: session,
    agent_id: agent,
    agent_type: text(input.agent_type) ?? "subagent",
  });
  return {
    hookSpecificOutput: { hookEventName: "SubagentStart", additionalContext: marker },
  };
}

function sessionStart() {
  const rules = [];
  if (enabled("CLAUDE_PLUGIN_ENABLE_QUESTION_RULES")) rules.push(...QUESTION_RULES);
  if (enabled("CLAUDE_PLUGIN_ENABLE_NO_BACKGROUND_AGENTS_RULE")) rules.push(...NO_BACKGROUND_AGENTS_RULE);
  if (rules.length === 0) return { continue: true };
  return {
    hookSpecificOutput: { hookEventName: "SessionStart", additionalContext: rules.join("\n") },
  };
}

const handlers = {
  SubagentStart: subagentStart,
  SessionStart: sessionStart,
  UserPromptSubmit: () => ({ continue: true }),
};

const event = process.argv[2];
const input = await readInput();
const handler = handlers[event ?? input.hook_event_name];
if (!handler) {
  process.stderr.write(`agent-inject: unknown hook event ${JSON.stringify(event)}\n`);
  process.exit(1);
}
process.stdout.write(JSON.stringify(handler(input)) + "\n");
