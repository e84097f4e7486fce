#!/usr/bin/env python3
"""Self-test of fake_upstream.py: starts it as a subprocess and talks raw HTTP to it.

Run: python3 -m unittest tests/fake/test_fake_upstream.py -v
"""

import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_upstream.py")
VSCODE_CLIENT = "Iv1.b507a08c87ecfe98"
OPENCODE_CLIENT = "Ov23li8tweQw6odWQebz"
NON_ASCII = "héllo wörld — 日本語 🎉"


def start_fake(host="127.0.0.1", extra=()):
    tmp = tempfile.mkdtemp(prefix="fake-upstream-test-")
    portfile = os.path.join(tmp, "port")
    proc = subprocess.Popen([sys.executable, FAKE, "--host", host, "--port", "0",
                             "--portfile", portfile] + list(extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not os.path.exists(portfile):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("fake did not start: %s" % proc.stderr.read().decode())
        time.sleep(0.02)
    with open(portfile) as f:
        port = int(f.read())
    return proc, port, tmp


# ---------------------------------------------------------------------------
# Raw HTTP/1.1 client: lets the tests see the exact chunk boundaries.
# ---------------------------------------------------------------------------

class RawResponse:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False
        self.status = None
        self.headers = {}

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            raise EOFError("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_head(self):
        status_line = self._line().decode()
        self.status = int(status_line.split()[1])
        while True:
            line = self._line()
            if not line:
                break
            name, value = line.decode().split(":", 1)
            self.headers[name.strip().lower()] = value.strip()
        return self

    def next_chunk(self):
        """One chunk's payload; None at the terminating chunk; EOFError if cut."""
        size = int(self._line().split(b";")[0], 16)
        while len(self.buf) < size + 2:
            self._fill()
        payload, self.buf = self.buf[:size], self.buf[size + 2:]
        if size == 0:
            return None
        return payload

    def read_chunks(self):
        """All chunk payloads and whether the body ended with the 0-chunk."""
        chunks = []
        try:
            while True:
                c = self.next_chunk()
                if c is None:
                    return chunks, True
                chunks.append(c)
        except (EOFError, ConnectionResetError):
            return chunks, False

    def read_body(self):
        n = int(self.headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        return self.buf[:n]


def parse_sse(data):
    """Decode a complete SSE byte stream into a list of data strings."""
    text = data.decode("utf-8")               # strict: split sequences would fail here
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [ln[5:].lstrip(" ") for ln in block.split("\n") if ln.startswith("data:")]
        if lines:
            out.append("\n".join(lines))
    return out


class FakeTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.port, cls.tmp = start_fake()

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        try:
            rc = cls.proc.wait(timeout=10)
        finally:
            cls.proc.stderr.close()
            shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, "fake exited with %r on SIGTERM" % rc

    def setUp(self):
        self.ctl("POST", "/_fake/reset", {})

    # -- helpers -------------------------------------------------------------

    def call(self, method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode() if not isinstance(body, bytes) else body
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed

    def ctl(self, method, path, body=None, expect=200):
        status, _, parsed = self.call(method, path, body)
        self.assertEqual(status, expect, parsed)
        return parsed

    def raw(self, method, path, body=None, headers=None):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % self.port,
                 "Connection: close", "Content-Length: %d" % len(data)]
        if body is not None:
            lines.append("Content-Type: application/json")
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        return RawResponse(sock)

    def github_token(self, client=VSCODE_CLIENT):
        self.ctl("POST", "/_fake/config", {"device_pending": 0})
        _, _, dc = self.call("POST", "/login/device/code", {"client_id": client, "scope": "read:user"},
                             {"Accept": "application/json"})
        _, _, tok = self.call("POST", "/login/oauth/access_token",
                              {"client_id": client, "device_code": dc["device_code"],
                               "grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
                              {"Accept": "application/json"})
        return tok["access_token"]

    def copilot_token(self):
        _, _, body = self.call("GET", "/copilot_internal/v2/token",
                               headers={"Authorization": "token gho_test123"})
        return body["token"]

    def auth(self):
        return {"Authorization": "Bearer " + self.copilot_token()}

    def chat_body(self, text="hi there", stream=False, model="gpt-4.1", **extra):
        body = {"model": model, "messages": [{"role": "system", "content": "be brief"},
                                             {"role": "user", "content": text}],
                "stream": stream}
        body.update(extra)
        return body

    def stream_chat(self, text="hi there", **extra):
        r = self.raw("POST", "/chat/completions", self.chat_body(text, True, **extra),
                     self.auth()).read_head()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["transfer-encoding"], "chunked")
        self.assertTrue(r.headers["content-type"].startswith("text/event-stream"))
        chunks, terminated = r.read_chunks()
        r.sock.close()
        return chunks, terminated


# ---------------------------------------------------------------------------
# GitHub side
# ---------------------------------------------------------------------------

class TestGithub(FakeTestCase):
    JSON = {"Accept": "application/json"}

    def poll(self, dc, client=VSCODE_CLIENT):
        status, _, body = self.call("POST", "/login/oauth/access_token",
                                    {"client_id": client, "device_code": dc,
                                     "grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
                                    self.JSON)
        self.assertEqual(status, 200)
        return body

    def device_code(self, client=VSCODE_CLIENT):
        status, _, body = self.call("POST", "/login/device/code",
                                    {"client_id": client, "scope": "read:user"}, self.JSON)
        self.assertEqual(status, 200, body)
        return body

    def test_device_flow_default(self):
        dc = self.device_code()
        for key in ("device_code", "user_code", "verification_uri", "expires_in", "interval"):
            self.assertIn(key, dc)
        self.assertEqual(dc["verification_uri"], "https://github.com/login/device")
        self.assertRegex(dc["user_code"], r"^[A-Z]{4}-\d{4}$")
        self.assertEqual(self.poll(dc["device_code"])["error"], "authorization_pending")
        tok = self.poll(dc["device_code"])
        self.assertTrue(tok["access_token"].startswith("gho_"))
        self.assertEqual(tok["token_type"], "bearer")
        self.assertEqual(tok["scope"], "read:user")
        status, _, user = self.call("GET", "/user",
                                    headers={"Authorization": "token " + tok["access_token"]})
        self.assertEqual((status, user["login"]), (200, "fake-user"))

    def test_device_flow_pending_count_and_interval(self):
        self.ctl("POST", "/_fake/config", {"device_pending": 3, "device_interval": 0})
        dc = self.device_code()
        self.assertEqual(dc["interval"], 0)
        answers = [self.poll(dc["device_code"]).get("error") for _ in range(4)]
        self.assertEqual(answers, ["authorization_pending"] * 3 + [None])

    def test_device_flow_slow_down(self):
        self.ctl("POST", "/_fake/config", {"device_scenario": "slow_down", "device_interval": 2})
        dc = self.device_code()
        first = self.poll(dc["device_code"])
        self.assertEqual((first["error"], first["interval"]), ("slow_down", 7))
        self.assertEqual(self.poll(dc["device_code"])["error"], "authorization_pending")
        self.assertIn("access_token", self.poll(dc["device_code"]))

    def test_device_flow_expired_and_denied(self):
        for scenario in ("expired_token", "access_denied"):
            self.ctl("POST", "/_fake/config", {"device_scenario": scenario})
            dc = self.device_code()
            self.assertEqual(self.poll(dc["device_code"])["error"], "authorization_pending")
            self.assertEqual(self.poll(dc["device_code"])["error"], scenario)
            self.assertEqual(self.poll(dc["device_code"])["error"], scenario)   # terminal

    def test_device_flow_custom_script_and_errors(self):
        self.ctl("POST", "/_fake/config", {"device_script": ["slow_down", "pending", "token"]})
        dc = self.device_code()
        self.assertEqual([self.poll(dc["device_code"]).get("error") for _ in range(3)],
                         ["slow_down", "authorization_pending", None])
        self.assertEqual(self.poll("nope")["error"], "incorrect_device_code")
        self.assertEqual(self.poll(dc["device_code"], OPENCODE_CLIENT)["error"],
                         "incorrect_client_credentials")
        status, _, body = self.call("POST", "/login/device/code",
                                    {"client_id": "bogus", "scope": "read:user"}, self.JSON)
        self.assertEqual(status, 400)
        self.assertIn("error", body)
        self.ctl("POST", "/_fake/config", {"device_script": ["bogus"]}, expect=400)

    def test_device_code_form_encoded_without_accept_json(self):
        status, headers, body = self.call("POST", "/login/device/code",
                                          {"client_id": VSCODE_CLIENT, "scope": "read:user"})
        self.assertEqual(status, 200)
        self.assertIn("x-www-form-urlencoded", headers["content-type"])
        self.assertIn(b"device_code=", body)

    def test_user_bad_credentials(self):
        status, _, body = self.call("GET", "/user", headers={"Authorization": "token nope"})
        self.assertEqual((status, body["message"]), (401, "Bad credentials"))
        self.ctl("POST", "/_fake/config", {"github_tokens": ["custom-token"]})
        status, _, _ = self.call("GET", "/user", headers={"Authorization": "token custom-token"})
        self.assertEqual(status, 200)

    def test_token_exchange_distinct_tokens(self):
        h = {"Authorization": "token gho_abc"}
        now = time.time()
        _, _, a = self.call("GET", "/copilot_internal/v2/token", headers=h)
        _, _, b = self.call("GET", "/copilot_internal/v2/token", headers=h)
        self.assertNotEqual(a["token"], b["token"])
        self.assertRegex(a["token"], r"^tid=[^;]+;.*exp=\d+;.*sku=[^;]+.*:[0-9a-f]{64}$")
        self.assertAlmostEqual(a["expires_at"], now + 1800, delta=5)
        self.assertEqual(a["refresh_in"], 1500)
        self.assertEqual(a["endpoints"]["api"], "http://127.0.0.1:%d" % self.port)
        for t in (a["token"], b["token"]):
            status, _, _ = self.call("GET", "/models", headers={"Authorization": "Bearer " + t})
            self.assertEqual(status, 200)
        self.ctl("POST", "/_fake/config", {"token_lifetime": 60, "refresh_in": 5})
        _, _, c = self.call("GET", "/copilot_internal/v2/token", headers=h)
        self.assertEqual(c["refresh_in"], 5)
        self.assertAlmostEqual(c["expires_at"], time.time() + 60, delta=5)
        status, _, body = self.call("GET", "/copilot_internal/v2/token",
                                    headers={"Authorization": "token bad"})
        self.assertEqual((status, body["message"]), (401, "Bad credentials"))
        tokens = self.ctl("GET", "/_fake/tokens")["copilot"]
        self.assertEqual(tokens[-1]["token"], c["token"])

    def test_expired_copilot_token_rejected(self):
        self.ctl("POST", "/_fake/config", {"token_lifetime": 0})
        status, _, body = self.call("GET", "/models", headers=self.auth())
        self.assertEqual((status, body["error"]["code"]), (401, "token_expired"))

    def test_copilot_user_shape(self):
        status, _, u = self.call("GET", "/copilot_internal/user",
                                 headers={"Authorization": "token gho_x"})
        self.assertEqual(status, 200)
        self.assertEqual(u["login"], "fake-user")
        self.assertEqual(u["endpoints"]["api"], "http://127.0.0.1:%d" % self.port)
        self.assertIn("copilot_plan", u)
        self.assertRegex(u["quota_reset_date"], r"^\d{4}-\d{2}-01$")
        for q in ("chat", "completions", "premium_interactions"):
            snap = u["quota_snapshots"][q]
            for key in ("entitlement", "overage_count", "overage_permitted", "percent_remaining",
                        "quota_id", "quota_remaining", "remaining", "unlimited"):
                self.assertIn(key, snap)
        self.assertFalse(u["quota_snapshots"]["premium_interactions"]["unlimited"])
        self.ctl("POST", "/_fake/config", {"user_overrides": {
            "quota_snapshots": {"premium_interactions": {"remaining": 0}}}})
        _, _, u = self.call("GET", "/copilot_internal/user", headers={"Authorization": "token gho_x"})
        self.assertEqual(u["quota_snapshots"]["premium_interactions"]["remaining"], 0)
        self.assertEqual(u["quota_snapshots"]["premium_interactions"]["entitlement"], 1500)

    def test_opencode_github_token_is_a_copilot_bearer(self):
        oc = self.github_token(OPENCODE_CLIENT)
        status, _, _ = self.call("GET", "/models", headers={"Authorization": "Bearer " + oc})
        self.assertEqual(status, 200)
        vs = self.github_token(VSCODE_CLIENT)
        status, _, _ = self.call("GET", "/models", headers={"Authorization": "Bearer " + vs})
        self.assertEqual(status, 401)


# ---------------------------------------------------------------------------
# Copilot side
# ---------------------------------------------------------------------------

class TestCopilot(FakeTestCase):
    def test_models_shape(self):
        status, _, body = self.call("GET", "/models", headers=self.auth())
        self.assertEqual(status, 200)
        self.assertEqual(body["object"], "list")
        models = {m["id"]: m for m in body["data"]}
        for mid in ("gpt-4.1", "gpt-5-mini", "gpt-5.4", "claude-sonnet-4.6", "claude-opus-4.7",
                    "gemini-2.5-pro", "text-embedding-3-small"):
            self.assertIn(mid, models)
        for m in body["data"]:
            for key in ("id", "name", "vendor", "object", "version", "model_picker_enabled",
                        "billing", "capabilities"):
                self.assertIn(key, m, m["id"])
            for key in ("type", "tokenizer", "limits", "supports", "family"):
                self.assertIn(key, m["capabilities"], m["id"])
            if m["capabilities"]["type"] == "chat":
                self.assertIn("max_output_tokens", m["capabilities"]["limits"])
                self.assertIn("supported_endpoints", m)
        self.assertEqual(models["gpt-5.4"]["supported_endpoints"], ["/responses", "ws:/responses"])
        self.assertEqual(set(models["gpt-5-mini"]["supported_endpoints"]),
                         {"/chat/completions", "/responses"})
        sonnet = models["claude-sonnet-4.6"]
        self.assertIn("/v1/messages", sonnet["supported_endpoints"])
        self.assertTrue(sonnet["capabilities"]["supports"]["adaptive_thinking"])
        self.assertTrue(sonnet["capabilities"]["supports"]["vision"])
        self.assertEqual(models["claude-opus-4.7"]["capabilities"]["limits"]
                         ["max_context_window_tokens"], 1000000)
        self.assertEqual(models["gemini-2.5-pro"]["supported_endpoints"], ["/chat/completions"])
        emb = models["text-embedding-3-small"]
        self.assertEqual((emb["capabilities"]["type"], emb["model_picker_enabled"]),
                         ("embeddings", False))
        hidden_chat = [m for m in body["data"]
                       if not m["model_picker_enabled"] and m["capabilities"]["type"] != "embeddings"]
        self.assertTrue(hidden_chat)
        status, _, body = self.call("GET", "/models")
        self.assertEqual(status, 401)
        self.assertEqual(body["error"]["code"], "token_expired")

    def test_models_extra_and_hide(self):
        self.ctl("POST", "/_fake/config", {"models_hide": ["gpt-4.1"],
                                           "models_extra": [{"id": "my-model", "object": "model"}]})
        _, _, body = self.call("GET", "/models", headers=self.auth())
        ids = [m["id"] for m in body["data"]]
        self.assertNotIn("gpt-4.1", ids)
        self.assertEqual(ids[-1], "my-model")

    def test_chat_non_stream(self):
        status, headers, body = self.call("POST", "/chat/completions",
                                          self.chat_body("ping " + NON_ASCII), self.auth())
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.assertTrue(body["id"].startswith("chatcmpl-"))
        self.assertEqual(body["object"], "chat.completion")
        self.assertEqual(body["model"], "gpt-4.1")
        msg = body["choices"][0]["message"]
        self.assertEqual(msg["role"], "assistant")
        self.assertEqual(msg["content"], "You said: ping %s (%s)" % (NON_ASCII, NON_ASCII))
        self.assertEqual(body["choices"][0]["finish_reason"], "stop")
        u = body["usage"]
        self.assertEqual(u["total_tokens"], u["prompt_tokens"] + u["completion_tokens"])
        self.assertEqual(u["prompt_tokens_details"]["cached_tokens"], 0)

    def test_chat_answer_and_usage_overrides(self):
        self.ctl("POST", "/_fake/config", {"answer_text": "fixed", "finish_reason": "length",
                                           "usage": {"prompt_tokens": 100, "cached_tokens": 12}})
        _, _, body = self.call("POST", "/chat/completions", self.chat_body(), self.auth())
        self.assertEqual(body["choices"][0]["message"]["content"], "fixed")
        self.assertEqual(body["choices"][0]["finish_reason"], "length")
        self.assertEqual(body["usage"]["prompt_tokens"], 100)
        self.assertEqual(body["usage"]["prompt_tokens_details"]["cached_tokens"], 12)

    def test_chat_copilot_usage(self):
        cu = {"total_nano_aiu": 4200}
        self.ctl("POST", "/_fake/config", {"copilot_usage": cu,
                                           "usage": {"cache_creation_input_tokens": 3}})
        _, _, body = self.call("POST", "/chat/completions", self.chat_body(), self.auth())
        self.assertEqual(body["copilot_usage"], cu)
        self.assertEqual(body["usage"]["prompt_tokens_details"]["cache_creation_input_tokens"], 3)
        chunks, _ = self.stream_chat()
        last = [c for c in b"".join(chunks).decode().split("\n\n") if c.startswith("data: {")][-1]
        data = json.loads(last[6:])
        self.assertEqual((data["copilot_usage"], data["choices"]), (cu, []))
        self.assertIn("usage", data)

    def test_chat_errors(self):
        h = self.auth()
        status, _, body = self.call("POST", "/chat/completions", self.chat_body(model="nope"), h)
        self.assertEqual((status, body["error"]["code"]), (400, "model_not_supported"))
        status, _, body = self.call("POST", "/chat/completions", self.chat_body(model="gpt-5.4"), h)
        self.assertEqual((status, body["error"]["code"]), (400, "unsupported_api_for_model"))
        status, _, body = self.call("POST", "/chat/completions", {"model": "gpt-4.1"}, h)
        self.assertEqual(status, 400)
        status, _, body = self.call("POST", "/chat/completions", self.chat_body())
        self.assertEqual(status, 401)

    def check_stream(self, chunks, text):
        data = b"".join(chunks)
        events = parse_sse(data)
        self.assertEqual(events[-1], "[DONE]")
        parsed = [json.loads(e) for e in events[:-1]]
        first = parsed[0]
        self.assertEqual(first["object"], "chat.completion.chunk")
        self.assertEqual(first["choices"][0]["delta"]["role"], "assistant")
        content = "".join(p["choices"][0]["delta"].get("content") or ""
                          for p in parsed if p["choices"])
        self.assertEqual(content, "You said: %s (%s)" % (text, NON_ASCII))
        content_chunks = [p for p in parsed if p["choices"] and p["choices"][0]["delta"].get("content")]
        self.assertGreaterEqual(len(content_chunks), 3)
        self.assertEqual(parsed[-2]["choices"][0]["finish_reason"], "stop")
        self.assertEqual(parsed[-1]["choices"], [])
        self.assertIn("usage", parsed[-1])
        self.assertGreater(parsed[-1]["usage"]["completion_tokens"], 0)
        self.assertEqual(len({p["id"] for p in parsed}), 1)
        return events

    def test_stream_normal_one_event_per_chunk(self):
        chunks, terminated = self.stream_chat("normal")
        self.assertTrue(terminated)
        events = self.check_stream(chunks, "normal")
        self.assertEqual(len(chunks), len(events))
        for c in chunks:
            self.assertTrue(c.startswith(b"data: ") and c.endswith(b"\n\n"))
            c.decode("utf-8")

    def test_stream_awkward_splits(self):
        self.ctl("POST", "/_fake/config", {"chunking": "awkward", "seed": 7})
        chunks, terminated = self.stream_chat("awkward " + NON_ASCII)
        self.assertTrue(terminated)
        events = self.check_stream(chunks, "awkward " + NON_ASCII)
        data = b"".join(chunks)
        bounds, pos = [], 0
        for c in chunks[:-1]:
            pos += len(c)
            bounds.append(pos)
        inside_data = [p for p in bounds if any(data[p - k:p - k + 5] == b"data:" for k in range(1, 5))]
        inside_utf8 = [p for p in bounds if 0x80 <= data[p] <= 0xBF]
        inside_nl = [p for p in bounds if data[p - 1:p + 1] == b"\n\n"]
        multi = [c for c in chunks if c.count(b"\n\n") >= 2]
        self.assertTrue(inside_data, "no split inside 'data:'")
        self.assertTrue(inside_utf8, "no split inside a UTF-8 sequence")
        self.assertTrue(inside_nl, "no split between the two newlines")
        self.assertTrue(multi, "no write carrying several events")
        self.assertGreater(len(chunks), len(events) // 2)
        # Same seed, same request order → same split points.
        self.ctl("POST", "/_fake/reset", {})
        self.ctl("POST", "/_fake/config", {"chunking": "awkward", "seed": 7})
        again, _ = self.stream_chat("awkward " + NON_ASCII)
        self.assertEqual([len(c) for c in again], [len(c) for c in chunks])

    def test_stream_bytewise(self):
        self.ctl("POST", "/_fake/config", {"chunking": "bytewise"})
        chunks, terminated = self.stream_chat(NON_ASCII)
        self.assertTrue(terminated)
        self.assertTrue(all(len(c) == 1 for c in chunks))
        self.check_stream(chunks, NON_ASCII)

    def test_stream_prompt_filter_and_reasoning(self):
        self.ctl("POST", "/_fake/config", {"prompt_filter_chunk": True, "reasoning_text": "think hard"})
        chunks, _ = self.stream_chat()
        parsed = [json.loads(e) for e in parse_sse(b"".join(chunks))[:-1]]
        self.assertEqual(parsed[0]["choices"], [])
        self.assertIn("prompt_filter_results", parsed[0])
        reasoning = "".join(p["choices"][0]["delta"].get("reasoning_text") or ""
                            for p in parsed if p["choices"])
        self.assertEqual(reasoning, "think hard")
        self.assertTrue(any(p["choices"] and p["choices"][0]["delta"].get("reasoning_opaque")
                            for p in parsed))

    def test_refusal(self):
        # OpenAI's shape: message.content null and message.refusal the text;
        # streamed as delta.refusal pieces after a role chunk with content null.
        self.ctl("POST", "/_fake/config", {"refusal": "I can't help with that. " + NON_ASCII,
                                           "tool_calls": [{"name": "t", "arguments": {}}]})
        tools = [{"type": "function", "function": {"name": "t", "parameters": {}}}]
        _, _, body = self.call("POST", "/chat/completions", self.chat_body(tools=tools),
                               self.auth())
        choice = body["choices"][0]
        self.assertEqual(choice["message"]["content"], None)
        self.assertEqual(choice["message"]["refusal"], "I can't help with that. " + NON_ASCII)
        self.assertNotIn("tool_calls", choice["message"])
        self.assertEqual(choice["finish_reason"], "stop")
        chunks, _ = self.stream_chat()
        parsed = [json.loads(e) for e in parse_sse(b"".join(chunks))[:-1]]
        deltas = [p["choices"][0]["delta"] for p in parsed if p["choices"]]
        self.assertEqual(deltas[0], {"content": None, "refusal": "", "role": "assistant"})
        self.assertEqual("".join(d.get("refusal") or "" for d in deltas),
                         "I can't help with that. " + NON_ASCII)
        self.assertFalse(any(d.get("content") for d in deltas))
        self.assertGreaterEqual(sum(1 for d in deltas if d.get("refusal")), 3)
        self.assertEqual(parsed[-2]["choices"][0]["finish_reason"], "stop")

    def test_stream_omit_done(self):
        self.ctl("POST", "/_fake/config", {"omit_done": True})
        chunks, terminated = self.stream_chat()
        self.assertTrue(terminated)  # a clean end: the terminating chunk is sent
        events = parse_sse(b"".join(chunks))
        self.assertNotIn("[DONE]", events)
        last = [json.loads(e) for e in events[-2:]]
        self.assertEqual(last[0]["choices"][0]["finish_reason"], "stop")
        self.assertEqual(last[1]["choices"], [])
        self.assertIn("usage", last[1])
        status, _, _ = self.call("POST", "/_fake/config", {"omit_done": 1})
        self.assertEqual(status, 400)

    def test_tool_calls(self):
        self.ctl("POST", "/_fake/config", {"tool_calls": [
            {"name": "get_weather", "arguments": {"location": "Paris"}, "id": "call_weather"}]})
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
        _, _, body = self.call("POST", "/chat/completions", self.chat_body(tools=tools), self.auth())
        choice = body["choices"][0]
        self.assertEqual(choice["finish_reason"], "tool_calls")
        tc = choice["message"]["tool_calls"][0]
        self.assertEqual((tc["id"], tc["function"]["name"]), ("call_weather", "get_weather"))
        self.assertEqual(json.loads(tc["function"]["arguments"]), {"location": "Paris"})
        chunks, _ = self.stream_chat(tools=tools)
        parsed = [json.loads(e) for e in parse_sse(b"".join(chunks))[:-1]]
        deltas = [p["choices"][0]["delta"] for p in parsed if p["choices"]]
        starts = [d["tool_calls"][0] for d in deltas if d.get("tool_calls") and "id" in d["tool_calls"][0]]
        self.assertEqual(starts[0]["function"], {"arguments": "", "name": "get_weather"})
        args = "".join(d["tool_calls"][0]["function"]["arguments"] for d in deltas if d.get("tool_calls"))
        self.assertEqual(json.loads(args), {"location": "Paris"})
        self.assertGreaterEqual(sum(1 for d in deltas if d.get("tool_calls")), 3)
        self.assertEqual(parsed[-2]["choices"][0]["finish_reason"], "tool_calls")
        # A tool-result turn gets text, not another call; no tools → text.
        body = self.chat_body(tools=tools)
        body["messages"].append({"role": "tool", "tool_call_id": "call_weather", "content": "sunny"})
        _, _, out = self.call("POST", "/chat/completions", body, self.auth())
        self.assertEqual(out["choices"][0]["finish_reason"], "stop")
        _, _, out = self.call("POST", "/chat/completions", self.chat_body(), self.auth())
        self.assertNotIn("tool_calls", out["choices"][0]["message"])

    def test_embeddings(self):
        h = self.auth()
        status, _, one = self.call("POST", "/embeddings",
                                   {"model": "text-embedding-3-small", "input": "hello"}, h)
        self.assertEqual(status, 200)
        self.assertEqual(one["object"], "list")
        self.assertEqual(one["model"], "text-embedding-3-small")
        self.assertEqual(one["data"][0]["object"], "embedding")
        self.assertEqual(one["data"][0]["index"], 0)
        self.assertEqual(len(one["data"][0]["embedding"]), 1536)
        self.assertGreater(one["usage"]["prompt_tokens"], 0)
        self.assertEqual(one["usage"]["total_tokens"], one["usage"]["prompt_tokens"])
        _, _, many = self.call("POST", "/embeddings", {"model": "text-embedding-3-small",
                                                      "input": ["hello", "world"], "dimensions": 8}, h)
        self.assertEqual([d["index"] for d in many["data"]], [0, 1])
        self.assertEqual(len(many["data"][0]["embedding"]), 8)
        norm = sum(x * x for x in many["data"][0]["embedding"])
        self.assertAlmostEqual(norm, 1.0, places=5)
        _, _, again = self.call("POST", "/embeddings", {"model": "text-embedding-3-small",
                                                       "input": ["hello", "world"], "dimensions": 8}, h)
        self.assertEqual(again["data"], many["data"])                      # deterministic
        self.assertNotEqual(many["data"][0]["embedding"], many["data"][1]["embedding"])
        status, _, _ = self.call("POST", "/embeddings", {"model": "gpt-4.1", "input": "x"}, h)
        self.assertEqual(status, 400)
        status, _, _ = self.call("POST", "/embeddings", {"model": "text-embedding-3-small"}, h)
        self.assertEqual(status, 400)

    def test_keep_alive_connection_reuse(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(self.auth(), **{"Content-Type": "application/json"})
        for stream in (False, True, False):
            conn.request("POST", "/chat/completions",
                         body=json.dumps(self.chat_body("ka", stream)), headers=h)
            resp = conn.getresponse()
            data = resp.read()
            self.assertEqual(resp.status, 200)
            self.assertFalse(resp.will_close)
            if stream:
                self.assertEqual(parse_sse(data)[-1], "[DONE]")
        sock_before = conn.sock
        conn.request("GET", "/models", headers=h)
        conn.getresponse().read()
        self.assertIs(conn.sock, sock_before)
        conn.close()


# ---------------------------------------------------------------------------
# Faults, records, waits
# ---------------------------------------------------------------------------

class TestFaults(FakeTestCase):
    def fault(self, **f):
        f.setdefault("path", "/chat/completions")
        return self.ctl("POST", "/_fake/faults", [f])

    def test_status_with_headers_one_shot(self):
        self.fault(kind="status", status=429,
                   body={"error": {"message": "rate limited", "type": "rate_limit_error"}},
                   headers={"Retry-After": "7", "x-ratelimit-remaining-requests": "0"})
        status, headers, body = self.call("POST", "/chat/completions", self.chat_body(), self.auth())
        self.assertEqual(status, 429)
        self.assertEqual(headers["retry-after"], "7")
        self.assertEqual(headers["x-ratelimit-remaining-requests"], "0")
        self.assertEqual(body["error"]["message"], "rate limited")
        status, _, _ = self.call("POST", "/chat/completions", self.chat_body(), self.auth())
        self.assertEqual(status, 200)
        faults = self.ctl("GET", "/_fake/faults")["faults"]
        self.assertEqual((faults[0]["hits"], faults[0]["remaining"]), (1, 0))

    def test_status_persistent_and_filters(self):
        self.fault(kind="status", status=500, body="upstream boom", times=None, stream=True)
        for _ in range(2):
            r = self.raw("POST", "/chat/completions", self.chat_body(stream=True), self.auth()).read_head()
            self.assertEqual(r.status, 500)
            self.assertEqual(r.read_body(), b"upstream boom")
            r.sock.close()
        status, _, _ = self.call("POST", "/chat/completions", self.chat_body(), self.auth())
        self.assertEqual(status, 200)                       # stream filter: non-stream untouched
        self.ctl("DELETE", "/_fake/faults")
        chunks, terminated = self.stream_chat()
        self.assertTrue(terminated)
        self.ctl("POST", "/_fake/faults", [{"path": "/x", "kind": "nope"}], expect=400)

    def test_unauthorized_once(self):
        self.fault(kind="unauthorized_once")
        h = self.auth()
        status, _, body = self.call("POST", "/chat/completions", self.chat_body(), h)
        self.assertEqual((status, body["error"]["code"]), (401, "token_expired"))
        status, _, _ = self.call("POST", "/chat/completions", self.chat_body(), h)
        self.assertEqual(status, 200)

    def test_drop_after(self):
        self.fault(kind="drop_after", events=2)
        chunks, terminated = self.stream_chat()
        self.assertFalse(terminated)
        data = b"".join(chunks)
        self.assertEqual(data.count(b"\n\n"), 2)
        self.assertNotIn(b"[DONE]", data)
        # Partial next event: connection ends in the middle of a JSON object.
        self.fault(kind="drop_after", events=1, bytes=10)
        chunks, terminated = self.stream_chat()
        self.assertFalse(terminated)
        self.assertEqual(b"".join(chunks).split(b"\n\n")[1], b"data: {\"ch")
        recs = self.ctl("GET", "/_fake/requests?path=/chat/completions")["requests"]
        self.assertTrue(all(r["dropped"] and not r["completed"] for r in recs))
        # Non-stream: truncated body under a full Content-Length.
        self.fault(kind="drop_after", path="/models")
        r = self.raw("GET", "/models", headers=self.auth()).read_head()
        with self.assertRaises(EOFError):
            r.read_body()
        r.sock.close()

    def test_stall_continue_and_close(self):
        self.fault(kind="stall", seconds=0.4, events=1)
        r = self.raw("POST", "/chat/completions", self.chat_body(stream=True), self.auth()).read_head()
        first = r.next_chunk()
        t0 = time.monotonic()
        rest, terminated = r.read_chunks()
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.assertTrue(terminated)
        self.assertIn(b"[DONE]", b"".join([first] + rest))
        r.sock.close()
        self.fault(kind="stall", seconds=0.2, events=3, then="close")
        chunks, terminated = self.stream_chat()
        self.assertFalse(terminated)
        self.assertEqual(b"".join(chunks).count(b"\n\n"), 3)

    def test_hold_and_release(self):
        self.fault(kind="hold", name="h1", events=1)
        r = self.raw("POST", "/chat/completions", self.chat_body(stream=True), self.auth()).read_head()
        first = r.next_chunk()
        self.assertEqual(json.loads(parse_sse(first)[0])["choices"][0]["delta"]["role"], "assistant")
        self.assertTrue(self.ctl("GET", "/_fake/wait_hold?name=h1&timeout=5")["ok"])
        readable, _, _ = select.select([r.sock], [], [], 0.2)
        self.assertFalse(readable or r.buf, "data arrived while held")
        rec = self.ctl("GET", "/_fake/requests")["requests"][-1]
        self.assertFalse(rec["finished"])
        out = self.ctl("POST", "/_fake/release", {"name": "h1"})
        self.assertEqual(out["holding"]["h1"], 1)
        rest, terminated = r.read_chunks()
        self.assertTrue(terminated)
        self.assertEqual(parse_sse(first + b"".join(rest))[-1], "[DONE]")
        r.sock.close()
        self.assertTrue(self.ctl("GET", "/_fake/wait?path=/chat/completions&count=1"
                                 "&completed=1&timeout=5")["ok"])

    def test_release_before_hold_is_banked(self):
        self.ctl("POST", "/_fake/release", {"name": "early"})
        self.fault(kind="hold", name="early")
        chunks, terminated = self.stream_chat()
        self.assertTrue(terminated)

    def test_delay_headers(self):
        self.fault(kind="delay_headers", seconds=0.4, path="/models")
        t0 = time.monotonic()
        status, _, _ = self.call("GET", "/models", headers=self.auth())
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.35)

    def test_client_disconnect_during_hold(self):
        self.fault(kind="hold", name="gone")
        r = self.raw("POST", "/chat/completions", self.chat_body(stream=True), self.auth()).read_head()
        r.next_chunk()
        self.assertTrue(self.ctl("GET", "/_fake/wait_hold?name=gone&timeout=5")["ok"])
        r.sock.close()
        out = self.ctl("GET", "/_fake/wait_disconnect?timeout=5")
        self.assertTrue(out["ok"])
        self.assertEqual(out["requests"][0]["path"], "/chat/completions")
        rec = self.ctl("GET", "/_fake/requests")["requests"][-1]
        self.assertTrue(rec["client_disconnected"])
        self.assertFalse(rec["completed"])

    def test_client_disconnect_detected_on_write(self):
        self.ctl("POST", "/_fake/config", {"chunking": "bytewise", "write_delay": 0.002})
        r = self.raw("POST", "/chat/completions", self.chat_body(stream=True), self.auth()).read_head()
        r.next_chunk()
        r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        r.sock.close()
        self.assertTrue(self.ctl("GET", "/_fake/wait_disconnect?timeout=5")["ok"])

    def test_no_disconnect_for_normal_stream(self):
        self.stream_chat()
        out = self.call("GET", "/_fake/wait_disconnect?timeout=0.2")
        self.assertEqual(out[0], 408)
        self.assertFalse(out[2]["ok"])


class TestControl(FakeTestCase):
    def test_request_recording(self):
        h = self.auth()
        h.update({"X-Request-Id": "rid-1", "Editor-Version": "vscode/1.122.0"})
        self.call("POST", "/chat/completions?api-version=1", self.chat_body("rec"), h)
        self.call("GET", "/models", headers=h)
        recs = self.ctl("GET", "/_fake/requests")["requests"]
        chat = [r for r in recs if r["path"] == "/chat/completions"][0]
        self.assertEqual(chat["method"], "POST")
        self.assertEqual(chat["query"], {"api-version": "1"})
        self.assertEqual(chat["headers"]["x-request-id"], "rid-1")
        self.assertEqual(chat["headers"]["editor-version"], "vscode/1.122.0")
        self.assertTrue(chat["headers"]["authorization"].startswith("Bearer tid="))
        self.assertEqual(chat["body"]["messages"][1]["content"], "rec")
        self.assertEqual((chat["status"], chat["stream"], chat["completed"]), (200, False, True))
        self.assertFalse(chat["client_disconnected"])
        self.assertIsInstance(chat["time"], float)
        self.assertFalse(any(r["path"].startswith("/_fake/") for r in recs))
        only = self.ctl("GET", "/_fake/requests?path=/models")["requests"]
        self.assertEqual([r["path"] for r in only], ["/models"])
        self.ctl("DELETE", "/_fake/requests")
        self.assertEqual(self.ctl("GET", "/_fake/requests")["requests"], [])

    def test_wait(self):
        status, _, body = self.call("GET", "/_fake/wait?path=/models&count=1&timeout=0.2")
        self.assertEqual((status, body["ok"], body["count"]), (408, False, 0))
        self.call("GET", "/models", headers=self.auth())
        out = self.ctl("GET", "/_fake/wait?path=/models&count=1&timeout=5")
        self.assertEqual((out["ok"], out["count"]), (True, 1))

    def test_revoke_tokens(self):
        h = self.auth()
        self.assertEqual(self.call("GET", "/models", headers=h)[0], 200)
        out = self.ctl("POST", "/_fake/revoke_tokens", {})
        self.assertGreaterEqual(out["revoked"], 1)
        status, _, body = self.call("GET", "/models", headers=h)
        self.assertEqual((status, body["error"]["code"]), (401, "token_expired"))
        self.assertEqual(self.call("GET", "/models", headers=self.auth())[0], 200)
        gh = self.github_token()
        self.ctl("POST", "/_fake/revoke_tokens", {"github": True})
        self.assertEqual(self.call("GET", "/user", headers={"Authorization": "token " + gh})[0], 401)

    def test_reset_clears_state_but_keeps_tokens(self):
        h = self.auth()
        self.ctl("POST", "/_fake/config", {"chunking": "bytewise"})
        self.ctl("POST", "/_fake/faults", [{"path": "/models", "kind": "status", "status": 500}])
        self.call("GET", "/models", headers=h)
        self.ctl("POST", "/_fake/reset", {})
        self.assertEqual(self.ctl("GET", "/_fake/config")["config"]["chunking"], "normal")
        self.assertEqual(self.ctl("GET", "/_fake/faults")["faults"], [])
        self.assertEqual(self.ctl("GET", "/_fake/requests")["requests"], [])
        self.assertEqual(self.call("GET", "/models", headers=h)[0], 200)
        self.ctl("POST", "/_fake/reset", {"tokens": True})
        self.assertEqual(self.call("GET", "/models", headers=h)[0], 401)

    def test_config_validation(self):
        out = self.ctl("POST", "/_fake/config", {"chunkin": "awkward"}, expect=400)
        self.assertIn("unknown config key", out["error"])
        self.ctl("POST", "/_fake/config", {"chunking": "weird"}, expect=400)
        self.ctl("POST", "/_fake/config", {"token_lifetime": -1}, expect=400)

    def test_unknown_route_404(self):
        status, _, body = self.call("GET", "/nope")
        self.assertEqual((status, body["message"]), (404, "Not Found"))


class TestProcess(unittest.TestCase):
    def test_refuses_non_loopback_host(self):
        out = subprocess.run([sys.executable, FAKE, "--host", "0.0.0.0", "--port", "0"],
                             capture_output=True, timeout=10)
        self.assertNotEqual(out.returncode, 0)

    def test_ipv6_loopback(self):
        try:
            s = socket.socket(socket.AF_INET6)
            s.bind(("::1", 0))
            s.close()
        except OSError:
            self.skipTest("no IPv6 loopback")
        proc, port, tmp = start_fake("::1")
        try:
            conn = http.client.HTTPConnection("::1", port, timeout=10)
            conn.request("GET", "/_fake/health")
            body = json.loads(conn.getresponse().read())
            self.assertEqual(body["base_url"], "http://[::1]:%d" % port)
            conn.close()
        finally:
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(timeout=10), 0)
            proc.stderr.close()
            shutil.rmtree(tmp, ignore_errors=True)

    def test_logs_one_line_per_request(self):
        proc, port, tmp = start_fake()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/models")
            conn.getresponse().read()
            conn.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
            log = proc.stderr.read().decode()
            proc.stderr.close()
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertIn("fake_upstream: GET /models 401", log)


if __name__ == "__main__":
    unittest.main()
