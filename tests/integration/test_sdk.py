"""The official `openai` npm client against the gateway behind lighttpd."""

import json
import os
import subprocess
import unittest

import harness
from harness import API_KEY

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def node(script, cmd, timeout=90):
    r = subprocess.run(["node", os.path.join(JS, script), json.dumps(cmd)],
                       capture_output=True, text=True, timeout=timeout,
                       cwd=os.path.join(harness.ROOT, "tests"))
    if r.returncode != 0:
        raise AssertionError("node %s failed: %s %s" % (script, r.stdout, r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])


class OpenAISDK(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack()
        cls.base = cls.s.url + "/v1"

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    def run_op(self, op, params=None, key=API_KEY):
        return node("openai_client.mjs", {"baseURL": self.base, "apiKey": key,
                                          "op": op, "params": params or {}})

    def test_chat(self):
        r = self.run_op("chat", {"model": "gpt-4.1", "messages": [
            {"role": "user", "content": "sdk non-stream"}]})
        self.assertTrue(r["ok"], r)
        self.assertIn("sdk non-stream", r["result"]["text"])
        self.assertEqual(r["result"]["finish"], "stop")
        self.assertGreater(r["result"]["usage"]["total_tokens"], 0)

    def test_chat_stream_with_usage(self):
        r = self.run_op("chat_stream", {"model": "gpt-4.1",
                                        "stream_options": {"include_usage": True},
                                        "messages": [{"role": "user", "content": "sdk streaming ✓"}]})
        self.assertTrue(r["ok"], r)
        self.assertIn("sdk streaming ✓", r["result"]["text"])
        self.assertEqual(r["result"]["finish"], "stop")
        self.assertGreater(r["result"]["chunks"], 2)
        self.assertIsNotNone(r["result"]["usage"])

    def test_chat_stream_without_done_ends_cleanly(self):
        # The upstream finished its message (finish_reason, usage) and closed
        # without data: [DONE]: the SDK gets the whole answer, no error.
        self.s.fake.config(omit_done=True)
        r = self.run_op("chat_stream", {"model": "gpt-4.1",
                                        "stream_options": {"include_usage": True},
                                        "messages": [{"role": "user", "content": "no done"}]})
        self.assertTrue(r["ok"], r)
        self.assertIn("no done", r["result"]["text"])
        self.assertEqual(r["result"]["finish"], "stop")
        self.assertIsNotNone(r["result"]["usage"])

    def test_embeddings(self):
        r = self.run_op("embeddings", {"model": "text-embedding-3-small",
                                       "input": ["one", "two", "three"]})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"]["n"], 3)
        self.assertGreater(r["result"]["dims"], 0)

    def test_models(self):
        r = self.run_op("models")
        self.assertTrue(r["ok"], r)
        self.assertIn("gpt-4.1", r["result"]["ids"])

    def test_wrong_key_is_an_sdk_auth_error(self):
        r = self.run_op("models", key="sk-wrong")
        self.assertFalse(r["ok"])
        self.assertEqual(r["status"], 401)
        self.assertEqual(r["name"], "AuthenticationError")

    def test_upstream_error_reaches_the_sdk(self):
        self.s.fake.fault(path="/chat/completions", kind="status", status=503,
                          body={"error": {"message": "copilot is overloaded"}})
        r = self.run_op("chat", {"model": "gpt-4.1", "messages": [
            {"role": "user", "content": "x"}]})
        self.assertFalse(r["ok"])
        self.assertEqual(r["status"], 503)
        self.assertIn("copilot is overloaded", r["message"])

    def test_mid_stream_failure_is_an_sdk_error(self):
        self.s.fake.fault(path="/chat/completions", kind="drop_after", events=2)
        r = self.run_op("chat_stream", {"model": "gpt-4.1", "messages": [
            {"role": "user", "content": "will drop"}]})
        self.assertFalse(r["ok"], r)
        self.assertIn("upstream", (r["message"] or "").lower())
