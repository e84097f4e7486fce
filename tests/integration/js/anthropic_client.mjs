// Drives the gateway with the official `@anthropic-ai/sdk` npm package.
// Usage: node anthropic_client.mjs '<json command>'  → prints one JSON result.
// Command: {baseURL, apiKey, op: "create"|"stream"|"count_tokens", params}
import Anthropic from "@anthropic-ai/sdk";

const cmd = JSON.parse(process.argv[2]);
const client = new Anthropic({ baseURL: cmd.baseURL, apiKey: cmd.apiKey, maxRetries: 0, timeout: 60000 });

function summary(msg) {
  return {
    id: msg.id, model: msg.model, stop_reason: msg.stop_reason, usage: msg.usage,
    content: msg.content,
    text: msg.content.filter((b) => b.type === "text").map((b) => b.text).join(""),
  };
}

async function run() {
  switch (cmd.op) {
    case "create":
      return summary(await client.messages.create(cmd.params));
    case "stream": {
      const stream = client.messages.stream(cmd.params);
      const types = [];
      stream.on("streamEvent", (ev) => types.push(ev.type));
      const final = await stream.finalMessage();
      return { ...summary(final), events: types };
    }
    case "count_tokens":
      return await client.messages.countTokens(cmd.params);
    default:
      throw new Error("unknown op " + cmd.op);
  }
}

try {
  const result = await run();
  console.log(JSON.stringify({ ok: true, result }));
} catch (err) {
  console.log(JSON.stringify({
    ok: false,
    name: err && err.constructor && err.constructor.name,
    status: err && err.status,
    message: err && err.message,
    error: err && err.error,
  }));
}
