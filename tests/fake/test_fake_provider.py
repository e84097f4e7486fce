#!/usr/bin/env python3
"""Self-test of the fake's third-party provider side: /v1/chat/completions,
/v1/responses, /v1/models and /v1/messages with the provider key.

Run: python3 -m unittest discover -s tests/fake -p 'test_*.py'
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_fake_upstream import FakeTestCase  # noqa: E402
from test_fake_native import sse_events  # noqa: E402

KEY = "sk-provider-test"
BEARER = {"Authorization": "Bearer " + KEY}
X_API_KEY = {"x-api-key": KEY}


class ProviderSide(FakeTestCase):
    def test_chat_takes_any_model_with_the_key(self):
        body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi there"}]}
        status, _, got = self.call("POST", "/v1/chat/completions", body, BEARER)
        self.assertEqual(status, 200, got)
        self.assertEqual(got["model"], "qwen-plus")
        self.assertIn("hi there", got["choices"][0]["message"]["content"])
        status, _, got = self.call("POST", "/v1/chat/completions", body, X_API_KEY)
        self.assertEqual(status, 200, got)

    def test_chat_stream_ends_with_usage_and_done(self):
        body = {"model": "qwen-plus", "stream": True,
                "messages": [{"role": "user", "content": "one two"}]}
        status, headers, raw = self.call("POST", "/v1/chat/completions", body, BEARER)
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/event-stream"))
        self.assertTrue(raw.endswith(b"data: [DONE]\n\n"))
        self.assertIn(b'"usage"', raw)

    def test_wrong_or_missing_key_is_401(self):
        body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}]}
        for h in (None, {"Authorization": "Bearer nope"}, {"x-api-key": "nope"}):
            status, _, got = self.call("POST", "/v1/chat/completions", body, h)
            self.assertEqual(status, 401)
            self.assertEqual(got["error"]["type"], "authentication_error")
        status, _, _ = self.call("GET", "/v1/models", None, {"x-api-key": "nope"})
        self.assertEqual(status, 401)
        status, _, _ = self.call("POST", "/v1/responses", {"model": "m", "input": "x"})
        self.assertEqual(status, 401)

    def test_messages_with_the_key_take_any_model(self):
        body = {"model": "prov-claude", "max_tokens": 64,
                "messages": [{"role": "user", "content": "hello"}]}
        status, _, got = self.call("POST", "/v1/messages", body, X_API_KEY)
        self.assertEqual(status, 200, got)
        self.assertEqual(got["model"], "prov-claude")
        self.assertEqual(got["type"], "message")
        status, _, raw = self.call("POST", "/v1/messages", dict(body, stream=True), BEARER)
        self.assertEqual(status, 200)
        names = [n for n, _ in sse_events(raw)]
        self.assertEqual(names[0], "message_start")
        self.assertEqual(names[-1], "message_stop")
        # Without the key it is still Copilot's endpoint.
        status, _, got = self.call("POST", "/v1/messages", body, {"x-api-key": "nope"})
        self.assertEqual(status, 401)
        self.assertEqual(got["error"]["code"], "token_expired")

    def test_responses_with_the_key(self):
        status, _, got = self.call("POST", "/v1/responses",
                                   {"model": "prov-responses-1", "input": "hi"}, BEARER)
        self.assertEqual(status, 200, got)
        self.assertEqual(got["object"], "response")
        self.assertEqual(got["model"], "prov-responses-1")
        self.assertEqual(got["status"], "completed")

    def test_models_list(self):
        status, _, got = self.call("GET", "/v1/models", None, X_API_KEY)
        self.assertEqual(status, 200)
        self.assertEqual(got["object"], "list")
        self.assertIn("qwen-plus", [m["id"] for m in got["data"]])

    def test_provider_requests_are_recorded_and_faulted(self):
        self.ctl("POST", "/_fake/faults", [{"path": "/v1/models", "kind": "status",
                                            "status": 503, "body": {"error": "down"}}])
        status, _, got = self.call("GET", "/v1/models", None, BEARER)
        self.assertEqual(status, 503)
        reqs = self.ctl("GET", "/_fake/requests")["requests"]
        self.assertEqual(reqs[-1]["path"], "/v1/models")
        self.assertEqual(reqs[-1]["headers"]["authorization"], "Bearer " + KEY)


if __name__ == "__main__":
    unittest.main()
