// Loads plugin/opencode/subagent-marker.js the way opencode does (import the
// module, call each exported plugin with its context, keep the hooks) and
// drives it with the events and hook calls opencode makes for a parent
// session and one sub-session.  Prints, as one JSON line, what the plugin did:
// the parts of each session's first two messages and the headers of each
// session's requests.
import { pathToFileURL } from "node:url";

const [pluginPath] = process.argv.slice(2);
const mod = await import(pathToFileURL(pluginPath).href);
const ctx = { client: {}, project: { id: "p" }, directory: process.cwd(), worktree: process.cwd(), $: null };
const hooks = [];
for (const plugin of Object.values(mod)) {
  if (typeof plugin === "function") hooks.push(await plugin(ctx));
}

async function fire(name, input, output) {
  for (const h of hooks) if (typeof h[name] === "function") await h[name](input, output);
}
async function event(type, info) {
  for (const h of hooks) if (typeof h.event === "function") await h.event({ event: { type, properties: { info } } });
}
async function message(sessionID, n, agent, text) {
  const msg = { id: `msg_${sessionID}_${n}`, sessionID, role: "user" };
  const output = { message: msg, parts: [{ id: `prt_${n}`, sessionID, messageID: msg.id, type: "text", text }] };
  await fire("chat.message", { sessionID, agent, messageID: msg.id }, output);
  return output.parts;
}
async function headers(sessionID) {
  const output = { headers: {} };
  await fire("chat.headers", { sessionID, agent: "build", model: {}, provider: {}, message: {} }, output);
  return output.headers;
}

await event("session.created", { id: "ses_parent", title: "main" });
await event("session.created", { id: "ses_child", parentID: "ses_parent", title: "explore" });
const out = {
  hooks: hooks.length,
  parent: [await message("ses_parent", 1, "build", "hello"), await message("ses_parent", 2, "build", "again")],
  child: [await message("ses_child", 1, "explore", "find the file"), await message("ses_child", 2, "explore", "more")],
  parentHeaders: await headers("ses_parent"),
  childHeaders: await headers("ses_child"),
};
await event("session.deleted", { id: "ses_child", parentID: "ses_parent" });
out.deletedHeaders = await headers("ses_child");
process.stdout.write(JSON.stringify(out) + "\n");
