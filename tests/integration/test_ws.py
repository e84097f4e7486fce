"""Responses over WebSocket (useResponsesApiWebSocket, models that list
ws:/responses) behind lighttpd, against the fake's hand-written WebSocket
server: the frame and headers Copilot sees, connection reuse per
conversation, the fallback to HTTP when the upgrade fails, a connection that
closes mid-stream, fragmented messages, the stall guard, a client that
leaves, and the usage rows."""

import json
import time
import unittest

import harness
import servers

STREAM = {"model": "gpt-5.4", "input": "over the socket", "stream": True}


def events_of(s, path, body, headers=None):
    resp, conn = s.stream(path, body, headers=headers)
    try:
        return resp.status, [(e, d) for e, d in harness.read_sse(resp) if e != "comment"]
    finally:
        conn.close()


class ResponsesWebSocket(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={"timeouts": {"pingSeconds": 30, "stallSeconds": 3}})

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    def upgrades(self):
        return [r for r in self.s.fake.requests("/responses") if r.get("ws") == "upgrade"]

    def messages(self):
        return [r for r in self.s.fake.requests("/responses") if r["method"] == "WS"]

    def posts(self):
        return [r for r in self.s.fake.requests("/responses") if r["method"] == "POST"]

    def text(self, events):
        return "".join(json.loads(d).get("delta", "") for e, d in events
                       if e == "response.output_text.delta")

    def test_quota_snapshots_of_the_socket_logged(self):
        snap = {"entitlement": "e", "percent_remaining": 12.5, "overage_permitted": False,
                "overage_count": 0, "reset_date": "2026-12-08T05:00:00Z"}
        self.s.fake.config(ws_quota_snapshots={"5Hour-Session-RateLimits": snap,
                                               "Weekly-Session-RateLimits": dict(snap, percent_remaining=3)})
        status, events = events_of(self.s, "/v1/responses", dict(STREAM, input="quota"))
        self.assertEqual(status, 200)
        self.assertEqual(events[-1][0], "response.completed")
        self.assertEqual(len(self.messages()), 1)
        harness.wait_until(lambda: "Copilot weekly quota remaining: 3, resets at: "
                           "2026-12-08T05:00:00Z" in self.s.log_text(), what="the weekly line")
        self.assertIn("Copilot session quota remaining: 12.5, resets at: 2026-12-08T05:00:00Z",
                      self.s.log_text())

    def test_stream_goes_over_the_socket(self):
        before = len(self.s._rows())
        status, events = events_of(self.s, "/v1/responses",
                                   dict(STREAM, input="over the socket, first"))
        self.assertEqual(status, 200)
        self.assertEqual(events[-1][0], "response.completed")
        self.assertIn("over the socket, first", self.text(events))
        self.assertEqual(self.posts(), [])
        (up,), (msg,) = self.upgrades(), self.messages()
        self.assertEqual(up["status"], 101)
        h = up["headers"]
        self.assertEqual(h["user-agent"], "node")
        self.assertTrue(h["authorization"].startswith("Bearer "))
        self.assertNotIn("x-initiator", h)
        self.assertNotIn("content-type", h)
        self.assertEqual(h["copilot-integration-id"], "vscode-chat")
        self.assertEqual(h["openai-intent"], "conversation-agent")
        frame = msg["body"]
        self.assertEqual(frame["type"], "response.create")
        self.assertEqual(frame["initiator"], "user")
        self.assertEqual(frame["model"], "gpt-5.4")
        self.assertNotIn("stream", frame)
        self.assertEqual(msg["connection"], up["seq"])
        row = self.s.usage_rows(at_least=before + 1)[-1]
        self.assertEqual((row["status"], row["stream"], row["model"]), (200, 1, "gpt-5.4"))
        self.assertGreater(row["output_tokens"], 0)

    def test_json_clients_go_over_http(self):
        status, _, body = self.s.json("POST", "/v1/responses",
                                      dict(STREAM, stream=False))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "completed")
        self.assertEqual(self.upgrades(), [])
        self.assertEqual(len(self.posts()), 1)

    def test_the_connection_is_reused_for_the_same_turn(self):
        # a turn of its own: no connection is pooled for it yet
        for _ in range(2):
            status, events = events_of(self.s, "/v1/responses", dict(STREAM, input="reuse"))
            self.assertEqual(events[-1][0], "response.completed")
        ups, msgs = self.upgrades(), self.messages()
        self.assertEqual(len(ups), 1, ups)
        self.assertEqual([m["connection"] for m in msgs], [ups[0]["seq"]] * 2)
        # another conversation (another request id) has its own connection
        events_of(self.s, "/v1/responses", dict(STREAM, input="something else"))
        self.assertEqual(len(self.upgrades()), 2)

    def test_a_refused_upgrade_falls_back_to_http(self):
        self.s.fake.fault(path="/responses", method="GET", kind="status", status=503)
        status, events = events_of(self.s, "/v1/responses", dict(STREAM, input="fallback"))
        self.assertEqual(status, 200)
        self.assertEqual(events[-1][0], "response.completed")
        self.assertIn("fallback", self.text(events))
        self.assertEqual([u["status"] for u in self.upgrades()], [503])
        self.assertEqual(self.messages(), [])
        (post,) = self.posts()
        self.assertTrue(post["body"]["stream"])
        self.assertIn("Responses over WebSocket unavailable", self.s.log_text())

    def test_a_close_mid_stream_is_an_error_event(self):
        before = len(self.s._rows())
        self.s.fake.fault(path="/responses", method="WS", kind="drop_after", events=3,
                          close_code=1011, reason="overloaded")
        status, events = events_of(self.s, "/v1/responses", dict(STREAM, input="cut"))
        self.assertEqual(status, 200)
        self.assertEqual(events[-1][0], "error")
        self.assertIn("closed before the stream completed", json.loads(events[-1][1])["message"])
        row = self.s.usage_rows(at_least=before + 1)[-1]
        self.assertNotEqual(row["status"], 200)
        self.assertIn("upstream closed the WebSocket (code 1011: overloaded)",
                      self.s.log_text())
        # the broken connection is not reused: the same turn again upgrades anew
        status, events = events_of(self.s, "/v1/responses", dict(STREAM, input="cut"))
        self.assertEqual(events[-1][0], "response.completed")
        self.assertEqual(len(self.upgrades()), 2)

    def test_an_error_message_reaches_both_dialects(self):
        self.s.fake.fault(path="/responses", method="WS", kind="status", status=400,
                          body={"error": {"code": "bad_thing", "message": "ws said no"}})
        status, events = events_of(self.s, "/v1/responses", STREAM)
        self.assertEqual(events[-1][0], "error")
        err = json.loads(events[-1][1])
        self.assertEqual((err["code"], err["message"]), ("bad_thing", "ws said no"))
        self.s.fake.fault(path="/responses", method="WS", kind="status", status=400,
                          body={"error": {"code": "bad_thing", "message": "ws said no"}})
        status, events = events_of(self.s, "/v1/messages", {
            "model": "gpt-5.4", "max_tokens": 64, "stream": True,
            "messages": [{"role": "user", "content": "hi"}]})
        self.assertEqual(events[-1][0], "error")
        self.assertIn("ws said no", events[-1][1])

    def test_fragmented_messages_are_reassembled(self):
        self.s.fake.config(ws_fragment=7)
        status, events = events_of(self.s, "/v1/responses", dict(STREAM, input="in pieces ✓"))
        self.assertEqual(events[-1][0], "response.completed")
        self.assertIn("in pieces ✓", self.text(events))
        self.assertEqual(len(self.messages()), 1)

    def test_a_silent_socket_hits_the_stall_guard(self):
        self.s.fake.fault(path="/responses", method="WS", kind="stall", events=2, seconds=20)
        t0 = time.monotonic()
        status, events = events_of(self.s, "/v1/responses", dict(STREAM, input="stall"))
        took = time.monotonic() - t0
        self.assertEqual(events[-1][0], "error")
        self.assertIn("sent nothing for 3 s", json.loads(events[-1][1])["message"])
        self.assertLess(took, 10)

    def test_messages_stream_and_compaction(self):
        body = {"model": "gpt-5.4", "max_tokens": 64, "stream": True,
                "messages": [{"role": "user", "content": "anthropic over ws"}]}
        status, events = events_of(self.s, "/v1/messages", body)
        self.assertEqual(events[-1][0], "message_stop")
        (msg,) = self.messages()
        self.assertEqual(msg["body"]["type"], "response.create")
        self.assertEqual(msg["body"]["initiator"], "user")
        self.assertEqual(self.posts(), [])
        # a compaction request goes over HTTP (the reference's COMPACT_REQUEST rule)
        status, events = events_of(self.s, "/v1/messages", dict(
            body, system="You are a helpful AI assistant tasked with summarizing "
            "conversations."))
        self.assertEqual(events[-1][0], "message_stop")
        self.assertEqual(len(self.messages()), 1)
        (post,) = self.posts()
        self.assertEqual(post["headers"]["x-interaction-type"], "conversation-compaction")

    def test_a_client_that_leaves_closes_the_socket(self):
        before = len(self.s._rows())
        self.s.fake.fault(path="/responses", method="WS", kind="hold", events=2, name="ws")
        sock = servers.send_request(self.s.port, "/v1/responses", dict(STREAM, input="leave"))
        got = b""
        while b"response.created" not in got:
            chunk = sock.recv(4096)
            self.assertTrue(chunk, got)
            got += chunk
        sock.close()
        t0 = time.monotonic()
        w = self.s.fake.call("GET", "/_fake/wait_disconnect?path=/responses&timeout=10")
        took = time.monotonic() - t0
        self.assertTrue(w["ok"], w)
        self.assertEqual(w["requests"][0]["method"], "WS")
        self.assertLess(took, 2, "the upstream saw the client leave %.1f s late" % took)
        row = self.s.usage_rows(at_least=before + 1)[-1]
        self.assertEqual((row["status"], row["error"]), (499, "client left"))


class WebSocketOff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={"useResponsesApiWebSocket": False})

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_streams_go_over_http(self):
        status, events = events_of(self.s, "/v1/responses", STREAM)
        self.assertEqual(events[-1][0], "response.completed")
        recs = self.s.fake.requests("/responses")
        self.assertEqual([r["method"] for r in recs], ["POST"])


if __name__ == "__main__":
    unittest.main()
