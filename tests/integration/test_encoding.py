"""Request bodies sent with Content-Encoding: zstd (the Codex CLI sends
them so): decoded after the key check, in any route; a bad one is a 400 in
the path's dialect, a decoded size over limits.maxBodyBytes a 413."""

import json
import os
import sys
import unittest

import harness

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "reference"))
from corpus import zstd_compress as zstd  # noqa: E402  (libzstd through ctypes)

LIMIT = 1048576


class Encoding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={"limits": {"maxBodyBytes": LIMIT}})

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    def post(self, path, raw, coding="zstd", **kw):
        return self.s.request("POST", path, raw=raw,
                              headers={"content-encoding": coding}, **kw)

    def test_chat_body_decoded_and_forwarded_plain(self):
        body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi zstd"}]}
        status, _, out = self.post("/v1/chat/completions", zstd(json.dumps(body).encode()))
        self.assertEqual(status, 200, out)
        self.assertEqual(json.loads(out)["object"], "chat.completion")
        up = self.s.fake.requests("/chat/completions")[-1]
        self.assertEqual(up["body"]["messages"][0]["content"], "hi zstd")
        self.assertNotIn("content-encoding", up["headers"])

    def test_messages_body_decoded(self):
        body = {"model": "claude-sonnet-4.6", "max_tokens": 64,
                "messages": [{"role": "user", "content": "hi"}]}
        status, _, out = self.post("/v1/messages", zstd(json.dumps(body).encode()),
                                   coding=" ZSTD ")
        self.assertEqual(status, 200, out)
        self.assertEqual(json.loads(out)["type"], "message")

    def test_bad_zstd_is_400_in_the_paths_dialect(self):
        cut = zstd(b'{"model":"gpt-4.1","messages":[{"role":"user","content":"x"}]}')[:-4]
        for path, raw in (("/v1/chat/completions", b'{"model":"gpt-4.1"}'),
                          ("/v1/responses", cut), ("/v1/responses", b"")):
            status, _, out = self.post(path, raw)
            self.assertEqual(status, 400, (path, out))
            self.assertEqual(json.loads(out), {"error": {
                "message": "Failed to decompress zstd request body.",
                "type": "invalid_request_error"}})
        status, _, out = self.post("/v1/messages", b"not zstd")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(out), {"type": "error", "error": {
            "type": "invalid_request_error",
            "message": "Failed to decompress zstd request body."}})
        self.assertEqual(self.s.fake.requests("/chat/completions"), [])
        self.assertEqual(self.s.fake.requests("/responses"), [])

    def test_key_is_checked_before_the_body(self):
        status, _, _ = self.post("/v1/chat/completions", b"not zstd", key="sk-wrong")
        self.assertEqual(status, 401)

    def test_bomb_is_413_and_the_responder_lives(self):
        bomb = zstd(b'{"model":"gpt-4.1","messages":[{"role":"user","content":"'
                    + b"x" * (64 * LIMIT) + b'"}]}')
        self.assertLess(len(bomb), 64 * 1024)
        for path, shape in (("/v1/chat/completions", "error"), ("/v1/messages", "type")):
            status, _, out = self.post(path, bomb)
            self.assertEqual(status, 413, out)
            self.assertIn("limit is %d bytes" % LIMIT, out.decode())
            self.assertIn(shape, json.loads(out))
        status, _, _ = self.s.get("/healthz", key=None)
        self.assertEqual(status, 200)

    def test_other_codings_pass_as_sent(self):
        body = json.dumps({"model": "gpt-4.1",
                           "messages": [{"role": "user", "content": "x"}]}).encode()
        status, _, _ = self.post("/v1/chat/completions", body, coding="identity")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
