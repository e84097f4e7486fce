"""Third-party providers behind lighttpd: /:provider/v1/messages for the
three provider types, count_tokens, the models proxy, POST
/:provider/v1/responses, the provider/model aliases of /v1/messages,
/v1/messages/count_tokens, /v1/responses and /v1/chat/completions, and the
provider models of GET /v1/models.  Every provider points at the fake,
which takes the key sk-provider-test instead of a Copilot token."""

import json
import os
import re
import shutil
import signal
import unittest

import harness
from harness import API_KEY, read_sse

PROVIDER_KEY = "sk-provider-test"


def providers(url):
    return {
        "anth": {"type": "anthropic", "baseUrl": url + "/", "apiKey": PROVIDER_KEY,
                 "adjustInputTokens": True,
                 "models": {"prov-claude": {"topK": 7,
                                            "extraBody": {"service_tier": "auto"}}}},
        "anthb": {"baseUrl": url, "apiKey": " %s " % PROVIDER_KEY,
                  "authType": "authorization"},
        "dash": {"type": "openai-compatible", "baseUrl": url, "apiKey": PROVIDER_KEY,
                 "pricingCurrency": " cny ",
                 "models": {"qwen-plus": {
                     "pricing": {"input": 2, "output": 8, "cachedInput": 0.4,
                                 "explicitCachedInput": 0.2, "cacheCreationInput": 2.5},
                     "extraBody": {"enable_thinking": True, "preserve_thinking": True,
                                   "temperature": 0.9},
                     "temperature": 0.2, "topP": 0.8, "topK": 50,
                     "toolContentSupportType": []},
                     # a model of its own type (1.14.7, OpenCode Go)
                     "go-claude": {"type": "anthropic", "topK": 3}}},
        # named so, it is DashScope: its own fields are sent (1.14.7)
        "dashscope": {"type": "openai-compatible", "baseUrl": url, "apiKey": PROVIDER_KEY,
                      "models": {"qwen-plus": {
                          "extraBody": {"enable_thinking": True, "temperature": 0.9},
                          "temperature": 0.2, "topP": 0.8, "topK": 50,
                          "toolContentSupportType": []}}},
        "resp": {"type": "openai-responses", "baseUrl": url, "apiKey": PROVIDER_KEY},
        "off": {"type": "anthropic", "enabled": False, "baseUrl": url, "apiKey": PROVIDER_KEY},
        "codex": {"type": "openai-responses", "baseUrl": url, "authType": "oauth2"},
    }


def hello(model, text="hello", **extra):
    body = {"model": model, "max_tokens": 128, "messages": [{"role": "user", "content": text}]}
    body.update(extra)
    return body


def provider_stack(**kw):
    """A Stack whose config.json has the providers.  Their baseUrl is the
    fake, known only once it runs: config.json is rewritten and the
    responder restarted to load it."""
    def update(cfg):
        cfg["providers"] = providers(s.fake.url)
        cfg["modelMappings"] = {"claude-opus-4-7": "dash/qwen-plus",
                                "map-resp": "resp/prov-responses-1"}
    s = harness.Stack(**kw)
    return s.reconfigure(update)


class Providers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = provider_stack()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()
        # Rows of earlier tests: rows_for counts only this test's.  A row
        # is written after the client has its whole answer, so a test must
        # wait for its own rows, not take the newest one there is.
        self.rows_before = {}
        for r in self.s.usage_rows():
            p = r["provider_name"]
            self.rows_before[p] = self.rows_before.get(p, 0) + 1

    # -- helpers -----------------------------------------------------------

    def upstream(self, path):
        reqs = self.s.fake.requests(path)
        self.assertTrue(reqs, "nothing reached %s" % path)
        return reqs[-1]

    def assert_no_client_key(self):
        for rec in self.s.fake.requests():
            for name, value in rec["header_list"]:
                self.assertNotIn(API_KEY, value, "client key leaked in %s" % name)

    def stream_events(self, path, body, headers=None):
        resp, conn = self.s.stream(path, body, headers=headers)
        try:
            self.assertEqual(resp.status, 200)
            self.assertTrue(resp.getheader("content-type").startswith("text/event-stream"))
            return [(ev, data if data == "[DONE]" else json.loads(data))
                    for ev, data in read_sse(resp) if ev != "comment"]
        finally:
            conn.close()

    def rows_for(self, provider, at_least):
        """The rows of provider, once this test has written at_least."""
        want = self.rows_before.get(provider, 0) + at_least

        def rows():
            return [r for r in self.s.usage_rows() if r["provider_name"] == provider]
        harness.wait_until(lambda: len(rows()) >= want,
                           what="%d new usage rows of %s" % (at_least, provider))
        return rows()

    # -- a model's own type --------------------------------------------------

    def test_model_type_overrides_the_provider_type(self):
        # dash is openai-compatible; its go-claude speaks Anthropic Messages
        status, _, body = self.s.json("POST", "/dash/v1/messages", hello("go-claude"))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["type"], "message")
        rec = self.upstream("/v1/messages")
        self.assertEqual(rec["headers"]["x-api-key"], PROVIDER_KEY)
        self.assertNotIn("authorization", rec["headers"])
        self.assertEqual(rec["body"]["model"], "go-claude")
        self.assertEqual(rec["body"]["top_k"], 3)      # its other options still apply
        self.assertEqual(self.s.fake.requests("/v1/chat/completions"), [])
        # the alias too, streamed; and the Chat alias refuses it
        events = self.stream_events("/v1/messages", hello("dash/go-claude", stream=True))
        self.assertEqual(events[-1][0], "message_stop")
        self.assertEqual(len(self.s.fake.requests("/v1/messages")), 2)
        status, _, body = self.s.json("POST", "/v1/chat/completions", {
            "model": "dash/go-claude", "messages": [{"role": "user", "content": "x"}]})
        self.assertEqual(status, 400, body)
        self.assertIn("does not support the /v1/chat/completions endpoint",
                      body["error"]["message"])
        # its other models keep the provider's type
        status, _, body = self.s.json("POST", "/dash/v1/messages", hello("qwen-plus"))
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.s.fake.requests("/v1/chat/completions")), 1)
        rows = self.rows_for("dash", 3)
        self.assertEqual([r["model"] for r in rows[-3:]], ["go-claude", "go-claude", "qwen-plus"])

    # -- anthropic ---------------------------------------------------------

    def test_anthropic_relay_headers_and_adjusted_usage(self):
        self.s.fake.config(usage={"input_tokens": 100, "cache_read_input_tokens": 30,
                                  "cache_creation_input_tokens": 20})
        status, _, body = self.s.json(
            "POST", "/anth/v1/messages", hello("prov-claude"), key=None,
            headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01",
                     "anthropic-beta": "interleaved-thinking-2025-05-14",
                     "user-agent": "claude-cli/2.1.0 (external, cli)"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["type"], "message")
        self.assertIn("hello", body["content"][0]["text"])
        self.assertEqual(body["usage"]["input_tokens"], 50)
        self.assertEqual(body["usage"]["cache_read_input_tokens"], 30)
        up = self.upstream("/v1/messages")
        h = up["headers"]
        self.assertEqual(h["x-api-key"], PROVIDER_KEY)
        self.assertNotIn("authorization", h)
        self.assertEqual(h["anthropic-version"], "2023-06-01")
        self.assertEqual(h["anthropic-beta"], "interleaved-thinking-2025-05-14")
        self.assertEqual(h["user-agent"], "claude-cli/2.1.0 (external, cli)")
        self.assertEqual(h["content-type"], "application/json")
        # model options: topK default and extraBody keys the client lacks
        self.assertEqual(up["body"]["top_k"], 7)
        self.assertEqual(up["body"]["service_tier"], "auto")
        self.assertEqual(up["body"]["model"], "prov-claude")
        self.assert_no_client_key()
        row = self.rows_for("anth", 1)[-1]
        self.assertEqual((row["source"], row["endpoint"], row["user_id"], row["model"]),
                         ("provider", "provider_messages", "anth", "prov-claude"))
        self.assertEqual(row["input_tokens"], 50)

    def test_anthropic_stream_is_relayed_with_adjusted_usage(self):
        self.s.fake.config(usage={"input_tokens": 100, "cache_read_input_tokens": 30,
                                  "cache_creation_input_tokens": 20})
        ev = self.stream_events("/anth/v1/messages", hello("prov-claude", stream=True),
                                headers={"anthropic-version": "2023-06-01"})
        names = [n for n, _ in ev]
        self.assertEqual(names[0], "message_start")
        self.assertEqual(names[-1], "message_stop")
        self.assertIn(("ping", {"type": "ping"}), ev)
        self.assertNotIn("[DONE]", [d for _, d in ev])
        start = ev[0][1]
        self.assertEqual(start["message"]["usage"]["input_tokens"], 50)
        delta = [d for n, d in ev if n == "message_delta"][0]
        self.assertEqual(delta["usage"]["input_tokens"], 50)
        text = "".join(d["delta"].get("text", "") for n, d in ev if n == "content_block_delta")
        self.assertIn("hello", text)
        self.assertTrue(self.upstream("/v1/messages")["body"]["stream"])
        row = self.rows_for("anth", 1)[-1]
        self.assertEqual(row["stream"], 1)
        self.assertEqual(row["input_tokens"], 50)
        self.assertGreater(row["output_tokens"], 0)

    def test_anthropic_bearer_without_adjustment(self):
        self.s.fake.config(usage={"input_tokens": 100, "cache_read_input_tokens": 30,
                                  "cache_creation_input_tokens": 20})
        status, _, body = self.s.json("POST", "/anthb/v1/messages", hello("prov-claude"))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["usage"]["input_tokens"], 100)
        h = self.upstream("/v1/messages")["headers"]
        self.assertEqual(h["authorization"], "Bearer " + PROVIDER_KEY)
        self.assertNotIn("x-api-key", h)
        self.assert_no_client_key()

    def test_anthropic_upstream_error_keeps_status_in_anthropic_envelope(self):
        body = hello("prov-claude")
        del body["max_tokens"]
        status, _, got = self.s.json("POST", "/anth/v1/messages", body)
        self.assertEqual(status, 400)
        self.assertEqual(got["type"], "error")
        self.assertIn("max_tokens", got["error"]["message"])
        self.s.fake.fault(path="/v1/messages", kind="status", status=529,
                          body={"type": "error", "error": {"type": "overloaded_error",
                                                           "message": "Overloaded"}})
        status, _, got = self.s.json("POST", "/anth/v1/messages", hello("prov-claude"))
        self.assertEqual(status, 529)
        self.assertEqual(got["error"], {"type": "overloaded_error", "message": "Overloaded"})

    # -- openai-compatible -------------------------------------------------

    def test_openai_compatible_request_translation(self):
        body = hello("qwen-plus", enable_thinking=False, temperature=0.4)
        status, _, got = self.s.json("POST", "/dashscope/v1/messages", body,
                                     headers={"anthropic-version": "2023-06-01",
                                              "user-agent": "sdk/1"})
        self.assertEqual(status, 200, got)
        self.assertEqual(got["type"], "message")
        self.assertEqual(got["model"], "qwen-plus")
        self.assertIn("hello", got["content"][-1]["text"])
        self.assertEqual(got["stop_reason"], "end_turn")
        up = self.upstream("/v1/chat/completions")
        b = up["body"]
        self.assertEqual(b["enable_thinking"], False)
        self.assertEqual(b["preserve_thinking"], True)
        self.assertEqual((b["temperature"], b["top_p"], b["top_k"]), (0.4, 0.8, 50))
        self.assertEqual(b["max_tokens"], 128)
        self.assertIs(b["parallel_tool_calls"], True)
        self.assertNotIn("stream_options", b)
        self.assertEqual(b["messages"], [{"role": "user", "content": [
            {"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}}]}])
        h = up["headers"]
        self.assertEqual(h["authorization"], "Bearer " + PROVIDER_KEY)
        self.assertNotIn("anthropic-version", h)
        self.assertNotIn("x-api-key", h)
        self.assertEqual(h["user-agent"], "sdk/1")
        self.assert_no_client_key()

    def test_openai_compatible_reasoning_and_usage(self):
        self.s.fake.config(reasoning_text="thinking text", answer_text="answer text",
                           usage={"prompt_tokens": 8, "completion_tokens": 2,
                                  "cached_tokens": 1, "cache_creation_input_tokens": 2})
        body = hello("qwen-plus", thinking={"type": "enabled", "budget_tokens": 4096})
        status, _, got = self.s.json("POST", "/dashscope/v1/messages", body)
        self.assertEqual(status, 200, got)
        self.assertEqual(got["content"][0]["type"], "thinking")
        self.assertEqual(got["content"][0]["thinking"], "thinking text")
        self.assertEqual(got["content"][1], {"type": "text", "text": "answer text"})
        self.assertEqual(got["usage"], {"input_tokens": 5, "output_tokens": 2,
                                        "cache_read_input_tokens": 1,
                                        "cache_creation_input_tokens": 2})
        b = self.upstream("/v1/chat/completions")["body"]
        self.assertEqual(b["thinking_budget"], 4096)
        self.assertNotIn("thinking", b)

    def test_dashscope_fields_only_for_dashscope(self):
        """1.14.7 (33e11fd, 46c3efb): another openai-compatible provider gets
        no thinking_budget from the request, no preserve_thinking of ours
        and no context-cache markers (unless its model says contextCache)."""
        body = hello("qwen-plus", thinking={"type": "enabled", "budget_tokens": 4096},
                     system="be brief")
        status, _, got = self.s.json("POST", "/dash/v1/messages", body)
        self.assertEqual(status, 200, got)
        b = self.upstream("/v1/chat/completions")["body"]
        self.assertNotIn("thinking_budget", b)
        self.assertEqual(b["preserve_thinking"], True)          # its own extraBody
        self.assertEqual(b["messages"], [{"role": "system", "content": "be brief"},
                                         {"role": "user", "content": "hello"}])
        status, _, got = self.s.json("POST", "/dashscope/v1/messages", body)
        self.assertEqual(status, 200, got)
        b = self.upstream("/v1/chat/completions")["body"]
        self.assertEqual(b["thinking_budget"], 4096)
        self.assertEqual(b["preserve_thinking"], True)          # DashScope's default
        self.assertEqual([m["content"][-1]["cache_control"] for m in b["messages"]],
                         [{"type": "ephemeral"}] * 2)

    def test_openai_compatible_stream(self):
        ev = self.stream_events("/dash/v1/messages", hello("qwen-plus", "one two three",
                                                           stream=True))
        names = [n for n, _ in ev]
        self.assertEqual(names[0], "message_start")
        self.assertEqual(names[-1], "message_stop")
        text = "".join(d["delta"].get("text", "") for n, d in ev if n == "content_block_delta")
        self.assertIn("one two three", text)
        delta = [d for n, d in ev if n == "message_delta"][0]
        self.assertGreater(delta["usage"]["output_tokens"], 0)
        b = self.upstream("/v1/chat/completions")["body"]
        self.assertEqual(b["stream_options"], {"include_usage": True})
        row = self.rows_for("dash", 1)[-1]
        self.assertEqual((row["stream"], row["endpoint"]), (1, "provider_messages"))
        self.assertGreater(row["output_tokens"], 0)

    def test_configured_price_is_the_row_cost(self):
        # 1000 prompt tokens: 200 read, 100 written (so the read is an
        # explicit one, at 0.2), 700 fresh; 100 out; per 1M tokens, in CNY
        self.s.fake.config(usage={"prompt_tokens": 1000, "completion_tokens": 100,
                                  "cached_tokens": 200, "cache_creation_input_tokens": 100})
        status, _, got = self.s.json("POST", "/dash/v1/messages", hello("qwen-plus"))
        self.assertEqual(status, 200, got)
        row = self.rows_for("dash", 1)[-1]
        self.assertEqual((row["input_tokens"], row["cache_read_input_tokens"],
                          row["cache_creation_input_tokens"]), (700, 200, 100))
        self.assertEqual((row["cost_currency"], row["cost_source"], row["total_cost_nanos"]),
                         ("CNY", "config", 700 * 2000 + 100 * 8000 + 200 * 200 + 100 * 2500))
        self.assertIsNone(row["total_nano_aiu"])
        status, _, doc = self.s.json("GET", "/token-usage/events?page_size=100")
        ev = [i for i in doc["items"] if i["trace_id"] == row["trace_id"]][0]
        self.assertEqual(ev["cost"], {"amount": 0.00249, "currency": "CNY",
                                      "total_cost_nanos": 2490000, "source": "config"})

    def test_openai_compatible_error_is_relayed(self):
        self.s.fake.fault(path="/v1/chat/completions", kind="status", status=429,
                          body={"error": {"message": "slow down", "type": "rate_limit"}},
                          headers={"Retry-After": "7", "x-ratelimit-remaining": "0"})
        status, headers, got = self.s.json("POST", "/dash/v1/messages", hello("qwen-plus"))
        self.assertEqual(status, 429)
        self.assertEqual(got["type"], "error")
        self.assertEqual(got["error"]["message"], "slow down")
        self.assertEqual(headers.get("retry-after"), "7")
        row = self.rows_for("dash", 1)[-1]
        self.assertEqual(row["source"], "provider")

    # -- openai-responses --------------------------------------------------

    def test_openai_responses_translation(self):
        status, _, got = self.s.json("POST", "/resp/v1/messages",
                                     hello("prov-responses-1", "hi responses"))
        self.assertEqual(status, 200, got)
        self.assertEqual(got["type"], "message")
        self.assertIn("hi responses", got["content"][-1]["text"])
        up = self.upstream("/v1/responses")
        self.assertEqual(up["body"]["model"], "prov-responses-1")
        self.assertEqual(up["body"]["temperature"], 1)
        self.assertEqual(up["headers"]["authorization"], "Bearer " + PROVIDER_KEY)
        self.assert_no_client_key()
        ev = self.stream_events("/resp/v1/messages",
                                hello("prov-responses-1", "streamed words", stream=True))
        self.assertEqual(ev[0][0], "message_start")
        self.assertEqual(ev[-1][0], "message_stop")
        text = "".join(d["delta"].get("text", "") for n, d in ev if n == "content_block_delta")
        self.assertIn("streamed words", text)

    def test_openai_responses_stream_without_completion(self):
        self.s.fake.fault(path="/v1/responses", kind="drop_after", events=4)
        ev = self.stream_events("/resp/v1/messages",
                                hello("prov-responses-1", "a b c d e f", stream=True))
        self.assertEqual(ev[-1][0], "error")
        self.assertEqual(ev[-1][1]["error"]["message"],
                         "resp stream ended without a completion event")
        row = self.rows_for("resp", 1)[-1]
        self.assertEqual(row["status"], 502)

    # -- resolution --------------------------------------------------------

    def test_unknown_disabled_and_signed_out_codex_are_not_found(self):
        for name in ("nope", "off", "copilot"):
            status, _, got = self.s.json("POST", "/%s/v1/messages" % name, hello("m"))
            self.assertEqual(status, 404)
            self.assertEqual(got["error"]["type"], "invalid_request_error")
            self.assertEqual(got["error"]["message"],
                             "Provider '%s' not found or disabled" % name)
        status, _, got = self.s.json("POST", "/codex/v1/messages", hello("gpt-5.3-codex"))
        self.assertEqual(status, 404)
        self.assertIn("not signed in: run `copilot-api auth login --provider codex`",
                      got["error"]["message"])
        status, _, got = self.s.json("GET", "/nope/v1/models")
        self.assertEqual(status, 404)
        self.assertEqual(got["error"]["message"], "Provider 'nope' not found or disabled")
        self.assertEqual(self.s.fake.requests("/v1/messages"), [])

    # -- aliases -----------------------------------------------------------

    def test_alias_on_messages(self):
        status, _, got = self.s.json("POST", "/v1/messages", hello(" dash / qwen-plus "))
        self.assertEqual(status, 200, got)
        self.assertEqual(got["model"], "qwen-plus")
        self.assertEqual(self.upstream("/v1/chat/completions")["body"]["model"], "qwen-plus")
        # through modelMappings too
        status, _, got = self.s.json("POST", "/v1/messages", hello("claude-opus-4-7", "mapped"))
        self.assertEqual(status, 200, got)
        self.assertEqual(self.upstream("/v1/chat/completions")["body"]["model"], "qwen-plus")
        # an unknown provider does not fall back to Copilot
        status, _, got = self.s.json("POST", "/v1/messages", hello("nope/gpt-4.1"))
        self.assertEqual(status, 404)
        self.assertEqual(got["error"]["message"], "Provider 'nope' not found or disabled")
        self.assertEqual(self.s.fake.requests("/chat/completions"), [])
        self.assert_no_client_key()
        rows = self.rows_for("dash", 2)
        self.assertEqual(rows[-1]["endpoint"], "provider_messages")

    def test_alias_on_responses(self):
        body = {"model": "resp/prov-responses-1", "input": "alias input"}
        status, _, got = self.s.json("POST", "/v1/responses", body)
        self.assertEqual(status, 200, got)
        self.assertEqual(got["object"], "response")
        self.assertEqual(got["model"], "prov-responses-1")
        up = self.upstream("/v1/responses")
        self.assertEqual(up["body"], {"model": "prov-responses-1", "input": "alias input"})
        self.assertEqual(up["headers"]["authorization"], "Bearer " + PROVIDER_KEY)
        ev = self.stream_events("/v1/responses", dict(body, stream=True))
        names = [n for n, _ in ev]
        self.assertEqual(names[0], "response.created")
        self.assertEqual(names[-1], "response.completed")
        self.assertEqual(self.s.fake.requests("/responses"), [])
        for name in ("dash", "nope", "off"):
            status, _, got = self.s.json("POST", "/v1/responses",
                                         {"model": name + "/qwen-plus", "input": "x"})
            self.assertEqual(status, 400)
            self.assertEqual(got["error"]["message"],
                             "Provider '%s' does not support the /v1/responses endpoint" % name)
        rows = self.rows_for("resp", 2)
        self.assertEqual((rows[-1]["endpoint"], rows[-1]["source"]), ("responses", "provider"))
        self.assert_no_client_key()

    def test_alias_on_chat_completions(self):
        body = {"model": "dash/qwen-plus", "messages": [{"role": "user", "content": "chat alias"}],
                "temperature": 0.5}
        status, _, got = self.s.json("POST", "/v1/chat/completions", body,
                                     headers={"user-agent": "openai-python/1.0"})
        self.assertEqual(status, 200, got)
        self.assertEqual(got["object"], "chat.completion")
        self.assertIn("chat alias", got["choices"][0]["message"]["content"])
        up = self.upstream("/v1/chat/completions")
        # the OpenAI body relayed with the model's options: its defaults
        # where the client gave none, extraBody keys it lacks; no stream
        # options, no cache markers (contextCache unset, not DashScope)
        self.assertEqual(up["body"], {
            "model": "qwen-plus", "messages": [{"role": "user", "content": "chat alias"}],
            "temperature": 0.5, "top_p": 0.8, "top_k": 50,
            "enable_thinking": True, "preserve_thinking": True})
        self.assertEqual(up["headers"]["authorization"], "Bearer " + PROVIDER_KEY)
        self.assertEqual(up["headers"]["user-agent"], "openai-python/1.0")
        self.assertEqual(self.s.fake.requests("/chat/completions"), [])
        # streamed: include_usage is asked for, the chunks are relayed
        ev = self.stream_events("/v1/chat/completions", dict(body, stream=True))
        self.assertEqual(ev[-1], (None, "[DONE]"))
        text = "".join((d["choices"][0]["delta"].get("content") or "")
                       for _, d in ev[:-1] if d.get("choices"))
        self.assertIn("chat alias", text)
        self.assertTrue(any(d.get("usage") for _, d in ev[:-1]))
        self.assertEqual(self.upstream("/v1/chat/completions")["body"]["stream_options"],
                         {"include_usage": True})
        # through modelMappings, which now applies to chat completions too
        status, _, got = self.s.json("POST", "/v1/chat/completions",
                                     dict(body, model="claude-opus-4-7"))
        self.assertEqual(status, 200, got)
        self.assertEqual(self.upstream("/v1/chat/completions")["body"]["model"], "qwen-plus")
        rows = self.rows_for("dash", 3)
        self.assertEqual([(r["source"], r["endpoint"], r["model"], r["stream"])
                          for r in rows[-3:]],
                         [("provider", "chat_completions", "qwen-plus", 0),
                          ("provider", "chat_completions", "qwen-plus", 1),
                          ("provider", "chat_completions", "qwen-plus", 0)])
        self.assertGreater(rows[-2]["output_tokens"], 0)
        self.assert_no_client_key()

    def test_alias_on_chat_refuses_other_types(self):
        before = len(self.s.usage_rows())
        for name in ("resp", "anth", "nope", "off"):
            status, _, got = self.s.json("POST", "/v1/chat/completions", {
                "model": name + "/m", "messages": [{"role": "user", "content": "x"}]})
            self.assertEqual(status, 400, got)
            self.assertEqual(got["error"], {
                "message": "Provider '%s' does not support the /v1/chat/completions endpoint"
                % name, "type": "invalid_request_error"})
        # the provider's failure in the OpenAI dialect
        self.s.fake.fault(path="/v1/chat/completions", kind="status", status=500,
                          body={"error": {"message": "provider down"}})
        status, _, got = self.s.json("POST", "/v1/chat/completions", {
            "model": "dash/qwen-plus", "messages": [{"role": "user", "content": "x"}]})
        self.assertEqual(status, 500)
        self.assertEqual(got["error"]["message"], "provider down")
        self.assertEqual(self.s.fake.requests("/chat/completions"), [])
        self.assertEqual(self.rows_for("dash", 1)[-1]["status"], 500)
        self.assertEqual(len(self.s.usage_rows()), before + 1)   # refusals write none

    def test_provider_responses_route(self):
        body = {"model": "prov-responses-1", "input": "path route"}
        status, _, got = self.s.json("POST", "/resp/v1/responses", body)
        self.assertEqual(status, 200, got)
        self.assertEqual((got["object"], got["model"]), ("response", "prov-responses-1"))
        self.assertEqual(self.upstream("/v1/responses")["body"], body)
        ev = self.stream_events("/resp/v1/responses", dict(body, stream=True))
        self.assertEqual(ev[-1][0], "response.completed")
        # modelMappings on /v1/responses, to a provider alias
        status, _, got = self.s.json("POST", "/v1/responses", dict(body, model="map-resp"))
        self.assertEqual(status, 200, got)
        self.assertEqual(self.upstream("/v1/responses")["body"]["model"], "prov-responses-1")
        for name in ("dash", "anth", "nope", "off"):
            status, _, got = self.s.json("POST", "/%s/v1/responses" % name, body)
            self.assertEqual(status, 400, got)
            self.assertEqual(got["error"]["message"],
                             "Provider '%s' does not support the /v1/responses endpoint" % name)
        status, _, got = self.s.json("POST", "/resp/v1/responses", {"input": "x"})
        self.assertEqual(status, 400)
        self.assertIn('"model"', got["error"]["message"])
        self.assertEqual(self.s.fake.requests("/responses"), [])
        rows = self.rows_for("resp", 3)
        self.assertEqual([(r["endpoint"], r["source"]) for r in rows[-3:]],
                         [("responses", "provider")] * 3)
        self.assert_no_client_key()

    def test_responses_stream_opening_with_an_error_is_an_http_error(self):
        """1.14.7 (141f86f): no stream, the event's status_code (else 502),
        its message in the OpenAI shape, one usage row."""
        body = {"model": "prov-responses-1", "input": "first error", "stream": True}
        self.s.fake.config(stream_error={"at": "start", "status_code": 429,
                                         "code": "rate_limit_exceeded", "message": "slow down"})
        status, headers, got = self.s.json("POST", "/resp/v1/responses", body)
        self.assertEqual(status, 429, got)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.assertEqual(got["error"], {"message": "slow down", "type": "rate_limit_error"})
        self.s.fake.config(stream_error={"at": "start", "code": "server_error",
                                         "message": "broken"})
        status, _, got = self.s.json("POST", "/v1/responses", dict(body, model="resp/prov-responses-1"))
        self.assertEqual((status, got["error"]["message"]), (502, "broken"))
        # later in the stream it stays an error event
        self.s.fake.config(stream_error={"code": "server_error", "message": "late"})
        ev = self.stream_events("/resp/v1/responses", body)
        self.assertEqual(ev[-1][0], "error")
        rows = self.rows_for("resp", 3)
        self.assertEqual([r["status"] for r in rows[-3:]][:2], [429, 502])

    def test_responses_stream_that_ends_before_any_event_is_a_502(self):
        """1.14.7 (a352e47): a 2xx stream with no event is no stream but a
        502 naming the provider, with its usage row."""
        body = {"model": "prov-responses-1", "input": "nothing", "stream": True}
        self.s.fake.fault(path="/v1/responses", kind="status", status=200, body="",
                          headers={"Content-Type": "text/event-stream"}, times=1)
        status, headers, got = self.s.json("POST", "/resp/v1/responses", body)
        self.assertEqual(status, 502, got)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.assertEqual(got["error"]["message"], "Empty stream from resp responses")
        rows = self.rows_for("resp", 1)
        self.assertEqual(rows[-1]["status"], 502)
        # a stream with events is relayed as before
        ev = self.stream_events("/resp/v1/responses", body)
        self.assertEqual(ev[-1][0], "response.completed")

    def test_models_lists_provider_models(self):
        status, _, got = self.s.json("GET", "/v1/models")
        self.assertEqual(status, 200, got)
        ids = [m["id"] for m in got["data"]]
        self.assertIn("gpt-4.1", ids)
        # every enabled provider's list, in config order, after Copilot's;
        # not the disabled one, nor codex while signed out
        prov = [i for i in ids if "/" in i]
        self.assertEqual(prov, ["%s/%s" % (p, m) for p in ("anth", "anthb", "dash", "dashscope",
                                                                "resp")
                                for m in ("qwen-plus", "qwen-max", "prov-responses-1")])
        self.assertEqual(ids.index("anth/qwen-plus"), len(ids) - len(prov))
        m = got["data"][ids.index("dash/qwen-max")]
        self.assertEqual((m["object"], m["type"], m["owned_by"], m["display_name"],
                          m["created"], m["created_at"]),
                         ("model", "model", "fake-provider", "qwen-max", 1700000000,
                          "1970-01-01T00:00:00.000Z"))
        self.assertEqual(len(self.s.fake.requests("/v1/models")), 5)
        # a provider whose list fails is left out; the rest still show
        self.s.fake.fault(path="/v1/models", kind="status", status=503,
                          body={"error": {"message": "models down"}})
        status, _, got = self.s.json("GET", "/models")
        self.assertEqual(status, 200, got)
        prov = [m["id"] for m in got["data"] if "/" in m["id"]]
        self.assertEqual(prov[0], "anthb/qwen-plus")
        self.assertEqual(len(prov), 12)
        self.assert_no_client_key()

    # -- count_tokens and models -------------------------------------------

    def test_count_tokens_is_local(self):
        body = hello("qwen-plus", "How many tokens is this sentence?")
        status, _, direct = self.s.json("POST", "/dash/v1/messages/count_tokens", body)
        self.assertEqual(status, 200, direct)
        self.assertGreater(direct["input_tokens"], 0)
        status, _, alias = self.s.json("POST", "/v1/messages/count_tokens",
                                       dict(body, model="dash/qwen-plus"))
        self.assertEqual((status, alias), (200, direct))
        # Copilot's local estimate of a model it does not know: same o200k
        # count, as neither adds overhead nor a multiplier there.
        status, _, copilot = self.s.json("POST", "/v1/messages/count_tokens", body)
        self.assertEqual((status, copilot), (200, direct))
        # a claude model name gets no multiplier on the provider route
        status, _, claude = self.s.json("POST", "/anth/v1/messages/count_tokens",
                                        dict(body, model="claude-sonnet-4.6"))
        self.assertEqual((status, claude), (200, direct))
        status, _, got = self.s.json("POST", "/nope/v1/messages/count_tokens", body)
        self.assertEqual(status, 404)
        self.assertEqual(self.s.fake.requests("/v1/messages/count_tokens"), [])
        self.assertEqual(self.s.fake.requests("/v1/chat/completions"), [])

    def test_models_proxy(self):
        status, headers, got = self.s.json("GET", "/dash/v1/models")
        self.assertEqual(status, 200, got)
        self.assertIn("qwen-plus", [m["id"] for m in got["data"]])
        self.assertNotIn("x-request-id", headers)
        self.assertEqual(self.upstream("/v1/models")["headers"]["authorization"],
                         "Bearer " + PROVIDER_KEY)
        status, _, got = self.s.json("GET", "/anth/v1/models")
        self.assertEqual(status, 200)
        self.assertEqual(self.upstream("/v1/models")["headers"]["x-api-key"], PROVIDER_KEY)
        self.s.fake.fault(path="/v1/models", kind="status", status=503,
                          body={"error": {"message": "models down"}})
        status, _, got = self.s.json("GET", "/resp/v1/models")
        self.assertEqual((status, got), (503, {"error": {"message": "models down"}}))
        # the fixed route still wins over the pattern
        status, _, got = self.s.json("GET", "/v1/models")
        self.assertEqual(status, 200)
        self.assertIn("gpt-4.1", [m["id"] for m in got["data"]])
        self.assert_no_client_key()


@unittest.skipIf(harness.VALGRIND_SKIP, harness.VALGRIND_SKIP)
class ProvidersValgrind(unittest.TestCase):
    """Every provider flow, streamed and not, failing and not, under
    valgrind: no memory error, no leak."""

    def test_provider_flows_leak_nothing(self):
        s = provider_stack(threads=2, wrapper=[
            shutil.which("valgrind"), "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--error-exitcode=99", "--child-silent-after-fork=yes",
            "--log-file={workdir}/vg.%p.log"])
        try:
            for i in range(8):
                for path, model in (("/anth/v1/messages", "prov-claude"),
                                    ("/dash/v1/messages", "qwen-plus"),
                                    ("/resp/v1/messages", "prov-responses-1"),
                                    ("/v1/messages", "dash/qwen-plus")):
                    self.assertEqual(s.json("POST", path, hello(model))[0], 200)
                    resp, conn = s.stream(path, hello(model, stream=True))
                    kinds = [e for e, _ in read_sse(resp)]
                    conn.close()
                    self.assertEqual(kinds[-1], "message_stop", kinds)
                self.assertEqual(s.request("POST", "/v1/responses", {
                    "model": "resp/prov-responses-1", "input": "x", "stream": i % 2 == 0})[0], 200)
                self.assertEqual(s.json("POST", "/dash/v1/messages/count_tokens",
                                        hello("qwen-plus"))[0], 200)
                self.assertEqual(s.json("GET", "/dash/v1/models")[0], 200)
                self.assertEqual(s.json("GET", "/v1/models")[0], 200)
                chat = {"model": "dash/qwen-plus", "stream": i % 2 == 0,
                        "messages": [{"role": "user", "content": "x"}]}
                self.assertEqual(s.request("POST", "/v1/chat/completions", chat)[0], 200)
                self.assertEqual(s.json("POST", "/v1/chat/completions",
                                        dict(chat, model="resp/x"))[0], 400)
                self.assertEqual(s.request("POST", "/resp/v1/responses", {
                    "model": "prov-responses-1", "input": "x", "stream": i % 2 == 1})[0], 200)
                self.assertEqual(s.json("POST", "/nope/v1/messages", hello("m"))[0], 404)
                s.fake.fault(path="/v1/chat/completions", kind="status", status=429,
                             body={"error": {"message": "x"}}, headers={"Retry-After": "1"})
                self.assertEqual(s.json("POST", "/dash/v1/messages", hello("qwen-plus"))[0], 429)
                s.fake.fault(path="/v1/responses", kind="drop_after", events=3)
                resp, conn = s.stream("/resp/v1/messages",
                                      hello("prov-responses-1", "a b c d", stream=True))
                kinds = [e for e, _ in read_sse(resp)]
                conn.close()
                self.assertEqual(kinds[-1], "error")
            s.fcgi.send_signal(signal.SIGTERM)
            s.fcgi.wait(timeout=120)
            self.assertEqual(s.fcgi.returncode, 0, s.log_text()[-3000:])
            text = ""
            for f in os.listdir(s.workdir):
                if re.match(r"vg\.\d+\.log$", f):
                    with open(os.path.join(s.workdir, f)) as fh:
                        text += fh.read()
        finally:
            s.close()
        self.assertIn("ERROR SUMMARY: 0 errors", text, text[-4000:])
        self.assertNotIn("definitely lost: ", text.replace("definitely lost: 0 bytes", ""),
                         text[-4000:])


if __name__ == "__main__":
    unittest.main()
