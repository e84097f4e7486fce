"""A client that leaves stops costing quota: through real lighttpd, a client
that closes its connection while the upstream is silent (a held stream, a
non-stream turn whose answer has not come) has the upstream connection
closed within 2 s, and the usage row says so (499, "client left").  Pings
are 30 s apart here, so nothing but the hang-up watch can notice.  The
harness's lighttpd has "tcp-fin-propagate" (as deploy/lighttpd has)."""

import time
import unittest

import harness
import servers

CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "leaving"}]}


class ClientLeaves(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={"timeouts": {"pingSeconds": 30, "stallSeconds": 120}})

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    def leave_and_measure(self, sock, upstream="/chat/completions"):
        sock.close()
        t0 = time.monotonic()
        w = self.s.fake.call("GET", "/_fake/wait_disconnect?path=%s&timeout=10" % upstream)
        took = time.monotonic() - t0
        self.assertTrue(w["ok"], w)
        self.assertLess(took, 2, "the upstream saw the client leave %.1f s late" % took)

    def last_row(self, rows_before):
        rows = self.s.usage_rows(at_least=rows_before + 1)
        return rows[-1]

    def test_during_a_silent_stream(self):
        before = len(self.s._rows())
        self.s.fake.fault(path="/chat/completions", kind="hold", name="silent")
        sock = servers.send_request(self.s.port, "/v1/chat/completions", dict(CHAT, stream=True))
        got = b""
        while b"chat.completion.chunk" not in got:
            chunk = sock.recv(4096)
            self.assertTrue(chunk, got)
            got += chunk
        self.leave_and_measure(sock)
        row = self.last_row(before)
        self.assertEqual((row["status"], row["error"], row["stream"]), (499, "client left", 1))

    def test_during_a_non_stream_turn(self):
        before = len(self.s._rows())
        self.s.fake.fault(path="/chat/completions", kind="delay_headers", seconds=30)
        sock = servers.send_request(self.s.port, "/v1/chat/completions", CHAT)
        self.s.fake.wait_requests("/chat/completions", 1)
        self.leave_and_measure(sock)
        row = self.last_row(before)
        self.assertEqual((row["status"], row["error"], row["stream"]), (499, "client left", 0))

    def test_during_a_silent_native_messages_stream(self):
        before = len(self.s._rows())
        self.s.fake.fault(path="/v1/messages", kind="hold", name="silent")
        sock = servers.send_request(self.s.port, "/v1/messages", {
            "model": "claude-sonnet-4-6-20260101", "max_tokens": 64, "stream": True,
            "messages": CHAT["messages"]})
        got = b""
        while b"message_start" not in got:
            chunk = sock.recv(4096)
            self.assertTrue(chunk, got)
            got += chunk
        self.leave_and_measure(sock, "/v1/messages")
        row = self.last_row(before)
        self.assertEqual((row["status"], row["error"], row["stream"]), (499, "client left", 1))

    def test_web_server_closing_during_a_non_stream_turn(self):
        """What every web server does when it gives up on a request: close
        the FastCGI connection.  Driven at the socket, so it holds whatever
        the server in front (deploy/README.md)."""
        before = len(self.s._rows())
        self.s.fake.fault(path="/chat/completions", kind="delay_headers", seconds=30)
        c = servers.fcgi_chat(self.s.socket, CHAT)
        self.s.fake.wait_requests("/chat/completions", 1)
        self.leave_and_measure(c)
        row = self.last_row(before)
        self.assertEqual((row["status"], row["error"], row["stream"]), (499, "client left", 0))


if __name__ == "__main__":
    unittest.main()
