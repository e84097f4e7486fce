#!/usr/bin/env python3
"""Self-test of the fake's native endpoints: POST /v1/messages and POST /responses.

Run: python3 -m unittest discover -s tests/fake -p 'test_*.py'
"""

import json
import os
import select
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_fake_upstream import NON_ASCII, FakeTestCase  # noqa: E402

CHUNKINGS = ("normal", "awkward", "bytewise")


def sse_events(data):
    """A complete SSE byte stream as [(event name, parsed data)]."""
    text = data.decode("utf-8")               # strict: a split UTF-8 sequence would fail here
    out = []
    for block in text.split("\n\n"):
        if not block:
            continue
        name, lines = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                lines.append(line[5:].lstrip(" "))
        out.append((name, json.loads("\n".join(lines))))
    return out


def boundaries(chunks):
    pos, out = 0, []
    for c in chunks[:-1]:
        pos += len(c)
        out.append(pos)
    return out


class NativeTestCase(FakeTestCase):
    def config(self, **c):
        return self.ctl("POST", "/_fake/config", c)

    def fault(self, **f):
        return self.ctl("POST", "/_fake/faults", [f])

    def stream(self, path, body, headers=None):
        """(events, chunks, terminated) of a streamed answer, read over a raw socket."""
        h = self.auth()
        h.update(headers or {})
        r = self.raw("POST", path, dict(body, stream=True), h).read_head()
        self.assertEqual(r.status, 200, r.buf[:300])
        self.assertEqual(r.headers["transfer-encoding"], "chunked")
        self.assertTrue(r.headers["content-type"].startswith("text/event-stream"))
        chunks, terminated = r.read_chunks()
        r.sock.close()
        return sse_events(b"".join(chunks)), chunks, terminated

    def post(self, path, body, auth=True):
        return self.call("POST", path, body, self.auth() if auth else None)

    def check_chunking(self, mode, chunks, events):
        data = b"".join(chunks)
        if mode == "normal":
            self.assertEqual(len(chunks), len(events))
            for c in chunks:
                self.assertTrue(c.endswith(b"\n\n"))
                c.decode("utf-8")
        elif mode == "bytewise":
            self.assertTrue(all(len(c) == 1 for c in chunks))
        else:
            bounds = boundaries(chunks)
            self.assertTrue([p for p in bounds if 0x80 <= data[p] <= 0xBF],
                            "no split inside a UTF-8 sequence")
            self.assertTrue([p for p in bounds if data[p - 1:p + 1] == b"\n\n"],
                            "no split between the two newlines")
            self.assertTrue([c for c in chunks if c.count(b"\n\n") >= 2],
                            "no write carrying several events")


# ---------------------------------------------------------------------------
# POST /v1/messages
# ---------------------------------------------------------------------------

def assemble_messages(test, events):
    """Check the Anthropic event grammar and rebuild the message it describes."""
    for name, data in events:
        test.assertEqual(name, data["type"])
    test.assertEqual(events[0][0], "message_start")
    msg = dict(events[0][1]["message"])
    test.assertEqual((msg["content"], msg["stop_reason"]), ([], None))
    content, open_index, partial = [], None, {}
    for name, data in events[1:]:
        if name == "content_block_start":
            test.assertIsNone(open_index, "a block opened while another was open")
            test.assertEqual(data["index"], len(content))
            open_index = data["index"]
            content.append(dict(data["content_block"]))
        elif name == "content_block_delta":
            test.assertEqual(data["index"], open_index)
            block, d = content[open_index], data["delta"]
            if d["type"] == "text_delta":
                block["text"] += d["text"]
            elif d["type"] == "thinking_delta":
                block["thinking"] += d["thinking"]
            elif d["type"] == "signature_delta":
                block["signature"] = d["signature"]
            elif d["type"] == "input_json_delta":
                partial.setdefault(open_index, []).append(d["partial_json"])
            else:
                test.fail("unknown delta %r" % d)
        elif name == "content_block_stop":
            test.assertEqual(data["index"], open_index)
            if open_index in partial:
                content[open_index]["input"] = json.loads("".join(partial[open_index]))
            open_index = None
        elif name == "message_delta":
            test.assertIsNone(open_index)
            msg.update(data["delta"])
            msg["usage"] = dict(msg["usage"], **data["usage"])
        elif name in ("message_stop", "ping", "error"):
            pass
        else:
            test.fail("unknown event %r" % name)
    msg["content"] = content
    msg["_partial"] = partial
    return msg


class TestMessages(NativeTestCase):
    PATH = "/v1/messages"
    TOOLS = [{"name": "get_weather", "description": "weather",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
             {"name": "get_time", "input_schema": {"type": "object"}}]

    def body(self, text="hi there", model="claude-sonnet-4.6", **extra):
        b = {"model": model, "max_tokens": 4096, "system": "be brief",
             "messages": [{"role": "user", "content": text}]}
        b.update(extra)
        return b

    def answer(self, text):
        return "You said: %s (%s)" % (text, NON_ASCII)

    def test_non_stream_text(self):
        status, headers, body = self.post(self.PATH, self.body("ping " + NON_ASCII))
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.assertIn("x-request-id", headers)
        self.assertRegex(body["id"], r"^msg_")
        self.assertEqual((body["type"], body["role"], body["model"]),
                         ("message", "assistant", "claude-sonnet-4.6"))
        self.assertEqual(body["content"], [{"type": "text", "text": self.answer("ping " + NON_ASCII)}])
        self.assertEqual((body["stop_reason"], body["stop_sequence"]), ("end_turn", None))
        u = body["usage"]
        self.assertEqual(set(u), {"input_tokens", "output_tokens", "cache_read_input_tokens",
                                  "cache_creation_input_tokens"})
        self.assertGreater(u["input_tokens"], 0)
        self.assertEqual(u["output_tokens"], len(self.answer("ping " + NON_ASCII).split()))
        rec = self.ctl("GET", "/_fake/requests?path=/v1/messages")["requests"][0]
        self.assertEqual(rec["body"]["messages"][0]["content"], "ping " + NON_ASCII)
        self.assertEqual((rec["status"], rec["stream"], rec["completed"]), (200, False, True))

    def test_stream_all_chunking_modes(self):
        for mode in CHUNKINGS:
            with self.subTest(chunking=mode):
                self.config(chunking=mode, seed=11)
                text = "%s %s" % (mode, NON_ASCII)
                events, chunks, terminated = self.stream(self.PATH, self.body(text))
                self.assertTrue(terminated)
                self.check_chunking(mode, chunks, events)
                names = [n for n, _ in events]
                self.assertEqual(names[:3], ["message_start", "content_block_start", "ping"])
                self.assertEqual(names[-2:], ["message_delta", "message_stop"])
                self.assertGreaterEqual(names.count("content_block_delta"), 3)
                msg = assemble_messages(self, events)
                self.assertEqual(msg["content"], [{"type": "text", "text": self.answer(text)}])
                self.assertEqual(msg["stop_reason"], "end_turn")
                start_usage = events[0][1]["message"]["usage"]
                self.assertEqual(start_usage["output_tokens"], 1)
                self.assertEqual(msg["usage"]["input_tokens"], start_usage["input_tokens"])
                self.assertGreater(msg["usage"]["output_tokens"], 1)

    def test_thinking_enabled_and_adaptive(self):
        body = self.body("think", thinking={"type": "enabled", "budget_tokens": 1024})
        _, _, plain = self.post(self.PATH, body)
        think, text = plain["content"]
        self.assertEqual(think["type"], "thinking")
        self.assertEqual(think["thinking"], "Thinking about: think")
        self.assertTrue(think["signature"])
        self.assertNotIn("@", think["signature"])
        self.assertEqual(text, {"type": "text", "text": self.answer("think")})
        events, _, _ = self.stream(self.PATH, body)
        msg = assemble_messages(self, events)
        self.assertEqual(msg["content"], plain["content"])     # same signature too
        deltas = [d["delta"]["type"] for n, d in events if n == "content_block_delta"
                  and d["index"] == 0]
        self.assertEqual(deltas[-1], "signature_delta")
        self.assertGreaterEqual(deltas.count("thinking_delta"), 2)
        # Opus 4.7: adaptive thinking omits the text unless a summary is asked for.
        _, _, omitted = self.post(self.PATH, self.body("x", model="claude-opus-4.7",
                                                       thinking={"type": "adaptive"}))
        self.assertEqual(omitted["content"][0]["thinking"], "")
        self.assertTrue(omitted["content"][0]["signature"])
        self.config(reasoning_text="Custom plan ✓", redacted_thinking=True)
        body = self.body("x", model="claude-opus-4.7",
                         thinking={"type": "adaptive", "display": "summarized"})
        _, _, summarized = self.post(self.PATH, body)
        self.assertEqual(summarized["content"][0]["thinking"], "Custom plan ✓")
        self.assertEqual(summarized["content"][1]["type"], "redacted_thinking")
        self.assertTrue(summarized["content"][1]["data"])
        events, _, _ = self.stream(self.PATH, body)
        self.assertEqual(assemble_messages(self, events)["content"], summarized["content"])
        # No thinking requested (or disabled): no thinking block.
        _, _, none = self.post(self.PATH, self.body("x", thinking={"type": "disabled"}))
        self.assertEqual([b["type"] for b in none["content"]], ["text"])

    def test_tool_calls_then_tool_result_turn(self):
        self.config(tool_calls=[{"name": "get_weather", "arguments": {"city": "Zürich"}, "id": "toolu_w"},
                                {"name": "get_time", "arguments": {"tz": "Europe/Zurich"}}],
                    tool_calls_text="Checking.")
        body = self.body("weather?", tools=self.TOOLS)
        _, _, plain = self.post(self.PATH, body)
        self.assertEqual(plain["stop_reason"], "tool_use")
        self.assertEqual(plain["content"], [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_w", "name": "get_weather", "input": {"city": "Zürich"}},
            {"type": "tool_use", "id": "toolu_fake_1", "name": "get_time",
             "input": {"tz": "Europe/Zurich"}}])
        for mode in CHUNKINGS:
            with self.subTest(chunking=mode):
                self.config(chunking=mode)
                events, chunks, terminated = self.stream(self.PATH, body)
                self.assertTrue(terminated)
                msg = assemble_messages(self, events)
                self.assertEqual(msg["content"][1:], [
                    dict(b, input=b["input"]) if b["type"] == "tool_use" else b
                    for b in plain["content"][1:]])
                self.assertEqual(msg["stop_reason"], "tool_use")
                for index in (1, 2):
                    frags = msg["_partial"][index]
                    self.assertEqual(frags[0], "")        # real streams open with an empty delta
                    self.assertEqual(len(frags), 4)
                starts = [d["content_block"] for n, d in events if n == "content_block_start"]
                self.assertEqual(starts[1]["input"], {})
        # Second turn: the tool_result is acknowledged, no more tool calls.
        turn2 = self.body("weather?", tools=self.TOOLS)
        turn2["messages"] += [
            {"role": "assistant", "content": [b for b in plain["content"]]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_w",
                 "content": [{"type": "text", "text": "sunny, 21°C"}]},
                {"type": "tool_result", "tool_use_id": "toolu_fake_1", "content": "12:00"}]}]
        _, _, out = self.post(self.PATH, turn2)
        self.assertEqual(out["content"], [{"type": "text", "text": "Tool said: sunny, 21°C | 12:00"}])
        self.assertEqual(out["stop_reason"], "end_turn")
        events, _, _ = self.stream(self.PATH, turn2)
        self.assertEqual(assemble_messages(self, events)["content"], out["content"])
        # tool_choice none → text; a forced choice without config → a call to that tool.
        _, _, out = self.post(self.PATH, self.body("x", tools=self.TOOLS, tool_choice={"type": "none"}))
        self.assertEqual(out["stop_reason"], "end_turn")
        self.config(tool_calls=None, tool_calls_text=None)
        _, _, out = self.post(self.PATH, self.body("x", tools=self.TOOLS,
                                                   tool_choice={"type": "tool", "name": "get_time"}))
        self.assertEqual([(b["type"], b["name"], b["input"]) for b in out["content"]],
                         [("tool_use", "get_time", {})])
        _, _, out = self.post(self.PATH, self.body("x", tools=self.TOOLS))
        self.assertEqual(out["stop_reason"], "end_turn")       # tools but nothing scripted

    def test_validation_errors(self):
        def err(body, model_status=400):
            status, _, out = self.post(self.PATH, body)
            self.assertEqual(status, model_status, out)
            self.assertEqual(out["type"], "error")
            self.assertEqual(out["error"]["type"], "invalid_request_error")
            return out["error"]["message"]

        self.assertIn("/v1/messages", err(self.body(model="gpt-5.4")))
        self.assertIn("not supported", err(self.body(model="nope")))
        b = self.body()
        del b["max_tokens"]
        self.assertEqual(err(b), "max_tokens: Field required")
        self.assertIn("maximum allowed", err(self.body(max_tokens=64001)))
        self.assertIn("at least one message", err(self.body(messages=[])))
        self.assertIn('Unexpected role "system"', err(self.body(messages=[
            {"role": "system", "content": "s"}, {"role": "user", "content": "u"}])))
        self.assertIn("non-empty", err(self.body(messages=[
            {"role": "user", "content": [{"type": "text", "text": ""}]}])))
        self.assertIn("input_schema", err(self.body(tools=[{"name": "t"}])))
        self.assertEqual(err(self.body(cache_control={"type": "ephemeral"})),
                         "cache_control: Extra inputs are not permitted")
        self.assertIn("tools.0.custom.eager_input_streaming", err(self.body(tools=[
            {"name": "t", "input_schema": {"type": "object"}, "eager_input_streaming": True}])))
        self.assertIn("not supported for this model", err(self.body(
            model="claude-opus-4.7", thinking={"type": "enabled", "budget_tokens": 2048})))
        self.assertIn("budget_tokens", err(self.body(max_tokens=1024, thinking={
            "type": "enabled", "budget_tokens": 1024})))
        self.assertIn("forces tool use", err(self.body(
            tools=self.TOOLS, tool_choice={"type": "any"}, thinking={"type": "adaptive"})))
        use = {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_time", "input": {}}]}
        self.assertIn("without `tool_result`", err(self.body(messages=[
            {"role": "user", "content": "a"}, use, {"role": "user", "content": "b"}])))
        self.assertIn("unexpected `tool_use_id`", err(self.body(messages=[
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "y"}]}])))
        for sig in ("enc@rs_1", "", None):
            thought = {"type": "thinking", "thinking": "t"}
            if sig is not None:
                thought["signature"] = sig
            self.assertIn("Invalid `signature`", err(self.body(messages=[
                {"role": "user", "content": "a"}, {"role": "assistant", "content": [thought, {
                    "type": "text", "text": "b"}]}, {"role": "user", "content": "c"}])))
        history = self.body(messages=[
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "Sig"},
                                              {"type": "redacted_thinking", "data": "x"},
                                              {"type": "text", "text": "b"}]},
            {"role": "user", "content": "c"}])
        self.assertEqual(self.post(self.PATH, history)[0], 200)
        self.config(validate_history=False)
        status, _, _ = self.post(self.PATH, self.body(messages=[
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "y"}]}]))
        self.assertEqual(status, 200)
        status, _, out = self.post(self.PATH, self.body(), auth=False)
        self.assertEqual((status, out["error"]["code"]), (401, "token_expired"))

    def test_max_tokens_and_stop_sequences(self):
        _, _, out = self.post(self.PATH, self.body("one two three", max_tokens=3))
        self.assertEqual(out["content"], [{"type": "text", "text": "You said: one "}])
        self.assertEqual((out["stop_reason"], out["usage"]["output_tokens"]), ("max_tokens", 3))
        events, _, _ = self.stream(self.PATH, self.body("one two three", max_tokens=3))
        msg = assemble_messages(self, events)
        self.assertEqual((msg["content"], msg["stop_reason"]), (out["content"], "max_tokens"))
        _, _, out = self.post(self.PATH, self.body("x", stop_sequences=["wörld", "zzz"]))
        self.assertEqual(out["content"][0]["text"], "You said: x (héllo ")
        self.assertEqual((out["stop_reason"], out["stop_sequence"]), ("stop_sequence", "wörld"))
        self.config(stop_reason="refusal")
        _, _, out = self.post(self.PATH, self.body())
        self.assertEqual(out["stop_reason"], "refusal")

    def test_usage_overrides_and_delta_usage_shape(self):
        self.config(usage={"prompt_tokens": 100, "cached_tokens": 12,
                           "cache_creation_input_tokens": 20, "completion_tokens": 7})
        _, _, out = self.post(self.PATH, self.body())
        self.assertEqual(out["usage"], {"input_tokens": 68, "cache_creation_input_tokens": 20,
                                        "cache_read_input_tokens": 12, "output_tokens": 7})
        events, _, _ = self.stream(self.PATH, self.body())
        self.assertEqual(events[-2][1]["usage"], out["usage"])
        self.assertEqual(events[0][1]["message"]["usage"]["cache_read_input_tokens"], 12)
        self.config(messages_delta_usage="output_only", usage={"input_tokens": 5})
        events, _, _ = self.stream(self.PATH, self.body())
        self.assertEqual(list(events[-2][1]["usage"]), ["output_tokens"])
        self.assertEqual(events[0][1]["message"]["usage"]["input_tokens"], 5)

    def test_copilot_usage(self):
        cu = {"total_nano_aiu": 150000000}
        _, _, out = self.post(self.PATH, self.body())
        self.assertNotIn("copilot_usage", out)
        self.config(copilot_usage=cu)
        _, _, out = self.post(self.PATH, self.body())
        self.assertEqual(out["copilot_usage"], cu)
        events, _, _ = self.stream(self.PATH, self.body())
        self.assertEqual(events[-2][0], "message_delta")
        self.assertEqual(events[-2][1]["copilot_usage"], cu)
        self.assertNotIn("copilot_usage", events[0][1]["message"])

    def test_stream_error_event(self):
        self.config(stream_error=True)
        events, _, terminated = self.stream(self.PATH, self.body("a b c d"))
        self.assertTrue(terminated)                 # the HTTP body ends cleanly
        self.assertEqual(events[-1], ("error", {"type": "error", "error": {
            "type": "overloaded_error", "message": "Overloaded"}}))
        names = [n for n, _ in events]
        self.assertNotIn("message_stop", names)
        msg = assemble_messages(self, events)
        self.assertTrue(self.answer("a b c d").startswith(msg["content"][0]["text"]))
        self.assertLess(len(msg["content"][0]["text"]), len(self.answer("a b c d")))
        self.config(stream_error={"type": "api_error", "message": "boom"})
        events, _, _ = self.stream(self.PATH, self.body())
        self.assertEqual(events[-1][1]["error"], {"type": "api_error", "message": "boom"})
        _, _, out = self.post(self.PATH, self.body())           # non-stream unaffected
        self.assertEqual(out["stop_reason"], "end_turn")

    def test_faults(self):
        self.fault(path=self.PATH, kind="status", status=529, headers={"retry-after": "3"},
                   body={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        status, headers, out = self.post(self.PATH, self.body())
        self.assertEqual((status, headers["retry-after"], out["error"]["type"]),
                         (529, "3", "overloaded_error"))
        self.fault(path=self.PATH, kind="unauthorized_once")
        h = self.auth()
        self.assertEqual(self.call("POST", self.PATH, self.body(), h)[0], 401)
        self.assertEqual(self.call("POST", self.PATH, self.body(), h)[0], 200)
        self.fault(path=self.PATH, kind="drop_after", events=3, stream=True)
        events, _, terminated = self.stream(self.PATH, self.body())
        self.assertFalse(terminated)
        self.assertEqual([n for n, _ in events], ["message_start", "content_block_start", "ping"])
        self.fault(path=self.PATH, kind="stall", seconds=0.2, events=2, then="close")
        events, _, terminated = self.stream(self.PATH, self.body())
        self.assertEqual((len(events), terminated), (2, False))
        self.fault(path=self.PATH, kind="hold", name="m", events=1)
        r = self.raw("POST", self.PATH, self.body(stream=True), self.auth()).read_head()
        first = r.next_chunk()
        self.assertIn(b"message_start", first)
        self.assertTrue(self.ctl("GET", "/_fake/wait_hold?name=m&timeout=5")["ok"])
        self.assertFalse(select.select([r.sock], [], [], 0.1)[0] or r.buf)
        self.ctl("POST", "/_fake/release", {"name": "m"})
        rest, terminated = r.read_chunks()
        r.sock.close()
        self.assertTrue(terminated)
        self.assertEqual(sse_events(first + b"".join(rest))[-1][0], "message_stop")
        self.fault(path=self.PATH, kind="delay_headers", seconds=0.3)
        t0 = time.monotonic()
        self.assertEqual(self.post(self.PATH, self.body())[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        recs = self.ctl("GET", "/_fake/requests?path=/v1/messages")["requests"]
        self.assertEqual([r["fault"] for r in recs],
                         ["status", "unauthorized_once", None, "drop_after", "stall", "hold",
                          "delay_headers"])


# ---------------------------------------------------------------------------
# POST /responses
# ---------------------------------------------------------------------------

TERMINAL = ("response.completed", "response.incomplete", "response.failed", "error")


def assemble_responses(test, events, same_ids=True):
    """Check the Responses event grammar; returns (terminal event, items by output_index)."""
    for seq, (name, data) in enumerate(events):
        test.assertEqual(name, data["type"])
        test.assertEqual(data["sequence_number"], seq)
    test.assertEqual([n for n, _ in events[:2]], ["response.created", "response.in_progress"])
    test.assertEqual(events[0][1]["response"]["status"], "in_progress")
    for name, _ in events[:-1]:
        test.assertNotIn(name, TERMINAL)
    items, added_ids = {}, {}
    for name, data in events[2:-1]:
        oi = data["output_index"]
        if name == "response.output_item.added":
            test.assertEqual(oi, len(items))
            items[oi] = {"added": data["item"], "text": "", "args": "", "summary": {},
                         "done": None, "kind": data["item"]["type"]}
            added_ids[oi] = data["item"].get("id")
            continue
        it = items[oi]
        test.assertIsNone(it["done"], "event after output_item.done")
        if same_ids and name != "response.output_item.done":
            test.assertEqual(data["item_id"], added_ids[oi])
        if name == "response.output_text.delta":
            test.assertEqual(data["content_index"], 0)
            it["text"] += data["delta"]
        elif name == "response.output_text.done":
            test.assertEqual(data["text"], it["text"])
        elif name == "response.reasoning_summary_text.delta":
            si = data["summary_index"]
            it["summary"][si] = it["summary"].get(si, "") + data["delta"]
        elif name == "response.reasoning_summary_text.done":
            test.assertEqual(data["text"], it["summary"][data["summary_index"]])
        elif name == "response.function_call_arguments.delta":
            it["args"] += data["delta"]
            it.setdefault("deltas", 0)
            it["deltas"] += 1
        elif name == "response.function_call_arguments.done":
            test.assertEqual(data["arguments"], it["args"])
        elif name == "response.output_item.done":
            if same_ids:
                test.assertEqual(data["item"]["id"], added_ids[oi])
            it["done"] = data["item"]
        else:
            test.assertIn(name, ("response.content_part.added", "response.content_part.done",
                                 "response.reasoning_summary_part.added",
                                 "response.reasoning_summary_part.done"))
    return events[-1], [items[i] for i in sorted(items)]


class TestResponses(NativeTestCase):
    PATH = "/responses"
    TOOLS = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
             {"type": "function", "name": "get_time", "parameters": {"type": "object"}}]

    def body(self, text="hi there", model="gpt-5.4", **extra):
        b = {"model": model, "instructions": "be brief",
             "input": [{"type": "message", "role": "user",
                        "content": [{"type": "input_text", "text": text}]}]}
        b.update(extra)
        return b

    def answer(self, text):
        return "You said: %s (%s)" % (text, NON_ASCII)

    def test_non_stream_shape(self):
        status, headers, out = self.post(self.PATH, self.body("ping " + NON_ASCII))
        self.assertEqual(status, 200, out)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.assertRegex(out["id"], r"^resp_")
        self.assertEqual((out["object"], out["status"], out["model"]), ("response", "completed", "gpt-5.4"))
        self.assertIsNone(out["incomplete_details"])
        self.assertIsNone(out["error"])
        rs, msg = out["output"]
        # A reasoning model reasons anyway; no summary or encrypted content unless asked.
        self.assertEqual((rs["type"], rs["summary"]), ("reasoning", []))
        self.assertRegex(rs["id"], r"^rs_")
        self.assertNotIn("encrypted_content", rs)
        self.assertRegex(msg["id"], r"^msg_")
        self.assertEqual((msg["type"], msg["role"], msg["status"]), ("message", "assistant", "completed"))
        self.assertEqual(msg["content"], [{"type": "output_text", "annotations": [], "logprobs": [],
                                           "text": self.answer("ping " + NON_ASCII)}])
        u = out["usage"]
        self.assertEqual(u["output_tokens_details"]["reasoning_tokens"], 32)
        self.assertEqual(u["output_tokens"], 32 + len(self.answer("ping " + NON_ASCII).split()))
        self.assertEqual(u["total_tokens"], u["input_tokens"] + u["output_tokens"])
        self.assertEqual(u["input_tokens_details"]["cached_tokens"], 0)
        # A string input, and effort "none": no reasoning item.
        _, _, out = self.post(self.PATH, {"model": "gpt-5-mini", "input": "plain",
                                          "reasoning": {"effort": "none"}})
        self.assertEqual([i["type"] for i in out["output"]], ["message"])
        self.assertEqual(out["output"][0]["content"][0]["text"], self.answer("plain"))
        self.assertEqual(out["usage"]["output_tokens_details"]["reasoning_tokens"], 0)

    def test_stream_all_chunking_modes(self):
        for mode in CHUNKINGS:
            with self.subTest(chunking=mode):
                self.config(chunking=mode, seed=5)
                text = "%s %s" % (mode, NON_ASCII)
                events, chunks, terminated = self.stream(self.PATH, self.body(text))
                self.assertTrue(terminated)
                self.check_chunking(mode, chunks, events)
                final, items = assemble_responses(self, events)
                self.assertEqual(final[0], "response.completed")
                self.assertEqual([i["kind"] for i in items], ["reasoning", "message"])
                self.assertEqual(items[1]["text"], self.answer(text))
                names = [n for n, _ in events]
                self.assertEqual(names[names.index("response.output_item.added", 3):][:2],
                                 ["response.output_item.added", "response.content_part.added"])
                self.assertGreaterEqual(names.count("response.output_text.delta"), 3)
                resp = final[1]["response"]
                self.assertEqual(resp["status"], "completed")
                self.assertEqual(resp["output"], [i["done"] for i in items])
                self.assertEqual(resp["output"][1]["content"][0]["text"], self.answer(text))

    def test_refusal(self):
        # OpenAI's refusal: a "refusal" content part; streamed as
        # response.refusal.delta / response.refusal.done (no logprobs).
        text = "I'm sorry, I can't help with that. " + NON_ASCII
        self.config(refusal=text, tool_calls=[{"name": "get_weather", "arguments": {}}])
        body = self.body("x", tools=self.TOOLS)
        _, _, out = self.post(self.PATH, body)
        self.assertEqual(out["status"], "completed")
        self.assertEqual([i["type"] for i in out["output"]], ["reasoning", "message"])
        self.assertEqual(out["output"][1]["content"], [{"type": "refusal", "refusal": text}])
        events, _, terminated = self.stream(self.PATH, body)
        self.assertTrue(terminated)
        names = [n for n, _ in events]
        self.assertNotIn("response.output_text.delta", names)
        self.assertNotIn("response.function_call_arguments.delta", names)
        added = [d for n, d in events if n == "response.content_part.added"]
        self.assertEqual(added[0]["part"], {"type": "refusal", "refusal": ""})
        deltas = [d for n, d in events if n == "response.refusal.delta"]
        self.assertGreaterEqual(len(deltas), 3)
        self.assertEqual("".join(d["delta"] for d in deltas), text)
        self.assertEqual(set(deltas[0]), {"type", "sequence_number", "item_id", "output_index",
                                          "content_index", "delta"})
        done = [d for n, d in events if n == "response.refusal.done"]
        self.assertEqual((done[0]["refusal"], done[0]["content_index"]), (text, 0))
        part_done = [d for n, d in events if n == "response.content_part.done"]
        self.assertEqual(part_done[0]["part"], {"type": "refusal", "refusal": text})
        final = events[-1][1]["response"]
        self.assertEqual(final["output"][1]["content"], [{"type": "refusal", "refusal": text}])

    def test_reasoning_summary_and_encrypted_content(self):
        self.config(reasoning_text=["**Plan** first ✓", "Then answer."])
        body = self.body("r", include=["reasoning.encrypted_content"],
                         reasoning={"effort": "high", "summary": "detailed"})
        _, _, out = self.post(self.PATH, body)
        rs = out["output"][0]
        self.assertEqual(rs["summary"], [{"type": "summary_text", "text": "**Plan** first ✓"},
                                         {"type": "summary_text", "text": "Then answer."}])
        self.assertTrue(rs["encrypted_content"])
        self.assertEqual(out["reasoning"], {"effort": "high", "summary": "detailed"})
        events, _, _ = self.stream(self.PATH, body)
        final, items = assemble_responses(self, events)
        self.assertEqual(items[0]["summary"], {0: "**Plan** first ✓", 1: "Then answer."})
        self.assertEqual(items[0]["added"]["summary"], [])
        self.assertNotIn("encrypted_content", items[0]["added"])
        self.assertEqual(items[0]["done"]["encrypted_content"], rs["encrypted_content"])
        names = [n for n, _ in events]
        self.assertEqual(names.count("response.reasoning_summary_part.added"), 2)
        self.assertEqual(names.count("response.reasoning_summary_part.done"), 2)
        # Without reasoning_text the summary comes from the template, only when asked for.
        self.config(reasoning_text=None)
        _, _, out = self.post(self.PATH, self.body("q", reasoning={"summary": "auto"}))
        self.assertEqual(out["output"][0]["summary"][0]["text"], "Thinking about: q")

    def test_parallel_function_calls_then_output_turn(self):
        self.config(tool_calls=[{"name": "get_weather", "arguments": {"city": "Zürich"}, "id": "call_w"},
                                {"name": "get_time", "arguments": {"tz": "UTC"}}])
        body = self.body("tools?", tools=self.TOOLS)
        _, _, out = self.post(self.PATH, body)
        calls = [i for i in out["output"] if i["type"] == "function_call"]
        self.assertEqual([(c["call_id"], c["name"], json.loads(c["arguments"])) for c in calls],
                         [("call_w", "get_weather", {"city": "Zürich"}),
                          ("call_fake_1", "get_time", {"tz": "UTC"})])
        self.assertTrue(all(c["id"].startswith("fc_") and c["status"] == "completed" for c in calls))
        self.assertNotIn("message", [i["type"] for i in out["output"]])
        for mode in CHUNKINGS:
            with self.subTest(chunking=mode):
                self.config(chunking=mode)
                events, _, terminated = self.stream(self.PATH, body)
                self.assertTrue(terminated)
                final, items = assemble_responses(self, events)
                fcs = [i for i in items if i["kind"] == "function_call"]
                self.assertEqual(len(fcs), 2)
                for fc, want in zip(fcs, calls):
                    self.assertEqual(fc["added"]["arguments"], "")
                    self.assertEqual(fc["added"]["status"], "in_progress")
                    self.assertEqual(fc["args"], want["arguments"])
                    self.assertEqual(fc["deltas"], 3)
                    self.assertEqual(fc["done"]["call_id"], want["call_id"])
                self.assertEqual(final[0], "response.completed")
        # The next turn carries the outputs: they are acknowledged, no calls.
        turn2 = self.body("tools?", tools=self.TOOLS)
        turn2["input"] += [dict(c) for c in calls] + [
            {"type": "function_call_output", "call_id": "call_w", "output": "sunny ☀"},
            {"type": "function_call_output", "call_id": "call_fake_1",
             "output": [{"type": "input_text", "text": "noon"}]}]
        _, _, out = self.post(self.PATH, turn2)
        self.assertEqual([i["type"] for i in out["output"]], ["reasoning", "message"])
        self.assertEqual(out["output"][1]["content"][0]["text"], "Tool said: sunny ☀ | noon")
        events, _, _ = self.stream(self.PATH, turn2)
        self.assertEqual(assemble_responses(self, events)[1][1]["text"], "Tool said: sunny ☀ | noon")
        # An output without its call is rejected, as OpenAI does.
        bad = self.body("x")
        bad["input"].append({"type": "function_call_output", "call_id": "call_zz", "output": "?"})
        status, _, err = self.post(self.PATH, bad)
        self.assertEqual(status, 400)
        self.assertIn("call_zz", err["error"]["message"])
        # Reasoning items must carry encrypted content and an rs_ id (store is false).
        for item in ({"type": "reasoning", "id": "", "summary": [], "encrypted_content": "E"},
                     {"type": "reasoning", "id": "rs_1", "summary": []},
                     {"type": "compaction", "id": "cmp_1"}):
            bad = self.body("x")
            bad["input"].insert(0, item)
            status, _, err = self.post(self.PATH, bad)
            self.assertEqual(status, 400, item)
            self.assertIn("not persisted", err["error"]["message"])
        good = self.body("x")
        good["input"][:0] = [{"type": "compaction", "id": "cmp_1", "encrypted_content": "C"},
                             {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "E"}]
        self.assertEqual(self.post(self.PATH, good)[0], 200)
        self.config(validate_history=False)
        self.assertEqual(self.post(self.PATH, bad)[0], 200)
        self.config(validate_history=True)
        # tool_choice none → text; required without config → a call to the first tool.
        _, _, out = self.post(self.PATH, self.body("x", tools=self.TOOLS, tool_choice="none"))
        self.assertEqual(out["output"][-1]["type"], "message")
        self.config(tool_calls=None)
        _, _, out = self.post(self.PATH, self.body("x", tools=self.TOOLS, tool_choice="required"))
        self.assertEqual((out["output"][-1]["type"], out["output"][-1]["name"]),
                         ("function_call", "get_weather"))

    def test_item_id_quirk(self):
        self.config(item_id_quirk=True, tool_calls=[{"name": "get_time", "arguments": {}}])
        for body in (self.body("q"), self.body("q", tools=self.TOOLS)):
            events, _, _ = self.stream(self.PATH, body)
            final, items = assemble_responses(self, events, same_ids=False)
            for oi, it in enumerate(items):
                ids = [d.get("item_id") for n, d in events[2:-1]
                       if d.get("output_index") == oi and "item_id" in d]
                self.assertNotEqual(it["added"]["id"], it["done"]["id"])
                self.assertNotIn(it["added"]["id"], ids)
                self.assertEqual(len(set(ids)), len(ids))
                self.assertEqual(it["done"]["id"].split("_")[0], it["added"]["id"].split("_")[0])
            self.assertEqual(final[1]["response"]["output"], [i["done"] for i in items])
            if items[-1]["kind"] == "function_call":
                self.assertEqual(items[-1]["added"]["call_id"], items[-1]["done"]["call_id"])
        self.config(item_id_quirk="missing")
        events, _, _ = self.stream(self.PATH, self.body("q"))
        final, items = assemble_responses(self, events, same_ids=False)
        self.assertTrue(all("id" not in i["added"] and i["done"]["id"] for i in items))
        self.assertFalse([d for n, d in events if "item_id" in d])

    def test_incomplete(self):
        # Reasoning alone (32 tokens) exhausts 16: only the reasoning item comes back.
        _, _, out = self.post(self.PATH, self.body("x", max_output_tokens=16))
        self.assertEqual((out["status"], out["incomplete_details"]), ("incomplete", {"reason": "max_output_tokens"}))
        self.assertEqual([i["type"] for i in out["output"]], ["reasoning"])
        self.assertEqual(out["usage"]["output_tokens"], 16)
        long_text = " ".join("w%d" % i for i in range(30))
        self.config(answer_text=long_text)
        body = self.body("x", max_output_tokens=20, reasoning={"effort": "none"})
        _, _, out = self.post(self.PATH, body)
        msg = out["output"][0]
        self.assertEqual(msg["status"], "incomplete")
        self.assertEqual(msg["content"][0]["text"], " ".join("w%d" % i for i in range(20)) + " ")
        events, _, terminated = self.stream(self.PATH, body)
        self.assertTrue(terminated)
        final, items = assemble_responses(self, events)
        self.assertEqual(final[0], "response.incomplete")
        self.assertEqual(final[1]["response"]["incomplete_details"], {"reason": "max_output_tokens"})
        self.assertEqual(items[0]["text"], msg["content"][0]["text"])
        status, _, err = self.post(self.PATH, self.body("x", max_output_tokens=5))
        self.assertEqual((status, err["error"]["code"]), (400, "integer_below_min_value"))
        # Forced by config: the output stays whole (calls included).
        self.config(answer_text=None, incomplete_reason="content_filter",
                    tool_calls=[{"name": "get_time", "arguments": {}}])
        _, _, out = self.post(self.PATH, self.body("x", tools=self.TOOLS))
        self.assertEqual((out["status"], out["incomplete_details"]["reason"]), ("incomplete", "content_filter"))
        self.assertEqual(out["output"][-1]["type"], "function_call")

    def test_failed_and_stream_error(self):
        self.config(response_failed={"code": "server_error", "message": "boom ✗"})
        events, _, terminated = self.stream(self.PATH, self.body("a b c d"))
        self.assertTrue(terminated)
        final, items = assemble_responses(self, events)
        self.assertEqual(final[0], "response.failed")
        resp = final[1]["response"]
        self.assertEqual((resp["status"], resp["error"]), ("failed", {"code": "server_error", "message": "boom ✗"}))
        self.assertIsNone(items[-1]["done"])                 # cut in the middle of the text
        self.assertTrue(self.answer("a b c d").startswith(items[-1]["text"]))
        self.assertTrue(items[-1]["text"])
        _, _, out = self.post(self.PATH, self.body())
        self.assertEqual((out["status"], out["output"], out["error"]["message"]), ("failed", [], "boom ✗"))
        self.config(response_failed=None, stream_error=True)
        events, _, terminated = self.stream(self.PATH, self.body("a b c d"))
        self.assertTrue(terminated)
        final, _ = assemble_responses(self, events)
        self.assertEqual(final[1], {"type": "error", "sequence_number": len(events) - 1,
                                    "code": "server_error", "message":
                                    "The server had an error while processing your request.",
                                    "param": None})
        self.config(stream_error={"at": "start", "status_code": 429, "code": "rate_limit_exceeded",
                                  "message": "slow down"})
        events, _, terminated = self.stream(self.PATH, self.body("a b c d"))
        self.assertTrue(terminated)
        self.assertEqual([d for _, d in events], [{"type": "error", "sequence_number": 0,
                                                   "code": "rate_limit_exceeded",
                                                   "message": "slow down", "param": None,
                                                   "status_code": 429}])

    def test_compaction(self):
        self.config(compaction=True)
        cm = [{"type": "compaction", "compact_threshold": 1000}]
        _, _, out = self.post(self.PATH, self.body("c", context_management=cm))
        first = out["output"][0]
        self.assertEqual(first["type"], "compaction")
        self.assertRegex(first["id"], r"^cmp_")
        self.assertTrue(first["encrypted_content"])
        events, _, _ = self.stream(self.PATH, self.body("c", context_management=cm))
        _, items = assemble_responses(self, events)
        self.assertEqual([i["kind"] for i in items], ["compaction", "reasoning", "message"])
        self.assertEqual(items[0]["done"]["encrypted_content"], first["encrypted_content"])
        _, _, out = self.post(self.PATH, self.body("c"))       # not asked by the request
        self.assertNotIn("compaction", [i["type"] for i in out["output"]])
        self.config(compaction=False)
        _, _, out = self.post(self.PATH, self.body("c", context_management=cm))
        self.assertNotIn("compaction", [i["type"] for i in out["output"]])

    def test_usage_overrides(self):
        self.config(usage={"input_tokens": 100, "cached_tokens": 40, "output_tokens": 9,
                           "reasoning_tokens": 4})
        _, _, out = self.post(self.PATH, self.body())
        self.assertEqual(out["usage"], {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 40},
                                        "output_tokens": 9, "output_tokens_details": {"reasoning_tokens": 4},
                                        "total_tokens": 109})
        events, _, _ = self.stream(self.PATH, self.body())
        self.assertEqual(events[-1][1]["response"]["usage"], out["usage"])
        self.assertIsNone(events[0][1]["response"]["usage"])

    def test_copilot_usage_and_cache_write(self):
        cu = {"total_nano_aiu": 90000}
        self.config(copilot_usage=cu, usage={"input_tokens": 100, "cached_tokens": 40,
                                             "cache_write_tokens": 30})
        _, _, out = self.post(self.PATH, self.body())
        self.assertEqual(out["copilot_usage"], cu)
        self.assertEqual(out["usage"]["input_tokens_details"],
                         {"cached_tokens": 40, "cache_write_tokens": 30})
        events, _, _ = self.stream(self.PATH, self.body())
        self.assertEqual(events[-1][0], "response.completed")
        self.assertEqual(events[-1][1]["copilot_usage"], cu)
        self.assertEqual(events[-1][1]["response"]["usage"], out["usage"])
        self.assertNotIn("copilot_usage", events[-1][1]["response"])

    def test_errors(self):
        status, _, out = self.post(self.PATH, self.body(model="claude-sonnet-4.6"))
        self.assertEqual((status, out["error"]["code"]), (400, "unsupported_api_for_model"))
        status, _, out = self.post(self.PATH, self.body(model="nope"))
        self.assertEqual((status, out["error"]["code"]), (400, "model_not_supported"))
        status, _, out = self.post(self.PATH, {"model": "gpt-5.4"})
        self.assertEqual((status, out["error"]["param"]), (400, "input"))
        status, _, out = self.post(self.PATH, self.body(), auth=False)
        self.assertEqual((status, out["error"]["code"]), (401, "token_expired"))

    def test_faults(self):
        self.fault(path=self.PATH, kind="status", status=500, body="upstream boom")
        status, _, out = self.post(self.PATH, self.body())
        self.assertEqual((status, out), (500, b"upstream boom"))
        self.fault(path=self.PATH, kind="unauthorized_once", model="gpt-5.4")
        self.assertEqual(self.post(self.PATH, self.body(model="gpt-5-mini"))[0], 200)
        self.assertEqual(self.post(self.PATH, self.body())[0], 401)
        self.fault(path=self.PATH, kind="drop_after", events=4, bytes=12)
        r = self.raw("POST", self.PATH, self.body(stream=True), self.auth()).read_head()
        chunks, terminated = r.read_chunks()
        r.sock.close()
        self.assertFalse(terminated)
        data = b"".join(chunks)
        self.assertEqual(data.count(b"\n\n"), 4)
        self.assertEqual(data.split(b"\n\n")[-1], b"event: respo")
        self.fault(path=self.PATH, kind="stall", seconds=0.3, events=2)
        t0 = time.monotonic()
        events, _, terminated = self.stream(self.PATH, self.body())
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.assertTrue(terminated)
        self.assertEqual(events[-1][0], "response.completed")
        self.fault(path=self.PATH, kind="hold", name="r", events=2)
        r = self.raw("POST", self.PATH, self.body(stream=True), self.auth()).read_head()
        r.next_chunk()
        self.assertTrue(self.ctl("GET", "/_fake/wait_hold?name=r&timeout=5")["ok"])
        r.sock.close()
        out = self.ctl("GET", "/_fake/wait_disconnect?timeout=5&path=/responses")
        self.assertTrue(out["ok"])
        self.fault(path=self.PATH, kind="delay_headers", seconds=0.3)
        t0 = time.monotonic()
        self.assertEqual(self.post(self.PATH, self.body())[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)


class TestResponsesWebSearch(NativeTestCase):
    """The hosted web_search tool: web_search_call items, url_citation annotations."""
    PATH = "/responses"

    def body(self, text="Perform a web search for: c11 atomics", tool=None, **extra):
        b = {"model": "gpt-5-mini", "input": text, "tools": [tool or {"type": "web_search"}]}
        b.update(extra)
        return b

    def test_search_and_citations(self):
        status, _, out = self.post(self.PATH, self.body(
            include=["web_search_call.action.sources"]))
        self.assertEqual(status, 200, out)
        kinds = [i["type"] for i in out["output"]]
        self.assertEqual(kinds, ["reasoning", "web_search_call", "message"])
        call, msg = out["output"][1], out["output"][2]
        self.assertRegex(call["id"], r"^ws_")
        self.assertEqual(call["status"], "completed")
        self.assertEqual(call["action"]["type"], "search")
        self.assertEqual(call["action"]["query"], "Perform a web search for: c11 atomics")
        part = msg["content"][0]
        anns = part["annotations"]
        self.assertEqual(len(anns), 2)
        self.assertEqual([s["url"] for s in call["action"]["sources"]], [a["url"] for a in anns])
        for a in anns:
            self.assertEqual(a["type"], "url_citation")
            # the span is the markdown link to the page, in code points
            self.assertEqual(part["text"][a["start_index"]:a["end_index"]],
                             "[%s](%s)" % (a["title"], a["url"]))
        # without the include, no sources in the action
        _, _, out = self.post(self.PATH, self.body())
        self.assertNotIn("sources", out["output"][1]["action"])

    def test_filters_and_configured_results(self):
        tool = {"type": "web_search", "filters": {"allowed_domains": ["docs.example"],
                                                  "blocked_domains": ["bad.docs.example"]}}
        _, _, out = self.post(self.PATH, self.body(tool=tool))
        urls = [a["url"] for a in out["output"][-1]["content"][0]["annotations"]]
        self.assertTrue(urls and all(u.startswith("https://docs.example/") for u in urls), urls)
        self.config(web_search_queries=["a", "b"], web_search_results=[
            {"url": "https://docs.example/x", "title": "X"},
            {"url": "https://bad.docs.example/y", "title": "Y"},
            {"url": "https://elsewhere.example/z", "title": "Z"}])
        _, _, out = self.post(self.PATH, self.body(tool=tool))
        calls = [i["action"]["query"] for i in out["output"] if i["type"] == "web_search_call"]
        self.assertEqual(calls, ["a", "b"])
        anns = out["output"][-1]["content"][0]["annotations"]
        self.assertEqual([a["url"] for a in anns], ["https://docs.example/x"])
        # no search: no call, no citation
        self.config(web_search_queries=[])
        _, _, out = self.post(self.PATH, self.body())
        self.assertEqual([i["type"] for i in out["output"]], ["reasoning", "message"])
        self.assertEqual(out["output"][-1]["content"][0]["annotations"], [])
        # a bad filter is OpenAI's 400
        status, _, out = self.post(self.PATH, self.body(
            tool={"type": "web_search", "filters": {"allowed_domains": "docs.example"}}))
        self.assertEqual(status, 400)
        self.assertEqual(out["error"]["param"], "tools[0].filters.allowed_domains")
        self.ctl("POST", "/_fake/config", {"web_search_results": [{"title": "no url"}]}, expect=400)

    def test_stream_events(self):
        events, _, terminated = self.stream(self.PATH, self.body())
        self.assertTrue(terminated)
        names = [n for n, _ in events]
        ws = names.index("response.web_search_call.in_progress")
        self.assertEqual(names[ws - 1], "response.output_item.added")
        self.assertEqual(names[ws:ws + 4], ["response.web_search_call.in_progress",
                                           "response.web_search_call.searching",
                                           "response.web_search_call.completed",
                                           "response.output_item.done"])
        added = events[ws - 1][1]["item"]
        self.assertEqual((added["type"], added["status"]), ("web_search_call", "in_progress"))
        self.assertNotIn("action", added)
        self.assertEqual(events[ws][1]["item_id"], added["id"])
        anns = [d for n, d in events if n == "response.output_text.annotation.added"]
        self.assertEqual([a["annotation_index"] for a in anns], [0, 1])
        done = [d for n, d in events if n == "response.output_text.done"][0]
        last_delta = max(i for i, (n, _) in enumerate(events) if n == "response.output_text.delta")
        self.assertLess(last_delta, names.index("response.output_text.annotation.added"))
        final = events[-1][1]["response"]
        self.assertEqual(final["output"][-1]["content"][0]["annotations"],
                         [a["annotation"] for a in anns])
        self.assertEqual(final["output"][-1]["content"][0]["text"], done["text"])


class TestNativeConfig(NativeTestCase):
    def test_config_validation(self):
        for bad in ({"item_id_quirk": "sometimes"}, {"item_id_quirk": 1},
                    {"messages_delta_usage": "half"}, {"reasoning_text": 5},
                    {"reasoning_text": []}, {"response_failed": "yes"}, {"stream_error": 3},
                    {"compaction": "on"}, {"validate_history": 1}, {"usage": {"input_tokens": "10"}},
                    {"tool_result_template": None}, {"stop_reason": 1}):
            with self.subTest(bad=bad):
                self.ctl("POST", "/_fake/config", bad, expect=400)
        out = self.config(item_id_quirk="differ", reasoning_text=["a", "b"], response_failed=True,
                          stream_error={"message": "m"}, messages_delta_usage="output_only")
        self.assertEqual(out["config"]["item_id_quirk"], "differ")
        self.ctl("POST", "/_fake/reset", {})
        self.assertIs(self.ctl("GET", "/_fake/config")["config"]["item_id_quirk"], False)

    def test_chat_accepts_reasoning_text_list(self):
        self.config(reasoning_text=["one", "two"])
        _, _, out = self.call("POST", "/chat/completions", self.chat_body(), self.auth())
        self.assertEqual(out["choices"][0]["message"]["reasoning_text"], "one\n\ntwo")


if __name__ == "__main__":
    unittest.main()
