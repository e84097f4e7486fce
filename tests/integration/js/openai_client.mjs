// Drives the gateway with the official `openai` npm package.
// Usage: node openai_client.mjs '<json command>'  → prints one JSON result.
// Command: {baseURL, apiKey, op: "chat"|"chat_stream"|"embeddings"|"models", params}
import OpenAI from "openai";

const cmd = JSON.parse(process.argv[2]);
const client = new OpenAI({ baseURL: cmd.baseURL, apiKey: cmd.apiKey, maxRetries: 0, timeout: 60000 });

async function run() {
  switch (cmd.op) {
    case "chat": {
      const r = await client.chat.completions.create(cmd.params);
      return { id: r.id, text: r.choices[0].message.content, finish: r.choices[0].finish_reason, usage: r.usage };
    }
    case "chat_stream": {
      const stream = await client.chat.completions.create({ ...cmd.params, stream: true });
      let text = "", usage = null, chunks = 0, finish = null;
      for await (const chunk of stream) {
        chunks++;
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices || []) {
          if (c.delta && c.delta.content) text += c.delta.content;
          if (c.finish_reason) finish = c.finish_reason;
        }
      }
      return { text, usage, chunks, finish };
    }
    case "embeddings": {
      const r = await client.embeddings.create(cmd.params);
      return { n: r.data.length, dims: r.data[0].embedding.length, usage: r.usage, model: r.model };
    }
    case "models": {
      const ids = [];
      for await (const m of client.models.list()) ids.push(m.id);
      return { ids };
    }
    case "responses": {
      const r = await client.responses.create(cmd.params);
      return { id: r.id, status: r.status, text: r.output_text, output: r.output, usage: r.usage };
    }
    case "responses_stream": {
      const stream = await client.responses.create({ ...cmd.params, stream: true });
      const types = [];
      let text = "", final = null;
      const added = {}, mismatched = [];
      for await (const ev of stream) {
        types.push(ev.type);
        if (ev.type === "response.output_text.delta") text += ev.delta;
        if (ev.type === "response.output_item.added") added[ev.output_index] = ev.item.id;
        if (ev.type === "response.output_item.done" && added[ev.output_index] !== ev.item.id)
          mismatched.push(ev.output_index);
        if (ev.item_id !== undefined && added[ev.output_index] !== undefined &&
            ev.item_id !== added[ev.output_index]) mismatched.push(ev.type);
        if (ev.type === "response.completed" || ev.type === "response.incomplete") final = ev.response;
      }
      return { types, text, mismatched, status: final && final.status,
               output: final && final.output, usage: final && final.usage };
    }
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
