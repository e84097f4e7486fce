// Drives `copilot-api mcp` with the official MCP TypeScript SDK client over stdio.
// Usage: node mcp_client.mjs '<json command>'  → prints one JSON result.
// Command: {bin, env, names} — the binary, extra environment, the names argument.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";

const cmd = JSON.parse(process.argv[2]);

async function run() {
  const transport = new StdioClientTransport({
    command: cmd.bin,
    args: ["mcp"],
    env: cmd.env || {},
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr.on("data", (d) => { stderr += d; });
  // Set before connect: the SDK keeps these and calls its own after them.
  const received = [];
  const transportErrors = [];
  transport.onmessage = (m) => received.push(m);
  transport.onerror = (e) => transportErrors.push(String(e));

  const client = new Client({ name: "copilot-api-c-tests", version: "1.0.0" });
  await client.connect(transport);
  const initReply = received.find((m) => m.id !== undefined && m.result && m.result.protocolVersion);

  const listed = await client.listTools();
  const call = await client.callTool({ name: "search", arguments: { names: cmd.names } });
  const missing = await client.callTool({ name: "search", arguments: {} });
  let unknown;
  try {
    const r = await client.callTool({ name: "no_such_tool", arguments: { names: "Read" } });
    unknown = { thrown: false, result: r };
  } catch (err) {
    unknown = { thrown: true, name: err.constructor.name, code: err.code, message: err.message };
  }
  const pong = await client.ping();
  await client.close();

  return {
    clientProtocolVersion: LATEST_PROTOCOL_VERSION,
    protocolVersion: initReply && initReply.result.protocolVersion,
    serverVersion: client.getServerVersion(),
    capabilities: client.getServerCapabilities(),
    tools: listed.tools,
    call,
    sentinel: JSON.parse(call.content[0].text),
    missing,
    unknown,
    pong,
    received: received.length,
    transportErrors,
    stderr,
  };
}

try {
  const result = await run();
  console.log(JSON.stringify({ ok: true, result }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, name: err && err.constructor && err.constructor.name, message: err && err.message }));
}
