"""The plugins in plugin/ and .claude-plugin/: the agent-inject hook script
run with the input Claude Code sends (hooks reference: common fields
session_id, transcript_path, cwd, permission_mode, hook_event_name, plus the
event's own), its output placed where Claude Code puts it and sent through
/v1/messages; Claude Code itself loading the marketplace and starting a
subagent; the opencode plugin driven by node with a fake plugin API; the
tool-search plugin's MCP server definition run as written."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness

HOOK = os.path.join(harness.ROOT, "plugin", "claude", "agent-inject", "scripts", "hook.mjs")
HOOKS_JSON = os.path.join(harness.ROOT, "plugin", "claude", "agent-inject", "hooks", "hooks.json")
MARKETPLACE = os.path.join(harness.ROOT, ".claude-plugin", "marketplace.json")
OPENCODE = os.path.join(harness.ROOT, "plugin", "opencode", "subagent-marker.js")
MCP_JSON = os.path.join(harness.ROOT, "plugin", "claude", "tool-search", ".mcp.json")
CLAUDE = os.path.join(harness.ROOT, "tests", "node_modules", ".bin", "claude")
JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def common(event, **extra):
    d = {"session_id": "9f3c2a6e-2b1d-4c55-8a0e-1d2c3b4a5f60",
         "transcript_path": "/srv/p/.claude/projects/p/9f3c2a6e.jsonl",
         "cwd": "/srv/p", "permission_mode": "default", "hook_event_name": event}
    d.update(extra)
    return d


def run_hook(event, stdin, env=None):
    """Runs the command hooks.json registers for event, as Claude Code does."""
    with open(HOOKS_JSON) as f:
        cmd = json.load(f)["hooks"][event][0]["hooks"][0]["command"]
    root = os.path.dirname(os.path.dirname(HOOK))
    e = {"PATH": os.environ["PATH"], "CLAUDE_PLUGIN_ROOT": root}
    e.update(env or {})
    r = subprocess.run(["sh", "-c", cmd.replace("${CLAUDE_PLUGIN_ROOT}", root)],
                       input=stdin, capture_output=True, text=True, env=e, timeout=30)
    if r.returncode != 0:
        raise AssertionError("hook %s exited %d: %s" % (event, r.returncode, r.stderr))
    return json.loads(r.stdout)


def reminder(context, event="SubagentStart"):
    # How Claude Code hands a hook's additionalContext to the model.
    return ("<system-reminder>\n%s hook additional context: %s\n</system-reminder>"
            % (event, context))


class Plugins(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def send(self, content, headers=None):
        """One /v1/messages turn; the headers the fake upstream saw."""
        self.s.fake.reset()
        body = {"model": "claude-sonnet-4-6", "max_tokens": 64,
                "messages": [{"role": "user", "content": content}]}
        status, _, payload = self.s.request("POST", "/v1/messages", body, headers=headers)
        self.assertEqual(status, 200, payload)
        seen = [q for q in self.s.fake.requests("/v1/messages") if q["method"] == "POST"]
        self.assertEqual(len(seen), 1)
        return seen[0]["headers"]

    # ---- Claude Code: agent-inject -------------------------------------

    def test_marketplace_lists_both_plugins(self):
        with open(MARKETPLACE) as f:
            m = json.load(f)
        for p in m["plugins"]:
            src = os.path.normpath(os.path.join(harness.ROOT, p["source"]))
            with open(os.path.join(src, ".claude-plugin", "plugin.json")) as f:
                self.assertEqual(json.load(f)["name"], p["name"])
        self.assertEqual(sorted(p["name"] for p in m["plugins"]), ["agent-inject", "tool-search"])

    def test_subagent_start_marks_the_subagent_as_agent(self):
        out = run_hook("SubagentStart", json.dumps(common(
            "SubagentStart", agent_id="agent-7b1e", agent_type="Explore")))
        spec = out["hookSpecificOutput"]
        self.assertEqual(spec["hookEventName"], "SubagentStart")
        ctx = spec["additionalContext"]
        self.assertTrue(ctx.startswith("__SUBAGENT_MARKER__"), ctx)
        task = {"type": "text", "text": "Find where the config is parsed."}
        # The same first turn without the marker is a user turn ...
        self.assertEqual(self.send([task])["x-initiator"], "user")
        # ... and with the hook's context where Claude Code puts it, an agent turn.
        self.assertEqual(self.send([{"type": "text", "text": reminder(ctx)}, task])["x-initiator"],
                         "agent")

    def test_subagent_start_without_ids_injects_nothing(self):
        for stdin in ("", "not json", json.dumps(common("SubagentStart"))):
            out = run_hook("SubagentStart", stdin)
            self.assertEqual(out, {"continue": True}, stdin)

    def test_user_prompt_submit_lets_the_prompt_through(self):
        out = run_hook("UserPromptSubmit", json.dumps(common(
            "UserPromptSubmit", prompt="fix the build")))
        self.assertEqual(out, {"continue": True})

    def test_session_start_rules_follow_the_environment(self):
        stdin = json.dumps(common("SessionStart", source="startup", model="claude-sonnet-4-6"))
        self.assertEqual(run_hook("SessionStart", stdin), {"continue": True})
        off = run_hook("SessionStart", stdin, {"CLAUDE_PLUGIN_ENABLE_QUESTION_RULES": "0"})
        self.assertEqual(off, {"continue": True})
        q = run_hook("SessionStart", stdin, {"CLAUDE_PLUGIN_ENABLE_QUESTION_RULES": "true"})
        ctx = q["hookSpecificOutput"]["additionalContext"]
        self.assertEqual(q["hookSpecificOutput"]["hookEventName"], "SessionStart")
        self.assertIn("AskUserQuestion", ctx)
        self.assertNotIn("run_in_background", ctx)
        both = run_hook("SessionStart", stdin, {"CLAUDE_PLUGIN_ENABLE_QUESTION_RULES": "yes",
                                                "CLAUDE_PLUGIN_ENABLE_NO_BACKGROUND_AGENTS_RULE": "1"})
        ctx = both["hookSpecificOutput"]["additionalContext"]
        self.assertIn("AskUserQuestion", ctx)
        self.assertIn("run_in_background", ctx)
        # The rules do not turn a user's turn into an agent turn.
        text = {"type": "text", "text": reminder(ctx, "SessionStart")}
        self.assertEqual(self.send([text, {"type": "text", "text": "hi"}])["x-initiator"], "user")

    # ---- opencode ---------------------------------------------------------

    def test_opencode_plugin_marks_sub_sessions(self):
        r = subprocess.run(["node", os.path.join(JS, "opencode_plugin.mjs"), OPENCODE],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["hooks"], 1)
        # The parent session is left alone; the sub-session's first message only is marked.
        self.assertEqual([len(p) for p in out["parent"]], [1, 1])
        self.assertEqual([len(p) for p in out["child"]], [2, 1])
        marker = out["child"][0][0]
        self.assertTrue(marker["synthetic"])
        self.assertEqual(marker["messageID"], "msg_ses_child_1")
        self.assertEqual(out["parentHeaders"], {"x-session-id": "ses_parent"})
        self.assertEqual(out["childHeaders"], {"x-session-id": "ses_parent"})
        self.assertEqual(out["deletedHeaders"], {})

        def upstream(parts, headers):
            return self.send([{"type": "text", "text": p["text"]} for p in parts], headers)

        parent = upstream(out["parent"][0], out["parentHeaders"])
        child = upstream(out["child"][0], out["childHeaders"])
        self.assertEqual(parent["x-initiator"], "user")
        self.assertEqual(child["x-initiator"], "agent")
        # One conversation: the sub-session keeps its parent's interaction id.
        self.assertTrue(parent.get("x-interaction-id"))
        self.assertEqual(child["x-interaction-id"], parent["x-interaction-id"])

    # ---- tool-search -------------------------------------------------------

    def test_tool_search_server_definition_runs(self):
        with open(MCP_JSON) as f:
            srv = json.load(f)["mcpServers"]["tool_search"]
        self.assertEqual(srv["type"], "stdio")
        env = dict(os.environ, PATH=harness.BIN + os.pathsep + os.environ["PATH"],
                   COPILOT_API_HOME=self.s.home)
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "t", "version": "0"}}}
        r = subprocess.run([srv["command"]] + srv["args"], input=json.dumps(init) + "\n",
                           capture_output=True, text=True, env=env, timeout=30)
        reply = json.loads(r.stdout.splitlines()[0])
        self.assertEqual(reply["result"]["serverInfo"]["name"], "tool_search")

    # ---- Claude Code itself -------------------------------------------------

    def claude(self, env, cwd, *args):
        r = subprocess.run([CLAUDE] + list(args), cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=240, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, "claude %s\nstdout: %s\nstderr: %s"
                         % (args, r.stdout[-2000:], r.stderr[-2000:]))
        return r.stdout

    @unittest.skipUnless(os.path.exists(CLAUDE), "run npm ci in tests/ first")
    def test_claude_code_installs_the_marketplace(self):
        """Claude Code adds the repository as a marketplace, installs agent-inject,
        and its SubagentStart hook marks the subagent's requests."""
        work, _, proj, env = harness.claude_code_sandbox(self.s, "gw-ccp-")
        # A copy: Claude Code may write into a directory marketplace.
        market = os.path.join(work, "market")
        shutil.copytree(os.path.join(harness.ROOT, ".claude-plugin"),
                        os.path.join(market, ".claude-plugin"))
        shutil.copytree(os.path.join(harness.ROOT, "plugin"), os.path.join(market, "plugin"))
        self.claude(env, proj, "plugin", "marketplace", "add", market)
        self.claude(env, proj, "plugin", "install", "agent-inject@copilot-api-marketplace")
        self.s.fake.reset()
        self.s.fake.config(tool_calls=[{"name": "Agent", "arguments": {
            "description": "look around", "prompt": "List the files here.",
            "subagent_type": "general-purpose"}}])
        out = json.loads(self.claude(env, proj, "-p", "Use an agent to list the files.",
                                     "--output-format", "json", "--model", "claude-sonnet-4-6",
                                     "--allowedTools", "Agent"))
        self.assertFalse(out.get("is_error"), out)
        reqs = [q for q in self.s.fake.requests("/v1/messages")
                if q["method"] == "POST" and isinstance(q["body"], dict)]
        marked = [q for q in reqs if "__SUBAGENT_MARKER__" in json.dumps(q["body"]["messages"][:1])]
        self.assertTrue(marked, [json.dumps(q["body"]["messages"])[:300] for q in reqs])
        first = marked[0]
        self.assertEqual(first["headers"]["x-initiator"], "agent")
        # Its only user content is text: without the marker it would be a user turn.
        self.assertEqual(len(first["body"]["messages"]), 1)


if __name__ == "__main__":
    unittest.main()
