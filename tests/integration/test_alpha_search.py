"""POST /v1/alpha/search and /alpha/search (1.14.7, a23edf6): the body and
query forwarded as they came to the fake Codex backend's search with the
codex sign-in; the answer relayed as is; no usage row; a 404 without the
codex provider, a refresh and one retry after a 401, GET is a 405."""

import json
import unittest

import harness
import test_codex

# the request the reference's own test sends (tests/alpha-search.test.ts)
PAYLOAD = {
    "id": "search-request-id", "model": "gpt-5.6-sol",
    "input": [
        {"type": "message", "role": "user",
         "content": [{"type": "input_text", "text": "search query"}],
         "internal_chat_message_metadata_passthrough": {"turn_id": "turn-id"}},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "searching"}],
         "phase": "commentary",
         "internal_chat_message_metadata_passthrough": {"turn_id": "turn-id"}},
    ],
    "commands": {"open": [{"ref_id": "turn0search0"}], "response_length": "long"},
    "settings": {"allowed_callers": ["direct"], "external_web_access": False},
    "max_output_tokens": 10000,
}
UPSTREAM = "/backend-api/codex/alpha/search"


class AlphaSearch(test_codex.SignedInCase):
    def test_forwarded_as_sent_and_relayed(self):
        rows = len(self.s.usage_rows())
        for path in ("/v1/alpha/search?q=typescript&limit=5", "/alpha/search"):
            status, headers, out = self.s.json(
                "POST", path, PAYLOAD,
                headers={"accept": "*/*", "cookie": "session=test-cookie",
                         "originator": "codex-tui", "user-agent": "codex-tui/test",
                         "x-client-header": "kept"})
            self.assertEqual(status, 200, out)
            self.assertEqual(out, {"results": [{"title": "search query"}]})
            self.assertTrue(headers["content-type"].startswith("application/json"))
        ups = self.s.fake.requests(UPSTREAM)
        self.assertEqual(len(ups), 2)
        self.assertEqual(ups[0]["query_string"], "q=typescript&limit=5")
        self.assertEqual(ups[1]["query_string"], "")
        h = ups[0]["headers"]
        self.assertTrue(h["authorization"].startswith("Bearer "))
        self.assertNotEqual(h["authorization"], "Bearer " + harness.API_KEY)
        self.assertEqual(h["chatgpt-account-id"], "acct-fake-0001")
        self.assertEqual(h["accept"], "*/*")
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(h["cookie"], "session=test-cookie")
        self.assertEqual(h["originator"], "codex-tui")
        self.assertEqual(h["user-agent"], "codex-tui/test")
        self.assertEqual(h["x-client-header"], "kept")
        self.assertEqual(ups[0]["body"], PAYLOAD)
        # none, as the reference
        self.assertEqual(len(self.s.usage_rows()), rows)

    def test_defaults_when_the_client_sends_no_types(self):
        status, _, out = self.s.request("POST", "/v1/alpha/search",
                                        raw=json.dumps(PAYLOAD).encode(),
                                        headers={"content-type": ""})
        self.assertEqual(status, 200, out)
        h = self.s.fake.requests(UPSTREAM)[-1]["headers"]
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(h["originator"], "copilot-api")

    def test_backend_errors_are_relayed_as_they_are(self):
        status, _, out = self.s.json("POST", "/v1/alpha/search", {"input": "x"})
        self.assertEqual(status, 400)
        self.assertEqual(out, {"detail": "Input must be a list."})
        self.s.fake.fault(path=UPSTREAM, kind="status", status=503,
                          body={"detail": "busy"})
        status, _, out = self.s.json("POST", "/v1/alpha/search", PAYLOAD)
        self.assertEqual((status, out), (503, {"detail": "busy"}))

    def test_a_401_refreshes_and_retries_once(self):
        self.s.fake.call("POST", "/_fake/codex", {"revoke_access": True})
        status, _, out = self.s.json("POST", "/v1/alpha/search", PAYLOAD)
        self.assertEqual(status, 200, out)
        self.assertEqual([r["status"] for r in self.s.fake.requests(UPSTREAM)], [401, 200])

    def test_unreachable_backend_is_a_502_in_openai_shape(self):
        self.s.fake.fault(path=UPSTREAM, kind="drop_after", bytes=0)
        status, _, out = self.s.json("POST", "/v1/alpha/search", PAYLOAD)
        self.assertEqual(status, 502, out)
        self.assertIn("message", out["error"])

    def test_get_and_a_missing_key_are_refused(self):
        status, _, _ = self.s.json("GET", "/v1/alpha/search?q=bun")
        self.assertEqual(status, 405)
        status, _, _ = self.s.json("POST", "/v1/alpha/search", PAYLOAD, key=None)
        self.assertEqual(status, 401)
        self.assertEqual(self.s.fake.requests(UPSTREAM), [])


class AlphaSearchWithoutCodex(unittest.TestCase):
    def test_404_without_the_codex_provider(self):
        s = harness.Stack()
        try:
            for path in ("/v1/alpha/search", "/alpha/search"):
                status, _, out = s.json("POST", path, PAYLOAD)
                self.assertEqual(status, 404)
                self.assertEqual(out["error"]["type"], "invalid_request_error")
                self.assertIn("Provider 'codex' not found or disabled",
                              out["error"]["message"])
            self.assertEqual(s.fake.requests(UPSTREAM), [])
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()
