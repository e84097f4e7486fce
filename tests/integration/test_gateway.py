"""The gateway behind a real lighttpd, responder under spawn-fcgi, fake
upstream: routes, auth, errors, usage rows."""

import json
import os
import subprocess
import threading
import unittest

import harness
from harness import API_KEY, ADMIN_KEY


class Gateway(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={"limits": {"maxBodyBytes": 1048576}})

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    # --- health, CORS, auth -------------------------------------------------

    def test_root_needs_no_key(self):
        status, headers, body = self.s.get("/", key=None)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"Server running")
        self.assertEqual(headers.get("access-control-allow-origin"), "*")
        self.assertTrue(headers.get("x-trace-id"))

    def test_trace_id_is_echoed_when_valid(self):
        _, headers, _ = self.s.get("/", key=None, headers={"x-trace-id": "abc-123.x"})
        self.assertEqual(headers["x-trace-id"], "abc-123.x")
        _, headers, _ = self.s.get("/", key=None, headers={"x-trace-id": "bad id!"})
        self.assertNotEqual(headers["x-trace-id"], "bad id!")

    def test_preflight_before_auth(self):
        status, headers, _ = self.s.request(
            "OPTIONS", "/v1/chat/completions", key=None,
            headers={"access-control-request-headers": "x-api-key,content-type",
                     "origin": "http://example.test"})
        self.assertEqual(status, 204)
        self.assertEqual(headers["access-control-allow-origin"], "*")
        self.assertIn("POST", headers["access-control-allow-methods"])
        self.assertEqual(headers["access-control-allow-headers"], "x-api-key,content-type")

    def test_missing_and_wrong_keys_are_401(self):
        for key in (None, "sk-wrong"):
            status, headers, body = self.s.json("GET", "/v1/models", key=key)
            self.assertEqual(status, 401)
            self.assertEqual(headers["www-authenticate"], 'Bearer realm="copilot-api"')
            self.assertEqual(body, {"error": {"message": "Unauthorized",
                                              "type": "authentication_error"}})

    def test_x_api_key_and_bearer_both_work(self):
        status, _, _ = self.s.json("GET", "/v1/models", key=None,
                                   headers={"x-api-key": API_KEY})
        self.assertEqual(status, 200)
        status, _, _ = self.s.json("GET", "/v1/models", key=None,
                                   headers={"authorization": "bearer " + API_KEY})
        self.assertEqual(status, 200)

    def test_admin_routes_take_only_the_admin_key(self):
        status, _, _ = self.s.json("GET", "/admin/config/model-mappings")
        self.assertEqual(status, 401)
        status, _, _ = self.s.json("GET", "/token")
        self.assertEqual(status, 401)
        status, _, body = self.s.json("GET", "/token", key=ADMIN_KEY)
        self.assertEqual(status, 200)
        self.assertTrue(body["token"].startswith("tid="))

    def test_model_mappings_roundtrip(self):
        status, _, body = self.s.json("POST", "/admin/config/model-mappings",
                                      {"modelMappings": {"claude-x": "gpt-4.1"}},
                                      key=ADMIN_KEY)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["modelMappings"], {"claude-x": "gpt-4.1"})
        self.assertTrue(body["configPath"].endswith("config.json"))
        with open(os.path.join(self.s.home, "config.json")) as f:
            on_disk = json.load(f)
        self.assertEqual(on_disk["modelMappings"], {"claude-x": "gpt-4.1"})
        self.assertEqual(on_disk["auth"]["adminApiKey"], ADMIN_KEY)
        status, _, body = self.s.json("POST", "/admin/config/model-mappings",
                                      {"modelMappings": {"a": ""}}, key=ADMIN_KEY)
        self.assertEqual(status, 400)
        self.assertIn("non-empty", body["error"]["message"])
        status, _, body = self.s.json("GET", "/admin/config/model-mappings", key=ADMIN_KEY)
        self.assertEqual(body["modelMappings"], {"claude-x": "gpt-4.1"})

    def test_unknown_path_and_method(self):
        status, _, body = self.s.get("/v1/nothing-here")
        self.assertEqual(status, 404)
        status, _, _ = self.s.get("/v1/nothing-here", key=None)
        self.assertEqual(status, 401)          # no probing without a key
        status, headers, _ = self.s.get("/v1/chat/completions")
        self.assertEqual(status, 405)
        self.assertIn("POST", headers["allow"])

    # --- models -------------------------------------------------------------

    def test_models_list(self):
        status, _, body = self.s.json("GET", "/v1/models")
        self.assertEqual(status, 200)
        self.assertEqual(body["object"], "list")
        self.assertIs(body["has_more"], False)
        ids = [m["id"] for m in body["data"]]
        self.assertIn("gpt-4.1", ids)
        self.assertIn("text-embedding-3-small", ids)      # embeddings kept
        # 1.14.7: Claude ids hyphenated; the 1M suffix in claude_model_id
        self.assertIn("claude-opus-4-7", ids)
        self.assertNotIn("claude-opus-4.7", ids)
        opus = [m for m in body["data"] if m["id"] == "claude-opus-4-7"][0]
        self.assertEqual(opus["claude_model_id"], "claude-opus-4-7[1m]")
        self.assertEqual(opus["display_name"], "Claude Opus 4.7")
        m = [m for m in body["data"] if m["id"] == "gpt-4.1"][0]
        self.assertEqual(m["object"], "model")
        self.assertEqual(m["created"], 0)
        self.assertIn("owned_by", m)
        self.assertIn("capabilities", m)                   # upstream fields kept
        status, _, body2 = self.s.json("GET", "/models")
        self.assertEqual(status, 200)
        self.assertEqual(len(body2["data"]), len(body["data"]))

    # --- chat completions ---------------------------------------------------

    def chat(self, messages, **kw):
        body = {"model": "gpt-4.1", "messages": messages}
        body.update(kw)
        return self.s.json("POST", "/v1/chat/completions", body)

    def test_chat_non_stream_and_upstream_headers(self):
        status, _, body = self.chat([{"role": "user", "content": "hello there"}])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["object"], "chat.completion")
        self.assertIn("hello there", body["choices"][0]["message"]["content"])
        req = self.s.fake.requests("/chat/completions")[-1]
        h = req["headers"]
        self.assertTrue(h["authorization"].startswith("Bearer tid="))
        self.assertEqual(h["copilot-integration-id"], "vscode-chat")
        self.assertTrue(h["editor-version"].startswith("vscode/"))
        self.assertTrue(h["editor-plugin-version"].startswith("copilot-chat/"))
        self.assertEqual(h["x-initiator"], "user")
        self.assertEqual(h["openai-intent"], "conversation-agent")
        self.assertEqual(h["x-request-id"], h["x-agent-task-id"])
        self.assertIn("x-interaction-id", h)
        self.assertIn("vscode-machineid", h)
        self.assertNotIn("copilot-vision-request", h)
        self.assertNotIn("x-api-key", h)
        self.assertNotEqual(h["authorization"], "Bearer " + API_KEY)
        # the model's output limit, as max_completion_tokens for a GPT
        # model (1.14.7)
        self.assertIsInstance(req["body"]["max_completion_tokens"], int)
        self.assertGreater(req["body"]["max_completion_tokens"], 0)
        self.assertNotIn("max_tokens", req["body"])

    def test_same_content_same_request_id(self):
        msgs = [{"role": "user", "content": "deterministic"}]
        self.chat(msgs)
        self.chat(msgs)
        a, b = self.s.fake.requests("/chat/completions")[-2:]
        self.assertEqual(a["headers"]["x-request-id"], b["headers"]["x-request-id"])

    def test_initiator_agent_after_tool_and_vision_header(self):
        msgs = [{"role": "user", "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "42"}]
        status, _, body = self.chat(msgs)
        self.assertEqual(status, 200, body)
        h = self.s.fake.requests("/chat/completions")[-1]["headers"]
        self.assertEqual(h["x-initiator"], "agent")
        self.assertEqual(h["copilot-vision-request"], "true")

    def test_explicit_max_tokens_is_kept(self):
        self.chat([{"role": "user", "content": "x"}], max_tokens=7)
        body = self.s.fake.requests("/chat/completions")[-1]["body"]
        self.assertEqual(body["max_completion_tokens"], 7)
        self.assertNotIn("max_tokens", body)

    def test_max_completion_tokens(self):
        """1.14.7: the client's max_completion_tokens wins for a GPT model,
        stops the default for any model, and a non-GPT model keeps
        max_tokens."""
        last = lambda: self.s.fake.requests("/chat/completions")[-1]["body"]
        self.chat([{"role": "user", "content": "x"}], max_tokens=7,
                  max_completion_tokens=9)
        self.assertEqual(last()["max_completion_tokens"], 9)
        self.assertNotIn("max_tokens", last())
        self.chat([{"role": "user", "content": "x"}], max_tokens=7,
                  max_completion_tokens=None)
        self.assertEqual(last()["max_completion_tokens"], 7)
        self.assertNotIn("max_tokens", last())
        status, _, body = self.chat([{"role": "user", "content": "x"}],
                                    model="claude-sonnet-4.6")
        self.assertEqual(status, 200, body)
        self.assertEqual(last()["max_tokens"], 32000)
        self.assertNotIn("max_completion_tokens", last())
        self.chat([{"role": "user", "content": "x"}], model="claude-sonnet-4.6",
                  max_completion_tokens=5)
        self.assertEqual(last()["max_completion_tokens"], 5)
        self.assertNotIn("max_tokens", last())

    def test_malformed_json(self):
        status, _, body = self.s.request("POST", "/v1/chat/completions",
                                         raw=b'{"model": "gpt-4.1",\n "messages": [}')
        self.assertEqual(status, 400)
        err = json.loads(body)["error"]
        self.assertEqual(err["type"], "invalid_request_error")
        self.assertIn("line 2", err["message"])

    def test_missing_model_and_messages(self):
        status, _, body = self.s.json("POST", "/v1/chat/completions", {"messages": []})
        self.assertEqual(status, 400)
        self.assertIn("model", body["error"]["message"])
        status, _, body = self.s.json("POST", "/v1/chat/completions", {"model": "gpt-4.1"})
        self.assertEqual(status, 400)
        self.assertIn("messages", body["error"]["message"])

    def test_responses_only_model_is_refused_on_chat(self):
        status, _, body = self.chat([{"role": "user", "content": "x"}], model="gpt-5.4")
        self.assertEqual(status, 400)
        self.assertIn("/v1/responses", body["error"]["message"])
        self.assertEqual(self.s.fake.requests("/chat/completions"), [])

    def test_oversized_body_is_413_and_drained(self):
        big = b'{"model":"gpt-4.1","messages":[{"role":"user","content":"' + \
            b"x" * (2 * 1048576) + b'"}]}'
        status, _, body = self.s.request("POST", "/v1/chat/completions", raw=big)
        self.assertEqual(status, 413)
        self.assertIn("too large", json.loads(body)["error"]["message"])
        # the connection stays usable: the next request works
        status, _, _ = self.chat([{"role": "user", "content": "after"}])
        self.assertEqual(status, 200)

    def test_upstream_500_keeps_status_and_message(self):
        self.s.fake.fault(path="/chat/completions", kind="status", status=500,
                          body={"error": {"message": "boom from upstream", "type": "server_error"}})
        status, _, body = self.chat([{"role": "user", "content": "x"}])
        self.assertEqual(status, 500)
        self.assertIn("boom from upstream", body["error"]["message"])
        harness.wait_until(lambda: self.s.usage_rows()[-1]["status"] == 500,
                           what="the failed request's usage row")
        row = self.s.usage_rows()[-1]
        self.assertEqual(row["endpoint"], "chat_completions")
        self.assertIn("boom", row["error"])

    def test_upstream_429_passes_retry_after(self):
        self.s.fake.fault(path="/chat/completions", kind="status", status=429,
                          body={"error": {"message": "rate limited", "type": "rate_limit"}},
                          headers={"Retry-After": "7", "x-ratelimit-remaining": "0"})
        status, headers, body = self.chat([{"role": "user", "content": "x"}])
        self.assertEqual(status, 429)
        self.assertEqual(headers.get("retry-after"), "7")
        self.assertEqual(headers.get("x-ratelimit-remaining"), "0")
        self.assertIn("rate limited", body["error"]["message"])
        self.assertEqual(len(self.s.fake.requests("/chat/completions")), 1)  # never retried
        harness.wait_until(lambda: self.s.usage_rows()[-1]["status"] == 429,
                           what="the 429's usage row")

    def test_copilot_quota_headers_logged_and_429_passes_them(self):
        # 1.14.7's logCopilotRateLimits: every model call's quota headers
        # are logged, whatever the status; a 429 also passes them on
        quota = {"x-usage-ratelimit-session": "rem=91.5&rst=2026-12-08T05%3A00%3A00Z",
                 "x-usage-ratelimit-weekly": "rem=40&rst=2026-12-14T00:00:00Z"}
        self.s.fake.config(response_headers=quota)
        status, headers, _ = self.chat([{"role": "user", "content": "quota"}])
        self.assertEqual(status, 200)
        self.assertNotIn("x-usage-ratelimit-session", headers)  # never on a success
        harness.wait_until(lambda: "info: Copilot session quota remaining: 91.5, resets at: "
                           "2026-12-08T05:00:00Z" in self.s.log_text(), what="the session line")
        self.assertIn("info: Copilot weekly quota remaining: 40, resets at: "
                      "2026-12-14T00:00:00Z", self.s.log_text())
        self.s.fake.config(response_headers={})
        self.s.fake.fault(path="/v1/messages", kind="status", status=429,
                          body={"error": {"message": "weekly limit", "code": "rate_limited"}},
                          headers={"Retry-After": "9",
                                   "x-usage-ratelimit-weekly": "rem=0&rst=next%20monday"})
        status, headers, body = self.s.json("POST", "/v1/messages", {
            "model": "claude-sonnet-4.6", "max_tokens": 50,
            "messages": [{"role": "user", "content": "over quota"}]})
        self.assertEqual(status, 429, body)
        self.assertEqual(headers.get("retry-after"), "9")
        self.assertEqual(headers.get("x-usage-ratelimit-weekly"), "rem=0&rst=next%20monday")
        self.assertIn("weekly limit", body["error"]["message"])
        harness.wait_until(lambda: "Copilot weekly quota remaining: 0, resets at: next monday"
                           in self.s.log_text(), what="the 429's weekly line")

    def test_401_refreshes_token_once_and_retries(self):
        self.chat([{"role": "user", "content": "warm up: a token is stored"}])
        before = len(self.s.fake.requests("/copilot_internal/v2/token"))
        self.s.fake.fault(path="/chat/completions", kind="unauthorized_once")
        status, _, body = self.chat([{"role": "user", "content": "again"}])
        self.assertEqual(status, 200, body)
        calls = self.s.fake.requests("/chat/completions")[-2:]
        self.assertEqual(calls[0]["status"], 401)
        self.assertNotEqual(calls[0]["headers"]["authorization"],
                            calls[1]["headers"]["authorization"])
        self.assertEqual(len(self.s.fake.requests("/copilot_internal/v2/token")), before + 1)

    def test_due_token_is_refreshed_once_for_concurrent_requests(self):
        # A token that is due at once (refresh_in 1 s), then a normal one.
        self.s.fake.config(refresh_in=1)
        self.s.fake.call("POST", "/_fake/revoke_tokens", {})
        status, _, _ = self.chat([{"role": "user", "content": "short-lived token"}])
        self.assertEqual(status, 200)
        self.s.fake.config(refresh_in=1500)
        before = len(self.s.fake.requests("/copilot_internal/v2/token"))
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(
            self.chat([{"role": "user", "content": "burst %d" % i}])[0])) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200] * 8)
        self.assertEqual(len(self.s.fake.requests("/copilot_internal/v2/token")), before + 1)

    def test_unknown_model_error_is_relayed(self):
        status, _, body = self.chat([{"role": "user", "content": "x"}], model="no-such-model")
        self.assertEqual(status, 400)
        self.assertIn("model", body["error"]["message"].lower())

    # --- streaming ----------------------------------------------------------

    def stream_events(self, body, **kw):
        resp, conn = self.s.stream("/v1/chat/completions", body, **kw)
        try:
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.getheader("content-type").split(";")[0], "text/event-stream")
            return list(harness.read_sse(resp))
        finally:
            conn.close()

    def test_stream_relays_every_chunk_and_usage(self):
        n = len(self.s.usage_rows())
        for mode in ("normal", "awkward", "bytewise"):
            self.s.fake.config(chunking=mode)
            events = self.stream_events({"model": "gpt-4.1", "stream": True,
                                         "messages": [{"role": "user", "content": "héllo 日本"}]})
            data = [d for e, d in events if e != "comment"]
            self.assertEqual(data[-1], "[DONE]", mode)
            chunks = [json.loads(d) for d in data[:-1]]
            text = "".join(c["choices"][0]["delta"].get("content") or ""
                           for c in chunks if c["choices"])
            self.assertIn("héllo 日本", text, mode)
            self.assertTrue(any(c.get("usage") and not c["choices"] for c in chunks), mode)
        self.s.fake.config(chunking="normal")
        # rows are written after each answer: wait for this test's three
        row = self.s.usage_rows(at_least=n + 3)[-1]
        self.assertEqual(row["stream"], 1)
        self.assertGreater(row["output_tokens"], 0)

    def test_stream_events_arrive_before_upstream_finishes(self):
        self.s.fake.fault(path="/chat/completions", kind="hold", name="h1")
        resp, conn = self.s.stream("/v1/chat/completions", {
            "model": "gpt-4.1", "stream": True,
            "messages": [{"role": "user", "content": "incremental"}]})
        try:
            events = harness.read_sse(resp)
            first = next(e for e in events if e[0] != "comment")
            self.assertIn("chat.completion.chunk", first[1])
            # The upstream is still holding the rest: release it now.
            self.s.fake.call("POST", "/_fake/release", {"name": "h1"})
            rest = [d for e, d in events if e != "comment"]
            self.assertEqual(rest[-1], "[DONE]")
        finally:
            conn.close()

    def test_mid_stream_drop_ends_with_error_event(self):
        self.s.fake.fault(path="/chat/completions", kind="drop_after", events=2)
        events = self.stream_events({"model": "gpt-4.1", "stream": True,
                                     "messages": [{"role": "user", "content": "drop"}]})
        errs = [d for e, d in events if e == "error"]
        self.assertEqual(len(errs), 1, events)
        self.assertIn("message", json.loads(errs[0])["error"])
        self.assertEqual(events[-1][1], "[DONE]")
        harness.wait_until(lambda: self.s.usage_rows()[-1]["status"] == 502,
                           what="the failed stream's usage row")

    def test_stall_sends_pings_then_error(self):
        # stallSeconds is 5 and pingSeconds 1 in this stack's config.
        self.s.fake.fault(path="/chat/completions", kind="stall", seconds=30, events=1)
        events = self.stream_events({"model": "gpt-4.1", "stream": True,
                                     "messages": [{"role": "user", "content": "stall"}]})
        kinds = [e for e, _ in events]
        self.assertIn("comment", kinds)
        self.assertEqual(kinds.count("error"), 1)
        self.assertLess(kinds.index("comment"), kinds.index("error"))
        err = json.loads(events[kinds.index("error")][1])["error"]
        self.assertEqual(err["type"], "timeout_error")
        harness.wait_until(lambda: self.s.usage_rows()[-1]["status"] == 504,
                           what="the stalled stream's usage row")

    def test_client_disconnect_aborts_upstream(self):
        self.s.fake.fault(path="/chat/completions", kind="stall", seconds=20, events=1)
        resp, conn = self.s.stream("/v1/chat/completions", {
            "model": "gpt-4.1", "stream": True,
            "messages": [{"role": "user", "content": "bye"}]})
        events = harness.read_sse(resp)
        next(events)
        conn.sock.close()
        conn.close()
        got = self.s.fake.call("GET", "/_fake/wait_disconnect?timeout=15", timeout=20)
        self.assertTrue(got["ok"], got)

    # --- embeddings, usage ----------------------------------------------------

    def test_embeddings(self):
        status, _, body = self.s.json("POST", "/v1/embeddings",
                                      {"model": "text-embedding-3-small", "input": ["a", "b"]})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["data"]), 2)
        self.assertEqual(self.s.fake.requests("/embeddings")[-1]["body"]["input"], ["a", "b"])
        status, _, body = self.s.json("POST", "/embeddings",
                                      {"model": "text-embedding-3-small", "input": "one"})
        self.assertEqual(status, 200)
        harness.wait_until(lambda: self.s.usage_rows()[-1]["endpoint"] == "embeddings",
                           what="the embeddings usage row")

    def test_usage_passthrough_and_token_usage(self):
        status, _, body = self.s.json("GET", "/usage")
        self.assertEqual(status, 200)
        self.assertIn("quota_snapshots", body)
        self.chat([{"role": "user", "content": "count me"}])
        status, _, body = self.s.json("GET", "/token-usage?period=day")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(body["totals"]["request_count"], 1)
        status, _, body = self.s.json("GET", "/token-usage/events?page=1&page_size=5")
        self.assertEqual(status, 200)
        self.assertLessEqual(len(body["items"]), 5)
        self.assertIn("status", body["items"][0])

    def test_usage_row_for_every_request(self):
        n = len(self.s.usage_rows())
        self.chat([{"role": "user", "content": "row"}])
        rows = self.s.usage_rows(at_least=n + 1)
        self.assertEqual(len(rows), n + 1)
        r = rows[-1]
        self.assertEqual((r["status"], r["model"], r["endpoint"]), (200, "gpt-4.1", "chat_completions"))
        self.assertGreater(r["input_tokens"] + r["cache_read_input_tokens"], 0)
        self.assertIsNotNone(r["latency_ms"])


class OpenGateway(unittest.TestCase):
    """No auth.apiKeys (issue 12): only loopback or allowed hosts, no
    cross-site browser, errors in the path's dialect; lighttpd passes the
    client's Host as HTTP_HOST."""

    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={
            "auth": {"apiKeys": []},
            "allowedHosts": ["gw.example"],
            "cors": {"allowedOrigins": ["http://localhost:3000"]},
            "limits": {"maxBodyBytes": 4096}})

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def chat(self, headers, raw=None):
        body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
        return self.s.request("POST", "/v1/chat/completions", body, key=None,
                              headers=headers, raw=raw)

    def test_loopback_and_allowed_hosts_pass_others_are_403(self):
        status, headers, _ = self.chat({})
        self.assertEqual(status, 200)
        self.assertNotIn("access-control-allow-origin", headers)
        for host in ("localhost:%d" % self.s.port, "gw.example"):
            self.assertEqual(self.chat({"host": host})[0], 200, host)
        n = len(self.s.fake.requests("/chat/completions"))
        status, headers, body = self.chat({"host": "rebound.example:%d" % self.s.port})
        self.assertEqual(status, 403)
        self.assertEqual(headers["content-type"], "application/json")
        err = json.loads(body)["error"]
        self.assertEqual(err["type"], "permission_error")
        self.assertIn('"allowedHosts"', err["message"])
        status, _, body = self.s.request(
            "POST", "/v1/messages", {}, key=None, headers={"host": "rebound.example"})
        self.assertEqual((status, json.loads(body)["type"]), (403, "error"))
        self.assertEqual(len(self.s.fake.requests("/chat/completions")), n)

    def test_cross_site_page_is_refused_allowed_origin_reflected(self):
        n = len(self.s.fake.requests("/chat/completions"))
        status, headers, body = self.chat(
            {"origin": "https://evil.example", "content-type": "text/plain",
             "sec-fetch-site": "cross-site"})
        self.assertEqual(status, 403)
        self.assertNotIn("access-control-allow-origin", headers)
        self.assertIn('"cors.allowedOrigins"', json.loads(body)["error"]["message"])
        status, _, _ = self.s.request(
            "OPTIONS", "/v1/chat/completions", key=None,
            headers={"origin": "https://evil.example",
                     "access-control-request-method": "POST"})
        self.assertEqual(status, 403)
        self.assertEqual(len(self.s.fake.requests("/chat/completions")), n)
        status, headers, _ = self.s.request(
            "OPTIONS", "/v1/chat/completions", key=None,
            headers={"origin": "http://localhost:3000",
                     "access-control-request-method": "POST"})
        self.assertEqual(status, 204)
        self.assertEqual(headers["access-control-allow-origin"], "http://localhost:3000")
        status, headers, _ = self.chat({"origin": "http://localhost:3000"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["access-control-allow-origin"], "http://localhost:3000")

    def test_404_405_413_in_the_paths_dialect(self):
        cases = [("GET", "/v1/nothing", None, 404, "openai"),
                 ("POST", "/v1/messages/nothing", None, 404, "anthropic"),
                 ("GET", "/v1/chat/completions", None, 405, "openai"),
                 ("GET", "/v1/messages", None, 405, "anthropic"),
                 ("POST", "/v1/messages", b"x" * 8192, 413, "anthropic"),
                 ("POST", "/v1/chat/completions", b"x" * 8192, 413, "openai")]
        for method, path, raw, want, dialect in cases:
            status, headers, body = self.s.request(method, path, key=None, raw=raw)
            self.assertEqual(status, want, path)
            self.assertEqual(headers["content-type"], "application/json", path)
            doc = json.loads(body)
            if dialect == "anthropic":
                self.assertEqual(doc["type"], "error", path)
            else:
                self.assertNotIn("type", doc, path)
            self.assertTrue(doc["error"]["message"], path)
