"""GET /healthz, /readyz and /metrics through lighttpd, with two pre-forked
responder processes of one thread each (COPILOT_API_MAX_THREADS=1: the
pool does not grow).

Two streamed requests parked at the same time at a fake upstream hold are
necessarily served by different processes; one /metrics answer afterwards
counts both, so the counters are the pool's, not one process's."""

import re
import unittest

import harness
from harness import ADMIN_KEY

CHAT_MODEL = "gemini-2.5-pro"      # a chat-only fake model: /chat/completions

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*='
                    r'"(?:[^"\\\n]|\\["\\n])*",?)*\})? (-?[0-9.]+|\+Inf)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """The exposition as {family: type} and [(name, {labels}, value)],
    checking the shape the text format requires on the way."""
    types, samples, helped = {}, [], set()
    assert text.endswith("\n"), "no final newline"
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name in helped, "TYPE before HELP: " + name
            assert name not in types, "family twice: " + name
            types[name] = kind
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name = m.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or family in types, "sample before TYPE: " + name
        labels = dict(LABEL.findall(m.group(2) or ""))
        samples.append((name, labels, float(m.group(3))))
    return types, samples


def value(samples, name, **labels):
    got = [v for n, lab, v in samples if n == name and lab == labels]
    return got[0] if got else None


class Health(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(env={"COPILOT_API_PROCESSES": "2",
                                   "COPILOT_API_MAX_THREADS": "1"}, threads=1)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    def metrics(self):
        status, headers, body = self.s.get("/metrics", key=ADMIN_KEY)
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["content-type"].startswith(
            "text/plain; version=0.0.4"), headers)
        return parse(body.decode())

    def test_healthz_and_readyz_need_no_key(self):
        status, _, body = self.s.json("GET", "/healthz", key=None)
        self.assertEqual((status, body), (200, {"status": "ok"}))
        status, _, body = self.s.json("GET", "/readyz", key=None)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "ready")
        self.assertGreater(body["models"]["count"], 0)

    def test_metrics_needs_the_admin_key(self):
        self.assertEqual(self.s.get("/metrics", key=None)[0], 401)
        self.assertEqual(self.s.get("/metrics")[0], 401)     # regular key

    def test_requests_in_both_processes_are_counted_once(self):
        _, before = self.metrics()
        series = dict(route="/v1/messages", status="200", model=CHAT_MODEL)
        base = value(before, "copilot_api_requests_total", **series) or 0
        fb = value(before, "copilot_api_stream_first_byte_seconds_count") or 0

        def one():
            return self.s.request("POST", "/v1/messages", {
                "model": CHAT_MODEL, "max_tokens": 16, "stream": True,
                "messages": [{"role": "user", "content": "count me"}]})[0]

        self.assertEqual(self.s.parked_pair("/chat/completions", one), [200, 200])

        # A request is counted once its answer is complete (the client may
        # read it a moment before): wait for both counts.
        harness.wait_until(
            lambda: value(self.metrics()[1], "copilot_api_requests_total",
                          **series) == base + 2,
            timeout=10, what="both requests counted")
        types, after = self.metrics()
        self.assertEqual(value(after, "copilot_api_requests_total", **series),
                         base + 2)
        self.assertEqual(
            value(after, "copilot_api_stream_first_byte_seconds_count"), fb + 2)
        self.assertEqual(value(after, "copilot_api_active_streams"), 0)
        self.assertEqual(types, {
            "copilot_api_requests_total": "counter",
            "copilot_api_upstream_duration_seconds": "histogram",
            "copilot_api_stream_first_byte_seconds": "histogram",
            "copilot_api_active_streams": "gauge",
            "copilot_api_token_refreshes_total": "counter",
            "copilot_api_usage_rows_spooled_total": "counter",
        })
        # the sign-in's token exchange, counted by whichever process did it
        self.assertGreaterEqual(value(after, "copilot_api_token_refreshes_total",
                                      result="success"), 1)
        for h in ("copilot_api_upstream_duration_seconds",
                  "copilot_api_stream_first_byte_seconds"):
            buckets = [v for n, lab, v in after if n == h + "_bucket"]
            self.assertEqual(buckets, sorted(buckets), h)
            self.assertEqual(value(after, h + "_bucket", le="+Inf"),
                             value(after, h + "_count"), h)


if __name__ == "__main__":
    unittest.main()
