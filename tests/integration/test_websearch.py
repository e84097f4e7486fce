"""Claude Code's web search behind lighttpd (reference 1.14.7): a
/v1/messages request whose only tools are web_search server tools runs as
one Responses call with the hosted web_search tool on the search model
(messageApiWebSearchModel, default gpt-5-mini), and the official
@anthropic-ai/sdk gets server_tool_use + web_search_tool_result + text,
streamed or not; the search's failures; the config keys; the provider
routes."""

import time
import unittest

import harness
import servers
from harness import API_KEY
from test_sdk import node

PROVIDER_KEY = "sk-provider-test"
WS = {"type": "web_search_20250305", "name": "web_search", "max_uses": 8}
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def search(model="claude-sonnet-4.6", tool=None, **extra):
    body = {"model": model, "max_tokens": 1000,
            "system": "You are an assistant for performing a web search tool use",
            "messages": [{"role": "user",
                          "content": "Perform a web search for the query: C11 atomics"}],
            "tools": [tool or WS]}
    body.update(extra)
    return body


class WebSearch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        def update(cfg):
            cfg["providers"] = {
                "presp": {"type": "openai-responses", "baseUrl": s.fake.url,
                          "apiKey": PROVIDER_KEY},
                "qwen": {"type": "openai-compatible", "baseUrl": s.fake.url,
                         "apiKey": PROVIDER_KEY},
            }
        s = harness.Stack()
        cls.s = s.reconfigure(update)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()
        self.nrows = len(self.s.usage_rows())

    def sdk(self, op, params):
        return node("anthropic_client.mjs", {"baseURL": self.s.url, "apiKey": API_KEY,
                                             "op": op, "params": params})

    def new_rows(self, n):
        return self.s.usage_rows(at_least=self.nrows + n)[self.nrows:]

    def upstream(self, path):
        reqs = self.s.fake.requests(path)
        self.assertTrue(reqs, "nothing reached %s" % path)
        return reqs[-1]

    def set_config(self, **keys):
        def update(cfg):
            for k, v in keys.items():
                if v is None:
                    cfg.pop(k, None)
                else:
                    cfg[k] = v
        self.s.reconfigure(update)
        self.nrows = len(self.s.usage_rows())

    # -- the search on Copilot ---------------------------------------------

    def test_search_json_and_stream_with_the_sdk(self):
        tool = dict(WS, allowed_domains=["en.cppreference.com"])
        got = {}
        for op in ("create", "stream"):
            r = self.sdk(op, search(tool=tool))
            self.assertTrue(r["ok"], r)
            got[op] = r["result"]
            content = r["result"]["content"]
            self.assertEqual([b["type"] for b in content],
                             ["server_tool_use", "web_search_tool_result", "text"])
            use, res, text = content
            self.assertRegex(use["id"], r"^srvtoolu_[0-9a-f-]{36}$")
            self.assertEqual((use["name"], use["input"]),
                             ("web_search", {"query": "Perform a web search for the query: C11"}))
            self.assertEqual(res["tool_use_id"], use["id"])
            self.assertEqual(len(res["content"]), 2)
            for page in res["content"]:
                self.assertEqual(page["type"], "web_search_result")
                self.assertTrue(page["url"].startswith("https://en.cppreference.com/"))
                self.assertIsNone(page["page_age"])
                self.assertEqual(page["encrypted_content"], "")
                self.assertIn("[%s](%s)" % (page["title"], page["url"]), text["text"])
            self.assertEqual(r["result"]["model"], "claude-sonnet-4.6")
            self.assertEqual(r["result"]["stop_reason"], "end_turn")
            self.assertEqual(r["result"]["usage"]["server_tool_use"], {"web_search_requests": 1})
            self.assertGreater(r["result"]["usage"]["output_tokens"], 0)
            up = self.upstream("/responses")
            b = up["body"]
            self.assertEqual(b["model"], "gpt-5-mini")
            self.assertEqual(b["tools"], [{"type": "web_search",
                                           "filters": {"allowed_domains": ["en.cppreference.com"]}}])
            self.assertNotIn("tool_choice", b)
            self.assertIs(b["stream"], True)
            self.assertEqual(b["reasoning"], {"effort": "medium", "summary": "auto"})
            self.assertEqual(up["headers"]["x-initiator"], "user")
        self.assertEqual(got["create"]["content"], got["stream"]["content"])
        ev = got["stream"]["events"]
        self.assertEqual(ev[0], "message_start")
        self.assertEqual(ev[-2:], ["message_delta", "message_stop"])
        self.assertFalse(self.s.fake.requests("/v1/messages"), "a search reached /v1/messages")
        rows = self.new_rows(2)
        for row, stream in zip(rows, (0, 1)):
            self.assertEqual((row["model"], row["endpoint"], row["status"], row["stream"]),
                             ("gpt-5-mini", "responses", 200, stream))
            self.assertGreater(row["input_tokens"], 0)
            self.assertGreater(row["output_tokens"], 0)

    def test_search_rows_carry_copilot_charge(self):
        # the search's /responses call reports Copilot's charge (beside the
        # terminal event, or in the JSON body): its row is priced like any
        # other Copilot row
        self.s.fake.config(copilot_usage={"total_nano_aiu": 150000000})
        status, _, body = self.s.json("POST", "/v1/messages", search())
        self.assertEqual(status, 200, body)
        resp, conn = self.s.stream("/v1/messages", search(stream=True))
        try:
            self.assertEqual(resp.status, 200)
            names = [e for e, _ in harness.read_sse(resp) if e != "comment"]
        finally:
            conn.close()
        self.assertEqual(names[-1], "message_stop")
        for row in self.new_rows(2):
            self.assertEqual((row["endpoint"], row["status"]), ("responses", 200))
            self.assertEqual(row["total_nano_aiu"], 150000000)
            self.assertEqual((row["cost_currency"], row["cost_source"]), ("USD", "copilot_aiu"))
            self.assertGreater(row["total_cost_nanos"], 0)

    def test_mapped_model_named_in_the_answer(self):
        self.set_config(modelMappings={"my-sonnet": "claude-sonnet-4.6"})
        r = self.sdk("create", search(model="my-sonnet"))
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"]["model"], "claude-sonnet-4.6")
        self.assertEqual(self.upstream("/responses")["body"]["model"], "gpt-5-mini")

    def test_web_search_beside_other_tools_is_dropped(self):
        r = self.sdk("create", search(tools=[WS, WEATHER]))
        self.assertTrue(r["ok"], r)
        self.assertNotIn("server_tool_use", [b["type"] for b in r["result"]["content"]])
        self.assertFalse(self.s.fake.requests("/responses"))
        tools = self.upstream("/v1/messages")["body"]["tools"]
        self.assertEqual([t["name"] for t in tools], ["get_weather"])

    # -- failures ------------------------------------------------------------

    def assert_search_error(self, op, status, etype, message):
        r = self.sdk(op, search())
        self.assertFalse(r["ok"], r)
        self.assertEqual(r["status"], status, r)
        self.assertEqual(r["error"]["type"], "error", r)
        self.assertEqual(r["error"]["error"]["type"], etype, r)
        self.assertIn(message, r["error"]["error"]["message"])

    def test_search_model_fails(self):
        self.s.fake.config(response_failed={"code": "server_error",
                                            "message": "The search backend is unavailable."})
        for op in ("create", "stream"):
            self.assert_search_error(op, 502, "api_error", "web search via gpt-5-mini failed: "
                                     "The search backend is unavailable.")
        self.s.fake.config(response_failed=None,
                           stream_error={"code": "server_error", "message": "Search broke."})
        for op in ("create", "stream"):
            self.assert_search_error(op, 502, "api_error",
                                     "web search via gpt-5-mini failed: Search broke.")
        rows = self.new_rows(4)
        self.assertEqual([(r["status"], r["model"]) for r in rows], [(502, "gpt-5-mini")] * 4)
        self.assertIn("Search broke.", rows[-1]["error"])

    def test_search_returns_nothing(self):
        self.s.fake.config(web_search_queries=[], answer_text="")
        for op in ("create", "stream"):
            self.assert_search_error(op, 502, "api_error",
                                     "the model ran no search and gave no answer")
        # a stream that stops before its completion event
        self.s.fake.config(web_search_queries=None, answer_text=None)
        self.s.fake.fault(path="/responses", kind="drop_after", events=5)
        r = self.sdk("stream", search())
        self.assertFalse(r["ok"], r)
        self.assertEqual(r["status"], 502, r)
        self.assertEqual(r["error"]["error"]["type"], "api_error", r)

    def test_upstream_refuses_the_search(self):
        self.s.fake.fault(path="/responses", kind="status", status=429,
                          body={"error": {"message": "slow down"}},
                          headers={"retry-after": "7"})
        r = self.sdk("stream", search())
        self.assertFalse(r["ok"], r)
        self.assertEqual((r["status"], r["name"]), (429, "RateLimitError"), r)
        self.assertEqual(r["error"]["error"]["type"], "rate_limit_error", r)
        self.assertEqual(r["error"]["error"]["message"], "slow down")
        row = self.new_rows(1)[0]
        self.assertEqual((row["status"], row["model"]), (429, "gpt-5-mini"))

    def test_client_leaves_during_the_search(self):
        """A streaming client gets nothing while the search runs; when it
        hangs up, the upstream call is closed and the row says so."""
        self.s.fake.fault(path="/responses", kind="delay_headers", seconds=30)
        sock = servers.send_request(self.s.port, "/v1/messages", search(stream=True))
        self.s.fake.wait_requests("/responses", 1)
        sock.close()
        t0 = time.monotonic()
        w = self.s.fake.call("GET", "/_fake/wait_disconnect?path=/responses&timeout=10")
        self.assertTrue(w["ok"], w)
        self.assertLess(time.monotonic() - t0, 3)
        row = self.new_rows(1)[0]
        self.assertEqual((row["status"], row["error"], row["stream"], row["model"]),
                         (499, "client left", 1, "gpt-5-mini"))

    # -- the config keys -----------------------------------------------------

    def test_config_keys(self):
        try:
            # a provider alias: the provider's Responses API searches
            self.set_config(messageApiWebSearchModel="presp/gpt-5.4")
            r = self.sdk("create", search())
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["result"]["content"][0]["type"], "server_tool_use")
            self.assertEqual(r["result"]["model"], "gpt-5.4")
            b = self.upstream("/v1/responses")["body"]
            self.assertEqual((b["model"], b["tools"]), ("gpt-5.4", [{"type": "web_search"}]))
            self.assertFalse(self.s.fake.requests("/responses"))
            row = self.new_rows(1)[0]
            self.assertEqual((row["provider_name"], row["model"], row["endpoint"]),
                             ("presp", "gpt-5.4", "provider_messages"))
            # "" turns the search off: the tool is dropped
            self.s.fake.reset()
            self.set_config(messageApiWebSearchModel="")
            r = self.sdk("create", search())
            self.assertTrue(r["ok"], r)
            self.assertNotIn("server_tool_use", [b["type"] for b in r["result"]["content"]])
            self.assertFalse(self.s.fake.requests("/responses"))
            self.assertEqual(self.upstream("/v1/messages")["body"]["tools"], [])
            # so does useResponsesApiWebSearch false for a Copilot search model
            self.s.fake.reset()
            self.set_config(messageApiWebSearchModel=None, useResponsesApiWebSearch=False)
            r = self.sdk("create", search())
            self.assertTrue(r["ok"], r)
            self.assertFalse(self.s.fake.requests("/responses"))
            self.assertEqual(self.upstream("/v1/messages")["body"]["tools"], [])
        finally:
            self.set_config(messageApiWebSearchModel=None, useResponsesApiWebSearch=True)

    # -- the provider routes -------------------------------------------------

    def test_provider_routes(self):
        st, _, out = self.s.json("POST", "/presp/v1/messages", search(model="gpt-5.4"))
        self.assertEqual(st, 200, out)
        self.assertEqual([b["type"] for b in out["content"]],
                         ["server_tool_use", "web_search_tool_result", "text"])
        b = self.upstream("/v1/responses")["body"]
        self.assertEqual(b["tools"], [{"type": "web_search"}])
        # a Chat Completions provider cannot search: the tool is dropped
        st, _, out = self.s.json("POST", "/qwen/v1/messages", search(model="qwen-max"))
        self.assertEqual(st, 200, out)
        self.assertEqual([b["type"] for b in out["content"]], ["text"])
        self.assertFalse(self.upstream("/v1/chat/completions")["body"].get("tools"))


if __name__ == "__main__":
    unittest.main()
