"""Process life: graceful stop during a stream, plain CGI, and the failures
around the request (unreachable upstream, not signed in, corrupt config,
locked database)."""

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import unittest

import harness
from harness import API_KEY

CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "lifecycle"}]}


class GracefulStop(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack()

    def tearDown(self):
        self.s.close()

    def test_sigterm_during_stream_lets_it_finish(self):
        self.s.fake.fault(path="/chat/completions", kind="hold", name="term")
        resp, conn = self.s.stream("/v1/chat/completions", dict(CHAT, stream=True))
        events = harness.read_sse(resp)
        first = next(e for e in events if e[0] != "comment")
        self.assertIn("chat.completion.chunk", first[1])
        self.s.fcgi.send_signal(signal.SIGTERM)
        # The responder keeps the in-flight stream: release the upstream.
        self.s.fake.call("POST", "/_fake/release", {"name": "term"})
        rest = [d for e, d in events if e != "comment"]
        conn.close()
        self.assertEqual(rest[-1], "[DONE]")
        self.s.fcgi.wait(timeout=10)
        self.assertEqual(self.s.fcgi.returncode, 0)

    def test_sigterm_when_idle_exits_promptly(self):
        self.s.fcgi.send_signal(signal.SIGTERM)
        self.s.fcgi.wait(timeout=10)
        self.assertEqual(self.s.fcgi.returncode, 0)


class PlainCGI(unittest.TestCase):
    """The responder started without a FastCGI socket answers one request
    from the CGI environment (as cgi-bin/copilot-api.cgi does)."""

    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def cgi(self, method, uri, body=b"", extra=None, content_length=True):
        env = dict(self.s.env, GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD=method,
                   REQUEST_URI=uri, SCRIPT_NAME="/cgi-bin/copilot-api.cgi",
                   SERVER_PROTOCOL="HTTP/1.1", SERVER_NAME="localhost",
                   HTTP_AUTHORIZATION="Bearer " + API_KEY,
                   CONTENT_TYPE="application/json")
        if content_length:
            env["CONTENT_LENGTH"] = str(len(body))
        env.update(extra or {})
        r = subprocess.run([os.path.join(harness.ROOT, "cgi-bin", "copilot-api.cgi")],
                           input=body, env=env, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        head, _, payload = r.stdout.partition(b"\r\n\r\n")
        headers = dict(l.split(": ", 1) for l in head.decode().split("\r\n"))
        return int(headers["Status"].split()[0]), headers, payload

    def test_get_root(self):
        status, headers, body = self.cgi("GET", "/")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"Server running")

    def test_chat_with_and_without_content_length(self):
        body = json.dumps(CHAT).encode()
        for cl in (True, False):
            status, _, payload = self.cgi("POST", "/v1/chat/completions", body,
                                          content_length=cl)
            self.assertEqual(status, 200, payload)
            self.assertIn("lifecycle", json.loads(payload)["choices"][0]["message"]["content"])

    def test_base_path_is_stripped(self):
        status, _, payload = self.cgi("GET", "/api/gw/v1/models",
                                      extra={"COPILOT_API_BASE_PATH": "/api/gw"})
        self.assertEqual(status, 200, payload)
        self.assertEqual(json.loads(payload)["object"], "list")


def locked_after_one_row(s):
    """One request, then the database's write lock held by us: (the usage
    rows so far, the connection holding it, to ROLLBACK and close)."""
    s.json("POST", "/v1/chat/completions", CHAT)
    before = len(s.usage_rows(at_least=1))
    db = sqlite3.connect(os.path.join(s.home, "copilot-api.db"), timeout=1,
                         isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO kv(key, value, updated_at_ms) VALUES ('lock', 'x', 0)")
    return before, db


class Failures(unittest.TestCase):
    def test_unreachable_upstream_is_502_with_reason(self):
        closed = harness.free_port()
        s = harness.Stack(config={"upstream": {"copilotApiUrl": "http://127.0.0.1:%d" % closed}})
        try:
            status, _, body = s.json("POST", "/v1/chat/completions", CHAT)
            self.assertEqual(status, 502)
            self.assertIn("connect", body["error"]["message"].lower())
            row = s.usage_rows(at_least=1)[-1]
            self.assertEqual(row["status"], 502)
            self.assertTrue(row["error"])
        finally:
            s.close()

    def test_not_signed_in_says_how_to_fix_it(self):
        s = harness.Stack(signed_in=False)
        try:
            status, _, body = s.json("POST", "/v1/chat/completions", CHAT)
            self.assertEqual(status, 503)
            self.assertIn("auth login", body["error"]["message"])
        finally:
            s.close()

    def test_corrupt_config_is_reported_and_kept(self):
        s = harness.Stack()
        try:
            path = os.path.join(s.home, "config.json")
            bad = b'{\n  "auth": {\n    "apiKeys": [,]\n  }\n}\n'
            with open(path, "wb") as f:
                f.write(bad)
            s.fcgi.send_signal(signal.SIGTERM)
            s.fcgi.wait(timeout=10)
            s.start_fcgi()
            status, _, body = s.json("GET", "/v1/models")
            self.assertEqual(status, 500)
            self.assertIn("line 3", body["error"]["message"])
            with open(path, "rb") as f:
                self.assertEqual(f.read(), bad)
            r = s.cli("debug", check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("line 3", r.stderr)
        finally:
            s.close()

    def test_locked_database_loses_nothing(self):
        """A writer holding the database past the busy timeout: the request
        still succeeds and its usage row is spooled, then written once the
        database is free again."""
        s = harness.Stack()
        try:
            before, db = locked_after_one_row(s)
            try:
                status, _, body = s.json("POST", "/v1/chat/completions", CHAT, timeout=60)
                self.assertEqual(status, 200, body)
                # The client has its answer; the row waits for the busy
                # timeout, then goes to the spool.
                harness.wait_until(lambda: "spooled" in s.log_text(), timeout=30,
                                   what="the usage row to be spooled")
            finally:
                db.execute("ROLLBACK")
                db.close()
            status, _, _ = s.json("POST", "/v1/chat/completions", CHAT)
            self.assertEqual(status, 200)
            rows = s.usage_rows(at_least=before + 2)
            self.assertEqual(len(rows), before + 2)
            self.assertEqual([r["status"] for r in rows[-2:]], [200, 200])
        finally:
            s.close()

    def test_locked_database_delays_no_client(self):
        """The usage row is written after the answer is complete: with the
        database locked (busy timeout 10 s), a JSON answer and a whole
        stream each reach the client at once; the rows follow."""
        s = harness.Stack()
        try:
            before, db = locked_after_one_row(s)
            try:
                t0 = time.monotonic()
                status, _, body = s.json("POST", "/v1/chat/completions", CHAT, timeout=60)
                took_json = time.monotonic() - t0
                self.assertEqual(status, 200, body)
                t0 = time.monotonic()
                resp, conn = s.stream("/v1/chat/completions", dict(CHAT, stream=True))
                events = [d for e, d in harness.read_sse(resp) if e != "comment"]
                conn.close()
                took_stream = time.monotonic() - t0
                self.assertEqual(events[-1], "[DONE]")
                self.assertLess(took_json, 2, "JSON answer held by the usage write")
                self.assertLess(took_stream, 2, "stream's end held by the usage write")
            finally:
                db.execute("ROLLBACK")
                db.close()
            rows = s.usage_rows(at_least=before + 2)
            self.assertEqual(sorted((r["status"], r["stream"]) for r in rows[-2:]),
                             [(200, 0), (200, 1)])
        finally:
            s.close()


class RateLimit(unittest.TestCase):
    def test_spacing_is_shared_and_answered_with_retry_after(self):
        s = harness.Stack(config={"rateLimit": {"seconds": 30}})
        try:
            status, _, _ = s.json("POST", "/v1/chat/completions", CHAT)
            self.assertEqual(status, 200)
            # /v1/messages and /v1/responses share the same spacing.
            status, headers, body = s.json("POST", "/v1/messages", {
                "model": "gpt-4.1", "max_tokens": 16, "messages": [{"role": "user", "content": "x"}]})
            self.assertEqual(status, 429)
            self.assertEqual(body["error"]["type"], "rate_limit_error")
            self.assertGreater(int(headers["retry-after"]), 0)
            status, _, _ = s.json("POST", "/v1/responses", {"model": "gpt-5.4", "input": "x"})
            self.assertEqual(status, 429)
            self.assertEqual(len(s.fake.requests("/chat/completions")), 1)
            # Other routes are not limited.
            self.assertEqual(s.get("/v1/models")[0], 200)
        finally:
            s.close()

    def test_wait_queues_instead_of_refusing(self):
        s = harness.Stack(config={"rateLimit": {"seconds": 1, "wait": True}})
        try:
            for _ in range(3):
                self.assertEqual(s.json("POST", "/v1/chat/completions", CHAT)[0], 200)
            times = [r["time"] for r in s.fake.requests("/chat/completions")]
            self.assertGreaterEqual(times[2] - times[0], 1.5)   # spaced, not refused
        finally:
            s.close()
