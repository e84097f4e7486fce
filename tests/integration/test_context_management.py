"""Copilot's server-side compaction as 1.14.7 configures it (doc/deviations.md
D40, D41): the config keys contextManagement.{messages,responses} and
modelResponsesApiCompactThresholds, read from config.json, the defaults
merged into it at start, and what the fake upstream receives on
/v1/messages (the Responses flow) and /v1/responses."""

import json
import os
import unittest

import harness
from test_codex import signed_in_codex_stack

HISTORY = [
    {"role": "user", "content": "old question"},
    {"role": "assistant", "content": "old answer"},
    {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Thinking...", "signature": "cm1#Q09NUEFDVA==@cmp_7"},
        {"type": "text", "text": "Summary so far."}]},
    {"role": "user", "content": "new question"},
]
INPUT = [
    {"role": "user", "content": "old"},
    {"type": "compaction", "id": "cmp_1", "encrypted_content": "enc"},
    {"role": "user", "content": "now"},
]
# A model from gpt-5.6 on, where compaction would cost cache hits.
GPT56 = {
    "id": "gpt-5.6-sol", "object": "model", "name": "GPT-5.6 Sol", "vendor": "OpenAI",
    "version": "gpt-5.6-sol", "preview": False, "model_picker_enabled": True,
    "supported_endpoints": ["/responses"],
    "capabilities": {"family": "gpt-5.6-sol", "object": "model_capabilities",
                     "type": "chat", "tokenizer": "o200k_base",
                     "limits": {"max_context_window_tokens": 400000,
                                "max_prompt_tokens": 272000, "max_output_tokens": 128000},
                     "supports": {"streaming": True, "tool_calls": True,
                                  "parallel_tool_calls": True,
                                  "reasoning_effort": ["low", "medium", "high", "xhigh"]}},
}


class ContextManagement(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={
            "contextManagement": {"messages": False, "responses": True},
            "modelResponsesApiCompactThresholds": {"gpt-5.4": 150000}})
        # before the first request: the gateway caches the model list
        cls.s.fake.config(models_extra=[GPT56])

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def sent(self):
        return self.s.fake.requests("/responses")[-1]["body"]

    def messages(self, model="gpt-5.4"):
        status, _, body = self.s.json("POST", "/v1/messages", {
            "model": model, "max_tokens": 100, "messages": HISTORY})
        self.assertEqual(status, 200, body)
        return self.sent()

    def responses(self, model, **extra):
        status, _, body = self.s.json("POST", "/v1/responses",
                                      dict({"model": model, "input": INPUT}, **extra))
        self.assertEqual(status, 200, body)
        return self.sent()

    def test_1_defaults_merged_into_config_json(self):
        with open(os.path.join(self.s.home, "config.json")) as f:
            cfg = json.load(f)
        self.assertEqual(cfg["contextManagement"], {"messages": False, "responses": True})
        self.assertEqual(cfg["modelResponsesApiCompactThresholds"],
                         {"gpt-5.4": 150000, "gpt-5.5": 217600, "gpt-5.6-sol": 231200,
                          "gpt-5.6-terra": 231200, "gpt-5.6-luna": 231200})

    def test_messages_off_sends_history_whole(self):
        b = self.messages()
        self.assertNotIn("context_management", b)
        self.assertEqual([i.get("role") or i["type"] for i in b["input"]],
                         ["user", "assistant", "compaction", "assistant", "user"])
        self.assertEqual(b["reasoning"]["summary"], "auto")
        self.assertEqual(b["reasoning"]["context"], "all_turns")

    def test_responses_on_uses_configured_threshold_and_trims(self):
        b = self.responses("gpt-5.4")
        self.assertEqual(b["context_management"],
                         [{"type": "compaction", "compact_threshold": 150000}])
        self.assertEqual([i.get("type") or i["role"] for i in b["input"]],
                         ["compaction", "user"])

    def test_responses_threshold_from_model_limits(self):
        # gpt-5-mini: max_prompt_tokens 128000, no configured threshold
        b = self.responses("gpt-5-mini")
        self.assertEqual(b["context_management"],
                         [{"type": "compaction", "compact_threshold": 102400}])

    def test_gpt_5_6_never_compacts(self):
        b = self.responses("gpt-5.6-sol")
        self.assertNotIn("context_management", b)
        self.assertEqual(len(b["input"]), 3)
        # the client's own setting is relayed as is, nothing trimmed
        cm = [{"type": "compaction", "compact_threshold": 1000}]
        b = self.responses("gpt-5.6-sol", context_management=cm)
        self.assertEqual(b["context_management"], cm)
        self.assertEqual(len(b["input"]), 3)

    def test_z_messages_on_after_reload(self):
        def turn_on(cfg):
            cfg["contextManagement"]["messages"] = True
        self.s.reconfigure(turn_on)
        self.s.fake.config(models_extra=[GPT56])
        b = self.messages()
        self.assertEqual(b["context_management"],
                         [{"type": "compaction", "compact_threshold": 150000}])
        self.assertEqual([i.get("role") or i["type"] for i in b["input"]],
                         ["compaction", "assistant", "user"])
        b = self.messages("gpt-5.6-sol")
        self.assertNotIn("context_management", b)
        self.assertEqual(len(b["input"]), 5)


class CodexAlias(unittest.TestCase):
    """/v1/responses with codex/<model>: the threshold from the codex
    catalogue's max_prompt_tokens, as 1.14.7."""

    @classmethod
    def setUpClass(cls):
        cls.s = signed_in_codex_stack(lambda cfg: cfg.update(
            contextManagement={"messages": True, "responses": True}))

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_threshold_from_the_codex_catalogue(self):
        status, _, body = self.s.json("POST", "/v1/responses",
                                      {"model": "codex/gpt-5.4-mini", "input": INPUT})
        self.assertEqual(status, 200, body)
        b = self.s.fake.requests("/backend-api/codex/responses")[-1]["body"]
        # 0.8 x the 1.14.7 catalogue's 400000 (its contextWindow); no
        # configured threshold for gpt-5.4-mini
        self.assertEqual(b["context_management"],
                         [{"type": "compaction", "compact_threshold": 320000}])
        self.assertEqual([i.get("type") or i["role"] for i in b["input"]],
                         ["compaction", "user"])


if __name__ == "__main__":
    unittest.main()
