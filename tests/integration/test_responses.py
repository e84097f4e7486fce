"""POST /v1/responses (Codex CLI, opencode, the openai SDK) behind lighttpd:
the official `openai` client, and the gateway's rewrites seen upstream."""

import json
import unittest

import harness
from harness import API_KEY
from test_sdk import node

TOOL = {"type": "function", "name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}


class Responses(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={"responsesApiContextManagementModels": ["gpt-5.4"],
                                      "useResponsesApiWebSearch": False})

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    def sdk(self, op, params):
        return node("openai_client.mjs", {"baseURL": self.s.url + "/v1", "apiKey": API_KEY,
                                          "op": op, "params": params})

    def sent(self):
        return self.s.fake.requests("/responses")[-1]

    def test_create_and_stream(self):
        r = self.sdk("responses", {"model": "gpt-5.4", "input": "hello responses"})
        self.assertTrue(r["ok"], r)
        self.assertIn("hello responses", r["result"]["text"])
        self.assertEqual(r["result"]["status"], "completed")
        self.assertEqual(self.sent()["headers"]["x-initiator"], "user")
        r = self.sdk("responses_stream", {"model": "gpt-5.4", "input": "stream ✓",
                                          "reasoning": {"effort": "low", "summary": "auto"}})
        self.assertTrue(r["ok"], r)
        self.assertIn("stream ✓", r["result"]["text"])
        self.assertEqual(r["result"]["types"][-1], "response.completed")
        self.assertIn("response.reasoning_summary_text.delta", r["result"]["types"])
        self.assertEqual(r["result"]["mismatched"], [])

    def test_item_ids_are_repaired(self):
        self.s.fake.config(item_id_quirk=True)
        r = self.sdk("responses_stream", {"model": "gpt-5.4", "input": "ids"})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"]["mismatched"], [])

    def test_function_call_then_output_turn(self):
        self.s.fake.config(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
        r = self.sdk("responses_stream", {"model": "gpt-5.4", "tools": [TOOL],
                                          "input": "weather in Oslo?"})
        self.assertTrue(r["ok"], r)
        calls = [o for o in r["result"]["output"] if o["type"] == "function_call"]
        self.assertEqual(len(calls), 1)
        self.assertEqual(json.loads(calls[0]["arguments"]), {"city": "Oslo"})
        second = {"model": "gpt-5.4", "tools": [TOOL], "input": [
            {"role": "user", "content": "weather in Oslo?"},
            {"type": "function_call", "call_id": calls[0]["call_id"], "name": "get_weather",
             "arguments": calls[0]["arguments"]},
            {"type": "function_call_output", "call_id": calls[0]["call_id"],
             "output": "snow, -3C"}]}
        r = self.sdk("responses", second)
        self.assertTrue(r["ok"], r)
        self.assertIn("snow, -3C", r["result"]["text"])
        self.assertEqual(self.sent()["headers"]["x-initiator"], "agent")

    def test_rewrites_seen_upstream(self):
        status, _, body = self.s.json("POST", "/v1/responses", {
            "model": "gpt-5.4", "service_tier": "flex",
            "tools": [TOOL, {"type": "image_generation"}, {"type": "web_search"}],
            "input": [{"role": "user", "content": "old"},
                      {"type": "compaction", "id": "cmp_1", "encrypted_content": "enc"},
                      {"role": "user", "content": [
                          {"type": "input_text", "text": "look"},
                          {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]}]})
        self.assertEqual(status, 200, body)
        up = self.sent()
        b = up["body"]
        self.assertEqual([t["type"] for t in b["tools"]], ["function"])
        self.assertNotIn("service_tier", b)
        self.assertEqual(b["input"][0]["type"], "compaction")          # trimmed before it
        self.assertEqual(b["context_management"][0]["type"], "compaction")
        self.assertGreater(b["context_management"][0]["compact_threshold"], 0)
        self.assertNotIn("reasoning", b)       # modelReasoningEfforts is not applied here
        self.assertEqual(up["headers"]["copilot-vision-request"], "true")

    def test_codex_subagent_is_agent_initiated(self):
        status, _, _ = self.s.json("POST", "/responses", {"model": "gpt-5.4", "input": "review"},
                                   headers={"x-openai-subagent": "review", "session-id": "sess-9"})
        self.assertEqual(status, 200)
        h = self.sent()["headers"]
        self.assertEqual(h["x-initiator"], "agent")
        self.assertEqual(h["x-interaction-type"], "conversation-subagent")   # 1.14.7
        self.assertEqual(h["x-interaction-id"], harness.get_uuid("sess-9"))

    def test_session_header_on_every_request(self):
        """1.14.7 (324c43a): session-id (else x-session-id), trimmed, is the
        session of every request, and part of its request id."""
        def send(headers):
            status, _, body = self.s.json("POST", "/responses",
                                          {"model": "gpt-5.4", "input": "same words"},
                                          headers=headers)
            self.assertEqual(status, 200, body)
            return self.sent()["headers"]

        plain = send({})
        self.assertEqual(plain["x-interaction-id"], harness.get_uuid(plain["x-request-id"]))
        self.assertEqual(plain["x-interaction-type"], "conversation-agent")
        self.assertEqual(plain["x-initiator"], "user")
        a = send({"session-id": " sess-a "})
        self.assertEqual(a["x-interaction-id"], harness.get_uuid("sess-a"))
        self.assertEqual(a["x-interaction-type"], "conversation-agent")
        self.assertEqual(a["x-initiator"], "user")
        self.assertNotEqual(a["x-request-id"], plain["x-request-id"])
        b = send({"x-session-id": "sess-b", "session-id": "  "})
        self.assertEqual(b["x-interaction-id"], harness.get_uuid("sess-b"))
        self.assertNotEqual(b["x-request-id"], a["x-request-id"])
        self.assertEqual(send({"session-id": "sess-a"})["x-request-id"], a["x-request-id"])

    def test_model_without_responses_is_400(self):
        status, _, body = self.s.json("POST", "/v1/responses", {"model": "gpt-4.1", "input": "x"})
        self.assertEqual(status, 400)
        self.assertIn("does not support the responses endpoint", body["error"]["message"])
        self.assertEqual(self.s.fake.requests("/responses"), [])

    def test_failures_reach_the_sdk(self):
        self.s.fake.fault(path="/responses", kind="status", status=500,
                          body={"error": {"message": "responses broke"}})
        r = self.sdk("responses", {"model": "gpt-5.4", "input": "x"})
        self.assertFalse(r["ok"])
        self.assertEqual(r["status"], 500)
        self.assertIn("responses broke", r["message"])
        self.s.fake.fault(path="/responses", kind="drop_after", events=3)
        r = self.sdk("responses_stream", {"model": "gpt-5.4", "input": "x"})
        self.assertFalse(r["ok"], r)
        self.s.fake.config(response_failed={"code": "server_error", "message": "model crashed"})
        resp, conn = self.s.stream("/v1/responses", {"model": "gpt-5.4", "input": "x",
                                                     "stream": True})
        events = [e for e, _ in harness.read_sse(resp) if e != "comment"]
        conn.close()
        self.assertEqual(events[-1], "response.failed")

    def test_incomplete(self):
        self.s.fake.config(incomplete_reason="max_output_tokens")
        r = self.sdk("responses_stream", {"model": "gpt-5.4", "input": "long"})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"]["status"], "incomplete")
        self.assertEqual(r["result"]["types"][-1], "response.incomplete")


class ResponsesToolSearch(unittest.TestCase):
    """The tool_search bridge (`copilot-api mcp`) on /v1/responses: what
    Copilot receives for a GPT >= 5.4 model."""

    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_bridge_tools_and_history_are_rewritten(self):
        def fn(name):
            return {"type": "function", "name": name, "description": name,
                    "parameters": {"type": "object", "properties": {}}}
        sentinel = json.dumps({"type": "copilot_api_tool_search", "names": ["Deploy"]})
        body = {"model": "gpt-5.4", "tools": [fn("Read"), fn("mcp__tool_search__search"),
                                             fn("Deploy"), fn("Audit")],
                "input": [{"role": "user", "content": "deploy it"},
                          {"type": "function_call", "call_id": "c1",
                           "name": "mcp__tool_search__search",
                           "arguments": json.dumps({"names": "Deploy"})},
                          {"type": "function_call_output", "call_id": "c1", "output": sentinel}]}
        self.s.fake.config(validate_history=False)
        status, _, out = self.s.json("POST", "/v1/responses", body)
        self.assertEqual(status, 200, out)
        sent = self.s.fake.requests("/responses")[-1]["body"]
        kinds = {t.get("name", t["type"]): t["type"] for t in sent["tools"]}
        self.assertEqual(kinds["Read"], "function")          # always loaded
        self.assertEqual(kinds["tool_search"], "tool_search")
        self.assertEqual(kinds["Deploy"], "namespace")
        self.assertEqual(kinds["Audit"], "namespace")
        types = [i.get("type") for i in sent["input"]]
        self.assertIn("tool_search_call", types)
        self.assertIn("tool_search_output", types)
        # A model without tool_search support is left alone.
        self.s.json("POST", "/v1/responses", dict(body, model="gpt-5-mini"))
        sent = self.s.fake.requests("/responses")[-1]["body"]
        self.assertEqual({t["type"] for t in sent["tools"]}, {"function"})
