"""Claude Code itself (headless, pinned npm package) against the gateway:
the fake answers the first turn with a Read tool_use, Claude Code runs the
tool, and the second turn must carry the tool_result."""

import json
import os
import subprocess
import unittest

import harness
from harness import API_KEY

CLAUDE = os.path.join(harness.ROOT, "tests", "node_modules", ".bin", "claude")


@unittest.skipUnless(os.path.exists(CLAUDE), "run npm ci in tests/ first")
class ClaudeCode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def run_claude(self, model, upstream_path):
        self.s.fake.reset()
        _, _, proj, env = harness.claude_code_sandbox(self.s, "gw-cc-")
        secret = os.path.join(proj, "secret.txt")
        with open(secret, "w") as f:
            f.write("the password is swordfish\n")
        self.s.fake.config(tool_calls=[{"name": "Read", "arguments": {"file_path": secret}}])
        r = subprocess.run([CLAUDE, "-p", "What is in secret.txt?", "--output-format", "json",
                            "--model", model, "--allowedTools", "Read"],
                           cwd=proj, env=env, capture_output=True, text=True, timeout=240,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, "stdout: %s\nstderr: %s" % (r.stdout[-2000:], r.stderr[-2000:]))
        out = json.loads(r.stdout)
        self.assertFalse(out.get("is_error"), out)
        self.assertIn("swordfish", out["result"])
        # a turn is a POST, or a response.create message over the Responses
        # WebSocket (the initiator then travels in the message)
        reqs = [q for q in self.s.fake.requests(upstream_path) if q["method"] in ("POST", "WS")]
        turns = [q for q in reqs if isinstance(q["body"], dict) and q["body"].get("tools")]
        self.assertGreaterEqual(len(turns), 2, [q["path"] for q in reqs])
        second = json.dumps(turns[-1]["body"])
        self.assertIn("swordfish", second)              # the tool_result went upstream
        last = turns[-1]
        self.assertEqual(last["body"]["initiator"] if last["method"] == "WS"
                         else last["headers"]["x-initiator"], "agent")
        return turns

    def test_claude_model_native_messages(self):
        turns = self.run_claude("claude-sonnet-4-6", "/v1/messages")
        body = turns[-1]["body"]
        self.assertEqual(body["model"], "claude-sonnet-4.6")
        blocks = [b for m in body["messages"] if isinstance(m["content"], list)
                  for b in m["content"]]
        self.assertIn("tool_result", [b["type"] for b in blocks])
        # Claude Code's role:"system" messages never reach Copilot as such.
        self.assertNotIn("system", [m["role"] for m in body["messages"]])

    def test_gpt_model_responses(self):
        turns = self.run_claude("gpt-5.4", "/responses")
        self.assertEqual({t["method"] for t in turns}, {"WS"})   # ws:/responses
        items = turns[-1]["body"]["input"]
        self.assertIn("function_call_output", [i.get("type") for i in items])
