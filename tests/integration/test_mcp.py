"""`copilot-api mcp`: the tool_search bridge driven over stdio, by the official
MCP TypeScript SDK client and by hand (raw newline-delimited JSON-RPC)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
CLI = os.path.join(harness.BIN, "copilot-api")


def node(script, cmd, timeout=90):
    r = subprocess.run(["node", os.path.join(JS, script), json.dumps(cmd)],
                       capture_output=True, text=True, timeout=timeout,
                       cwd=os.path.join(harness.ROOT, "tests"))
    if r.returncode != 0:
        raise AssertionError("node %s failed: %s %s" % (script, r.stdout, r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])


def rpc(id_, method, params=None):
    m = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        m["params"] = params
    return json.dumps(m)


class Base(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="gw-mcp-")
        self.env = dict(os.environ, COPILOT_API_HOME=self.home)

    def tearDown(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def run_mcp(self, data, env=None, timeout=60):
        """Feeds data (bytes) to stdin, closes it; returns the finished process."""
        return subprocess.run([CLI, "mcp"], input=data, capture_output=True,
                              timeout=timeout, env=dict(self.env, **(env or {})))

    def replies(self, proc):
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = proc.stdout.decode()
        self.assertTrue(out == "" or out.endswith("\n"), out)
        return [json.loads(line) for line in out.splitlines()]


class MCPSDK(Base):
    def test_sdk_client_session(self):
        r = node("mcp_client.mjs", {"bin": CLI, "names": "Read, Bash,Read ,",
                                    "env": {"COPILOT_API_HOME": self.home,
                                            "COPILOT_API_LOG_LEVEL": "debug"}})
        self.assertTrue(r["ok"], r)
        r = r["result"]
        # the SDK asks for its latest version, which we speak
        self.assertEqual(r["protocolVersion"], r["clientProtocolVersion"])
        self.assertEqual(r["serverVersion"], {"name": "tool_search", "version": "1.0.0"})
        self.assertEqual(r["capabilities"], {"tools": {"listChanged": False}})
        self.assertEqual(len(r["tools"]), 1)
        tool = r["tools"][0]
        self.assertEqual(tool["name"], "search")
        self.assertEqual(tool["title"], "Tool Search Bridge")
        self.assertEqual(tool["description"], "Load deferred tools by exact name "
                         "through the Copilot API tool_search bridge.")
        self.assertEqual(tool["inputSchema"], {
            "type": "object",
            "properties": {"names": {"type": "string", "description":
                                     "Comma-separated exact deferred tool names"}},
            "required": ["names"]})
        self.assertEqual(tool["_meta"], {"anthropic/alwaysLoad": True})
        # the sentinel, byte for byte as the gateway expects it
        self.assertEqual(r["call"]["content"], [{"type": "text", "text":
                         '{"type":"copilot_api_tool_search","names":["Read","Bash"]}'}])
        self.assertNotIn("isError", r["call"])
        self.assertEqual(r["sentinel"], {"type": "copilot_api_tool_search",
                                         "names": ["Read", "Bash"]})
        # bad arguments: a tool result the model can read
        self.assertTrue(r["missing"]["isError"])
        self.assertIn("names", r["missing"]["content"][0]["text"])
        # an unknown tool: a JSON-RPC error, thrown by the SDK
        self.assertTrue(r["unknown"]["thrown"], r["unknown"])
        self.assertEqual(r["unknown"]["name"], "McpError")
        self.assertEqual(r["unknown"]["code"], -32602)
        self.assertIn("no_such_tool", r["unknown"]["message"])
        self.assertEqual(r["pong"], {})
        # every stdout line was JSON-RPC; the debug log went to stderr
        self.assertEqual(r["transportErrors"], [])
        self.assertEqual(r["received"], 6)
        self.assertIn("request tools/call", r["stderr"])


class MCPStdio(Base):
    def test_protocol_version_negotiation(self):
        for asked, answered in [("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"),
                                ("2025-03-26", "2025-03-26"), ("2024-11-05", "2024-11-05"),
                                ("2024-10-07", "2025-11-25"), ("1999-01-01", "2025-11-25")]:
            p = self.run_mcp((rpc(1, "initialize", {
                "protocolVersion": asked, "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"}}) + "\n").encode())
            (reply,) = self.replies(p)
            self.assertEqual(reply["id"], 1)
            self.assertEqual(reply["result"]["protocolVersion"], answered, asked)

    def test_session_stdout_is_json_lines_only(self):
        lines = [
            rpc(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                  "clientInfo": {"name": "t", "version": "0"}}),
            json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            "",
            "   ",
            rpc("two", "tools/list") + "\r",
            rpc(3, "tools/call", {"name": "search", "arguments": {"names": "a\nb, C"}}),
            "{not json",
            rpc(4, "resources/list"),
            json.dumps([json.loads(rpc(5, "ping")),
                        {"jsonrpc": "2.0", "method": "notifications/cancelled"}]),
            rpc(6, "ping"),        # the last line has no newline: EOF ends it
        ]
        p = self.run_mcp("\n".join(lines).encode(), env={"COPILOT_API_LOG_LEVEL": "debug"})
        got = self.replies(p)
        self.assertEqual([g["id"] if isinstance(g, dict) else [x["id"] for x in g]
                          for g in got], [1, "two", 3, None, 4, [5], 6])
        self.assertEqual(got[1]["result"]["tools"][0]["name"], "search")
        self.assertEqual(json.loads(got[2]["result"]["content"][0]["text"])["names"],
                         ["a\nb", "C"])
        self.assertEqual(got[3]["error"]["code"], -32700)
        self.assertEqual(got[4]["error"]["code"], -32601)
        self.assertIn(b"debug: mcp: request ping", p.stderr)

    def test_replies_come_before_eof(self):
        proc = subprocess.Popen([CLI, "mcp"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=self.env)
        try:
            proc.stdin.write((rpc(1, "ping") + "\n").encode())
            proc.stdin.flush()
            self.assertEqual(json.loads(proc.stdout.readline()),
                             {"jsonrpc": "2.0", "id": 1, "result": {}})
            # one message in two writes
            msg = (rpc(2, "tools/call", {"name": "search",
                                         "arguments": {"names": "X,Y"}}) + "\n").encode()
            proc.stdin.write(msg[:17])
            proc.stdin.flush()
            proc.stdin.write(msg[17:])
            proc.stdin.flush()
            reply = json.loads(proc.stdout.readline())
            self.assertEqual(json.loads(reply["result"]["content"][0]["text"])["names"],
                             ["X", "Y"])
            proc.stdin.close()
            self.assertEqual(proc.wait(timeout=20), 0)
            self.assertEqual(proc.stdout.read(), b"")
        finally:
            harness.stop(proc)
            proc.stdout.close()

    def test_line_over_16_mib_is_a_parse_error(self):
        big = b'{"jsonrpc":"2.0","id":1,"method":"ping","pad":"' + \
            b"x" * (16 * 1024 * 1024) + b'"}\n'
        p = self.run_mcp(big + (rpc(2, "ping") + "\n").encode())
        got = self.replies(p)
        self.assertEqual(len(got), 2)
        self.assertEqual(got[0]["id"], None)
        self.assertEqual(got[0]["error"]["code"], -32700)
        self.assertIn("longer than", got[0]["error"]["message"])
        self.assertEqual(got[1], {"jsonrpc": "2.0", "id": 2, "result": {}})
        # just under the limit is an ordinary message
        pad = 16 * 1024 * 1024 - len(b'{"jsonrpc":"2.0","id":3,"method":"ping","pad":""}')
        fits = b'{"jsonrpc":"2.0","id":3,"method":"ping","pad":"' + b"y" * pad + b'"}\n'
        self.assertEqual(len(fits), 16 * 1024 * 1024 + 1)
        got = self.replies(self.run_mcp(fits))
        self.assertEqual(got, [{"jsonrpc": "2.0", "id": 3, "result": {}}])

    def test_empty_input_exits_cleanly(self):
        p = self.run_mcp(b"")
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stdout, b"")

    def test_usage(self):
        r = subprocess.run([CLI, "mcp", "--help"], capture_output=True, text=True,
                           env=self.env, timeout=20)
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: copilot-api mcp", r.stdout)
        r = subprocess.run([CLI, "mcp", "--port", "1"], capture_output=True, text=True,
                           env=self.env, timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: copilot-api mcp", r.stderr)
        r = subprocess.run([CLI, "help"], capture_output=True, text=True,
                           env=self.env, timeout=20)
        self.assertIn("mcp ", r.stdout)


if __name__ == "__main__":
    unittest.main()
