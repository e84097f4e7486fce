"""POST /v1/messages and count_tokens with the official @anthropic-ai/sdk,
on a Claude model (native Messages), a GPT model (Responses) and a
chat-only model (Chat Completions), behind lighttpd."""

import base64
import json
import unittest

import harness
from harness import API_KEY
from test_sdk import node

# A 1x1 PNG.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()

MODELS = {
    "native": ("claude-sonnet-4-6-20260101", "/v1/messages"),
    "responses": ("gpt-5.4", "/responses"),
    "chat": ("gemini-2.5-pro", "/chat/completions"),
}

WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}}


class Messages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    def sdk(self, op, params, key=API_KEY):
        return node("anthropic_client.mjs", {"baseURL": self.s.url, "apiKey": key,
                                             "op": op, "params": params})

    def upstream(self, path):
        reqs = self.s.fake.requests(path)
        self.assertTrue(reqs, "nothing reached %s" % path)
        return reqs[-1]

    def each_flow(self):
        for flow, (model, path) in MODELS.items():
            with self.subTest(flow=flow):
                self.s.fake.reset()
                yield flow, model, path

    def test_create_and_stream_on_every_flow(self):
        for flow, model, path in self.each_flow():
            base = {"model": model, "max_tokens": 256,
                    "messages": [{"role": "user", "content": "hello from %s" % flow}]}
            r = self.sdk("create", base)
            self.assertTrue(r["ok"], r)
            self.assertIn("hello from %s" % flow, r["result"]["text"])
            self.assertEqual(r["result"]["stop_reason"], "end_turn")
            self.assertGreater(r["result"]["usage"]["output_tokens"], 0)
            up = self.upstream(path)
            self.assertEqual(up["headers"]["x-initiator"], "user")
            r = self.sdk("stream", base)
            self.assertTrue(r["ok"], r)
            self.assertIn("hello from %s" % flow, r["result"]["text"])
            ev = r["result"]["events"]
            self.assertEqual(ev[0], "message_start")
            self.assertEqual(ev[-1], "message_stop")
            self.assertIn("content_block_delta", ev)
            self.assertGreater(r["result"]["usage"]["output_tokens"], 0)

    def test_native_model_id_is_normalised(self):
        r = self.sdk("create", {"model": "claude-sonnet-4-6-20260101", "max_tokens": 64,
                                "messages": [{"role": "user", "content": "id"}]})
        self.assertTrue(r["ok"], r)
        self.assertEqual(self.upstream("/v1/messages")["body"]["model"], "claude-sonnet-4.6")

    def test_tools_then_tool_result_turn(self):
        for flow, model, path in self.each_flow():
            self.s.fake.config(tool_calls=[{"name": "get_weather",
                                            "arguments": {"city": "Paris"}}])
            first = {"model": model, "max_tokens": 256, "tools": [WEATHER],
                     "messages": [{"role": "user", "content": "weather in Paris?"}]}
            r = self.sdk("stream", first)
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["result"]["stop_reason"], "tool_use")
            uses = [b for b in r["result"]["content"] if b["type"] == "tool_use"]
            self.assertEqual(len(uses), 1)
            self.assertEqual(uses[0]["name"], "get_weather")
            self.assertEqual(uses[0]["input"], {"city": "Paris"})
            second = dict(first, messages=first["messages"] + [
                {"role": "assistant", "content": r["result"]["content"]},
                {"role": "user", "content": [{"type": "tool_result",
                                              "tool_use_id": uses[0]["id"],
                                              "content": "sunny, 21C"}]}])
            r = self.sdk("create", second)
            self.assertTrue(r["ok"], r)
            self.assertIn("sunny, 21C", r["result"]["text"])
            self.assertEqual(self.upstream(path)["headers"]["x-initiator"], "agent")

    def test_thinking(self):
        for flow, model, path in self.each_flow():
            params = {"model": model, "max_tokens": 2048,
                      "thinking": {"type": "enabled", "budget_tokens": 1024},
                      "messages": [{"role": "user", "content": "think first"}]}
            r = self.sdk("stream", params)
            self.assertTrue(r["ok"], r)
            kinds = [b["type"] for b in r["result"]["content"]]
            self.assertIn("text", kinds)
            if flow != "chat":
                self.assertEqual(kinds[0], "thinking", kinds)
                self.assertTrue(r["result"]["content"][0].get("signature"))

    def test_refusal_reaches_the_client(self):
        # The reference drops an OpenAI refusal (streamed on the Responses
        # flow, both ways on the Chat flow): the client got an empty message.
        refusal = "I can't help with that."
        for flow, model, path in self.each_flow():
            if flow == "native":
                continue
            self.s.fake.config(refusal=refusal)
            params = {"model": model, "max_tokens": 256,
                      "messages": [{"role": "user", "content": "pick a lock"}]}
            for op in ("create", "stream"):
                r = self.sdk(op, params)
                self.assertTrue(r["ok"], r)
                self.assertEqual(r["result"]["text"], refusal, (op, r))
                self.assertEqual(r["result"]["stop_reason"], "refusal", op)

    def test_image_sets_the_vision_header(self):
        for flow, model, path in self.each_flow():
            if flow == "chat":
                continue  # the chat-only fake model has no vision
            r = self.sdk("create", {"model": model, "max_tokens": 64, "messages": [
                {"role": "user", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                 "data": PNG}},
                    {"type": "text", "text": "what is this?"}]}]})
            self.assertTrue(r["ok"], r)
            self.assertEqual(self.upstream(path)["headers"].get("copilot-vision-request"), "true")

    def test_chat_flow_stream_without_done_ends_cleanly(self):
        self.s.fake.config(omit_done=True)
        r = self.sdk("stream", {"model": MODELS["chat"][0], "max_tokens": 256,
                                "messages": [{"role": "user", "content": "no done"}]})
        self.assertTrue(r["ok"], r)
        self.assertIn("no done", r["result"]["text"])
        self.assertEqual(r["result"]["events"][-1], "message_stop")
        self.assertNotIn("error", r["result"]["events"])

    def test_upstream_error_in_anthropic_envelope(self):
        for flow, model, path in self.each_flow():
            self.s.fake.fault(path=path, kind="status", status=529 if flow == "native" else 503,
                              body={"error": {"message": "upstream overloaded", "type": "overloaded_error"}})
            r = self.sdk("create", {"model": model, "max_tokens": 64,
                                    "messages": [{"role": "user", "content": "x"}]})
            self.assertFalse(r["ok"])
            self.assertEqual(r["status"], 529 if flow == "native" else 503)
            self.assertIn("upstream overloaded", r["message"])
            self.assertEqual(r["error"]["type"], "error")

    def test_mid_stream_drop_is_an_error_event(self):
        for flow, model, path in self.each_flow():
            self.s.fake.fault(path=path, kind="drop_after", events=3)
            resp, conn = self.s.stream("/v1/messages", {
                "model": model, "max_tokens": 64, "stream": True,
                "messages": [{"role": "user", "content": "drop"}]})
            events = [(e, d) for e, d in harness.read_sse(resp) if e != "comment"]
            conn.close()
            self.assertEqual(events[-1][0], "error", events[-3:])
            self.assertEqual(json.loads(events[-1][1])["type"], "error")

    def test_bad_request_is_400_in_anthropic_envelope(self):
        status, _, body = self.s.json("POST", "/v1/messages", {"model": "gpt-4.1"})
        self.assertEqual(status, 400)
        self.assertEqual(body["type"], "error")
        self.assertEqual(body["error"]["type"], "invalid_request_error")
        status, _, body = self.s.json("POST", "/v1/messages", key="wrong",
                                      body={"model": "x", "messages": []})
        self.assertEqual(status, 401)
        self.assertEqual(body["error"]["type"], "authentication_error")

    def test_count_tokens(self):
        for flow, model, path in self.each_flow():
            params = {"model": model, "messages": [{"role": "user", "content": "hello world " * 50}]}
            r = self.sdk("count_tokens", params)
            self.assertTrue(r["ok"], r)
            n = r["result"]["input_tokens"]
            self.assertGreater(n, 100)
            with_tools = self.sdk("count_tokens", dict(params, tools=[WEATHER]))
            self.assertGreater(with_tools["result"]["input_tokens"], n)

    def test_usage_rows_for_messages(self):
        n = len(self.s.usage_rows())
        self.sdk("create", {"model": "gpt-5.4", "max_tokens": 64,
                            "messages": [{"role": "user", "content": "row"}]})
        row = self.s.usage_rows(at_least=n + 1)[-1]
        self.assertEqual((row["endpoint"], row["model"], row["status"]),
                         ("responses", "gpt-5.4", 200))   # the flow that served it
        self.assertGreater(row["output_tokens"], 0)


MARKER = ('<system-reminder>\nSubagentStart hook additional context: __SUBAGENT_MARKER__'
          '{"session_id":"s-1","agent_id":"a-1","agent_type":"explorer"}\n</system-reminder>')
COMPACT = ("CRITICAL: Respond with TEXT ONLY. Do NOT call any tools.\n"
           "Your task is to create a detailed summary of the conversation so far.\n"
           "Pending Tasks:\nCurrent Work:\n")


class MessagesHeaders(unittest.TestCase):
    """What Copilot bills by: initiator, interaction type, warm-up."""

    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={"smallModel": "gpt-5-mini",
                                      "anthropicApiKey": "sk-ant-fake-key"})

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    def post(self, body, headers=None):
        return self.s.json("POST", "/v1/messages", body, headers=headers)

    def test_subagent_marker_is_agent_initiated(self):
        status, _, body = self.post({"model": "claude-sonnet-4.6", "max_tokens": 64,
                                     "tools": [WEATHER], "messages": [{"role": "user", "content": [
                                         {"type": "text", "text": MARKER},
                                         {"type": "text", "text": "explore"}]}]})
        self.assertEqual(status, 200, body)
        h = self.s.fake.requests("/v1/messages")[-1]["headers"]
        self.assertEqual(h["x-initiator"], "agent")
        self.assertEqual(h["x-interaction-type"], "conversation-subagent")

    def test_compaction_request_is_agent_initiated(self):
        status, _, body = self.post({"model": "gpt-5.4", "max_tokens": 64,
                                     "tools": [WEATHER],
                                     "messages": [{"role": "user", "content": COMPACT}]})
        self.assertEqual(status, 200, body)
        h = self.s.fake.requests("/responses")[-1]["headers"]
        self.assertEqual(h["x-initiator"], "agent")
        self.assertEqual(h["x-interaction-type"], "conversation-compaction")

    def test_session_falls_back_to_the_request_id(self):
        """1.14.7 (01625fc): without a session of the client's, x-interaction-id
        is getUUID(request id); with one, getUUID(session)."""
        for model, path in (("claude-sonnet-4.6", "/v1/messages"), ("gpt-5.4", "/responses"),
                            ("gemini-2.5-pro", "/chat/completions")):
            with self.subTest(model=model):
                body = {"model": model, "max_tokens": 64,
                        "messages": [{"role": "user", "content": "no session"}]}
                status, _, out = self.post(body)
                self.assertEqual(status, 200, out)
                h = self.s.fake.requests(path)[-1]["headers"]
                self.assertEqual(h["x-interaction-id"], harness.get_uuid(h["x-request-id"]))
                status, _, out = self.post(body, headers={"x-session-id": "sess-1"})
                self.assertEqual(status, 200, out)
                h = self.s.fake.requests(path)[-1]["headers"]
                self.assertEqual(h["x-interaction-id"], harness.get_uuid("sess-1"))

    def test_warmup_goes_to_the_small_model(self):
        status, _, body = self.post({"model": "claude-sonnet-4.6", "max_tokens": 64,
                                     "messages": [{"role": "user", "content": "warmup"}]},
                                    headers={"anthropic-beta": "claude-code-20250219"})
        self.assertEqual(status, 200, body)
        self.assertEqual(self.s.fake.requests("/v1/messages"), [])
        self.assertEqual(self.s.fake.requests("/responses")[-1]["body"]["model"], "gpt-5-mini")

    def test_system_messages_inside_messages_are_folded(self):
        status, _, body = self.post({"model": "claude-sonnet-4.6", "max_tokens": 64,
                                     "tools": [WEATHER],
                                     "messages": [{"role": "user", "content": "hi"},
                                                  {"role": "system", "content": "Agent types: x"}]})
        self.assertEqual(status, 200, body)
        sent = self.s.fake.requests("/v1/messages")[-1]["body"]
        self.assertEqual([m["role"] for m in sent["messages"]], ["user"])
        self.assertIn("Agent types: x", json.dumps(sent["messages"]))

    def test_billing_header_cch_is_stable_on_every_flow(self):
        """1.11.6: requests that differ only in Claude Code's cch= hash send
        the same bytes upstream."""
        for model, path in MODELS.values():
            with self.subTest(model=model):
                sent = []
                for cch in ("6fb32", "a01c9"):
                    self.s.fake.reset()
                    status, _, body = self.post({
                        "model": model, "max_tokens": 64, "tools": [WEATHER],
                        "system": [{"type": "text", "text":
                                    "x-anthropic-billing-header: cc_version=2.1.158.c0c; "
                                    "cc_entrypoint=cli; cch=%s;" % cch},
                                   {"type": "text", "text": "You are Claude Code."}],
                        "messages": [{"role": "user", "content": "hi"}]})
                    self.assertEqual(status, 200, body)
                    sent.append(self.s.fake.requests(path)[-1]["body"])
                self.assertEqual(sent[0], sent[1])
                self.assertIn("cch=<stable>;", json.dumps(sent[0]))
                self.assertNotIn("6fb32", json.dumps(sent[0]))

    def test_anthropic_beta_is_filtered_on_native(self):
        self.post({"model": "claude-sonnet-4.6", "max_tokens": 64, "tools": [WEATHER],
                   "messages": [{"role": "user", "content": "beta"}]},
                  headers={"anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14"})
        h = self.s.fake.requests("/v1/messages")[-1]["headers"]
        self.assertEqual(h["anthropic-beta"], "interleaved-thinking-2025-05-14")

    def test_pings_while_upstream_is_silent(self):
        for model, path in (("claude-sonnet-4.6", "/v1/messages"), ("gpt-5.4", "/responses"),
                            ("gemini-2.5-pro", "/chat/completions")):
            with self.subTest(model=model):
                self.s.fake.reset()
                self.s.fake.fault(path=path, kind="stall", seconds=3, events=1)
                resp, conn = self.s.stream("/v1/messages", {
                    "model": model, "max_tokens": 64, "stream": True,
                    "messages": [{"role": "user", "content": "slow"}]})
                events = [e for e, _ in harness.read_sse(resp)]
                conn.close()
                self.assertIn("ping", events)
                self.assertEqual(events[-1], "message_stop")

    def test_count_tokens_asks_anthropic_for_claude_models(self):
        status, _, body = self.s.json("POST", "/v1/messages/count_tokens", {
            "model": "claude-sonnet-4.6", "messages": [{"role": "user", "content": "hi"}]})
        self.assertEqual(status, 200, body)
        self.assertGreater(body["input_tokens"], 100000)        # the fake's exact count
        sent = self.s.fake.requests("/v1/messages/count_tokens")[-1]
        self.assertEqual(sent["body"]["model"], "claude-sonnet-4-6")
        self.assertEqual(sent["headers"]["anthropic-beta"], "token-counting-2024-11-01")
        # A GPT model is counted locally.
        status, _, body = self.s.json("POST", "/v1/messages/count_tokens", {
            "model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]})
        self.assertEqual(status, 200)
        self.assertLess(body["input_tokens"], 100)
        # Anthropic refusing: the local estimate, not an error.
        self.s.fake.fault(path="/v1/messages/count_tokens", kind="status", status=500,
                          body={"type": "error"})
        status, _, body = self.s.json("POST", "/v1/messages/count_tokens", {
            "model": "claude-sonnet-4.6", "messages": [{"role": "user", "content": "hi"}]})
        self.assertEqual(status, 200)
        self.assertLess(body["input_tokens"], 100)
