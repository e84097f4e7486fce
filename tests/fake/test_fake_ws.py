#!/usr/bin/env python3
"""Self-test of the fake's Responses WebSocket (GET /responses + Upgrade),
driven by a minimal client written here from RFC 6455.

Run: python3 -m unittest discover -s tests/fake -p 'test_*.py'
"""

import base64
import hashlib
import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_fake_upstream import FakeTestCase  # noqa: E402
from fake_upstream import ws_frame, ws_read_frame  # noqa: E402

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
MASK = b"\x01\x02\x03\x04"


class WebSocketTestCase(FakeTestCase):
    def upgrade(self, token=None):
        """(status, head, socket file) after the upgrade request."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        auth = "Bearer " + (token or self.copilot_token())
        sock.sendall(("GET /responses HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                      "Sec-WebSocket-Version: 13\r\nAuthorization: %s\r\n\r\n"
                      % (KEY, auth)).encode())
        f = sock.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += f.readline()
        self.addCleanup(sock.close)
        self.addCleanup(f.close)
        return int(head.split()[1]), head.decode(), sock, f

    def create(self, sock, f, body, frag=0):
        """Sends a response.create (fragmented when frag) and reads the events."""
        raw = json.dumps(dict(body, type="response.create", initiator="user")).encode()
        if frag:
            pieces = [raw[i:i + frag] for i in range(0, len(raw), frag)]
            for i, p in enumerate(pieces):
                sock.sendall(ws_frame(0x1 if i == 0 else 0x0, p, fin=i == len(pieces) - 1,
                                      mask=MASK))
        else:
            sock.sendall(ws_frame(0x1, raw, mask=MASK))
        events, msg = [], b""
        while True:
            fr = ws_read_frame(f)
            if fr is None:
                return events, "eof"
            fin, op, payload, masked = fr
            self.assertFalse(masked)
            if op == 0x8:
                return events, "close %d" % int.from_bytes(payload[:2], "big")
            msg += payload
            if not fin:
                continue
            ev = json.loads(msg.decode())
            msg = b""
            events.append(ev)
            if ev["type"] in ("response.completed", "response.failed",
                              "response.incomplete", "error"):
                return events, "end"


class FakeWebSocket(WebSocketTestCase):
    def test_upgrade_and_answer(self):
        status, head, sock, f = self.upgrade()
        self.assertEqual(status, 101)
        accept = base64.b64encode(hashlib.sha1(
            (KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.assertIn("Sec-WebSocket-Accept: %s" % accept, head)
        events, how = self.create(sock, f, {"model": "gpt-5.4", "input": "ws hello"})
        self.assertEqual(how, "end")
        self.assertEqual(events[0]["type"], "response.created")
        self.assertEqual(events[-1]["type"], "response.completed")
        text = "".join(e.get("delta", "") for e in events
                       if e["type"] == "response.output_text.delta")
        self.assertIn("ws hello", text)
        # a second message on the same connection, recorded with it
        events, how = self.create(sock, f, {"model": "gpt-5.4", "input": "again"})
        self.assertEqual(events[-1]["type"], "response.completed")
        _, _, recs = self.call("GET", "/_fake/requests")
        recs = [r for r in recs["requests"] if r["path"] == "/responses"]
        self.assertEqual([r["method"] for r in recs], ["GET", "WS", "WS"])
        self.assertEqual({r["connection"] for r in recs[1:]}, {recs[0]["seq"]})
        self.assertNotIn("stream", recs[1]["body"])

    def test_refusals(self):
        status, _, _, _ = self.upgrade(token="not-a-copilot-token")
        self.assertEqual(status, 401)
        self.ctl("POST", "/_fake/faults", [{"path": "/responses", "method": "GET",
                                            "kind": "status", "status": 503}])
        status, _, _, _ = self.upgrade()
        self.assertEqual(status, 503)
        self.ctl("POST", "/_fake/config", {"ws_refuse": 426})
        status, _, _, _ = self.upgrade()
        self.assertEqual(status, 426)

    def test_fragments_both_ways(self):
        self.ctl("POST", "/_fake/config", {"ws_fragment": 5})
        status, _, sock, f = self.upgrade()
        events, how = self.create(sock, f, {"model": "gpt-5.4", "input": "frag ✓"}, frag=9)
        self.assertEqual(events[-1]["type"], "response.completed")

    def test_quota_snapshots_on_completed(self):
        snaps = {"5Hour-Session-RateLimits": {"entitlement": "x", "percent_remaining": 80,
                                              "overage_permitted": False, "overage_count": 0,
                                              "reset_date": "2026-12-08T00:00:00Z"}}
        status, _, sock, f = self.upgrade()
        events, _ = self.create(sock, f, {"model": "gpt-5.4", "input": "x"})
        self.assertNotIn("copilot_quota_snapshots", events[-1])
        self.ctl("POST", "/_fake/config", {"ws_quota_snapshots": snaps})
        events, _ = self.create(sock, f, {"model": "gpt-5.4", "input": "x"})
        self.assertEqual(events[-1]["type"], "response.completed")
        self.assertEqual(events[-1]["copilot_quota_snapshots"], snaps)
        self.assertEqual([e for e in events[:-1] if "copilot_quota_snapshots" in e], [])

    def test_faults(self):
        self.ctl("POST", "/_fake/faults", [{"path": "/responses", "method": "WS",
                                            "kind": "drop_after", "events": 2,
                                            "close_code": 1011}])
        status, _, sock, f = self.upgrade()
        events, how = self.create(sock, f, {"model": "gpt-5.4", "input": "x"})
        self.assertEqual((len(events), how), (2, "close 1011"))
        self.ctl("POST", "/_fake/faults", [{"path": "/responses", "kind": "status",
                                            "status": 400, "body": {"error": {
                                                "code": "c", "message": "m"}}}])
        status, _, sock, f = self.upgrade()
        events, how = self.create(sock, f, {"model": "gpt-5.4", "input": "x"})
        self.assertEqual(events[-1]["type"], "error")
        self.assertEqual(events[-1]["error"], {"code": "c", "message": "m"})
        # a model without /responses is an error message, as Copilot's 400
        events, how = self.create(sock, f, {"model": "gpt-4.1", "input": "x"})
        self.assertEqual(events[-1]["error"]["code"], "unsupported_api_for_model")

    def test_unmasked_client_frames_are_refused(self):
        status, _, sock, f = self.upgrade()
        sock.sendall(ws_frame(0x1, b"{}"))
        fin, op, payload, _ = ws_read_frame(f)
        self.assertEqual((op, int.from_bytes(payload[:2], "big")), (0x8, 1002))


if __name__ == "__main__":
    unittest.main()
