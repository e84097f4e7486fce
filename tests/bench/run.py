"""make bench: the latency the gateway adds to a non-streaming chat call.

The same request goes (a) straight to the fake upstream and (b) through
lighttpd + copilot-api.fcgi to the same fake, at concurrency 1 and 32, in
one run on one machine.  The ratio (b)/(a) is the number to watch; absolute
times on a shared 2-core machine are noise."""

import http.client
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
import harness  # noqa: E402

BODY = json.dumps({"model": "gpt-4.1", "max_tokens": 64,
                   "messages": [{"role": "user", "content": "benchmark"}]}).encode()


def worker(port, headers, n, out):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(n):
        t = time.perf_counter()
        c.request("POST", "/chat/completions", body=BODY, headers=headers)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("status %d" % r.status)
        out.append(time.perf_counter() - t)
    c.close()


def measure(port, headers, conc, total):
    lat = []
    per = max(1, total // conc)
    ts = [threading.Thread(target=worker, args=(port, headers, per, lat)) for _ in range(conc)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {"p50": lat[len(lat) // 2] * 1000, "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "rps": len(lat) / wall, "n": len(lat)}


def main():
    stack = harness.Stack(threads=16)
    try:
        # The direct calls reuse the Copilot token the gateway was given.
        direct_headers = {"content-type": "application/json"}
        status, _, _ = stack.json("POST", "/v1/chat/completions", json.loads(BODY))
        assert status == 200, status
        rows = stack.fake.requests("/chat/completions")
        direct_headers["authorization"] = rows[-1]["headers"]["authorization"]
        gw_headers = {"content-type": "application/json",
                      "authorization": "Bearer " + harness.API_KEY}
        print("%-8s %-6s %10s %10s %10s" % ("path", "conc", "p50 ms", "p99 ms", "req/s"))
        for conc, total in ((1, 300), (32, 1600)):
            stack.fake.reset()
            d = measure(stack.fake.port, direct_headers, conc, total)
            g = measure(stack.port, gw_headers, conc, total)
            for name, m in (("direct", d), ("gateway", g)):
                print("%-8s %-6d %10.2f %10.2f %10.0f" % (name, conc, m["p50"], m["p99"], m["rps"]))
            print("ratio    c=%-4d p50 x%.2f  p99 x%.2f  (gateway/direct)"
                  % (conc, g["p50"] / d["p50"], g["p99"] / d["p99"]))
    finally:
        stack.close()


if __name__ == "__main__":
    main()
