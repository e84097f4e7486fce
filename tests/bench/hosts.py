#!/usr/bin/env python3
"""doc/scaling.md's numbers: one and two gateway hosts on one PostgreSQL
behind a lighttpd mod_proxy balancer (the setup of
tests/integration/test_hosts.py), in front of the fast fake upstream
(peer/fake.mjs), loaded with wrk (peer/post.lua, a small non-stream chat).

    python3 tests/bench/hosts.py [SECONDS] [CONNECTIONS] [ROUNDS]

Prints, per setup and round (one host on sqlite, one and two on
PostgreSQL, each behind the same balancer): requests/s, the CPU per request of the
gateway (responders + their lighttpd + the balancer) and of PostgreSQL, the
connections each host holds to PostgreSQL (pg_stat_activity, by
application_name), and the usage rows written per second.  Everything
binds 127.0.0.1; the machine is shared, so compare the rows of one run.

BASE_FCGI=path/to/an/older/copilot-api.fcgi adds a setup "1 base": one
PostgreSQL host on that binary, measured in the same rounds (a change's
before and after on the same load).
"""

import json
import os
import re
import subprocess
import sys
import shutil
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
from pg import PgCluster  # noqa: E402
from test_hosts import LoadBalancer, psql  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")


class NodeFake:
    """peer/fake.mjs on an ephemeral port, shaped like harness.Fake."""

    def __init__(self, workdir):
        self.log = open(os.path.join(workdir, "fake.log"), "w+")
        self.proc = subprocess.Popen(
            ["node", os.path.join(HERE, "peer", "fake.mjs"), "--port=0"],
            stdout=self.log, stderr=subprocess.STDOUT)

        def port():
            self.log.seek(0)
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)",
                          self.log.read())
            if m:
                self.url = m.group(1)
            return m is not None
        harness.wait_until(port, what="fake.mjs")

    def close(self):
        harness.stop(self.proc)
        self.log.close()


def tree(pid):
    """pid and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def cpu_s(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLK


def postgres_pids(pg):
    with open(os.path.join(pg.dir, "data", "postmaster.pid")) as f:
        return tree(int(f.readline()))


def wrk(url, seconds, conns, body_file):
    env = dict(os.environ, BODY_FILE=body_file, REQ_PATH="/v1/chat/completions",
               BENCH_API_KEY=harness.API_KEY)
    r = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds,
                        "-s", os.path.join(HERE, "peer", "post.lua"), url],
                       env=env, capture_output=True, text=True, check=True)
    line = [x for x in r.stdout.splitlines() if x.startswith("WRKJSON ")][0]
    return json.loads(line[8:])


def count_rows(pg, stacks):
    if stacks[0].config.get("storage") is None:
        return len(stacks[0]._rows())
    return int(psql(pg.url, "SELECT COUNT(*) FROM token_usage_events"))


def measure(name, lb, stacks, pg, seconds, conns, body_file):
    gw = [lb.proc.pid] + [p for s in stacks for p in
                          tree(s.fcgi.pid) + [s.httpd.pid]]
    pgp = postgres_pids(pg)
    rows0 = count_rows(pg, stacks)
    c0, p0 = cpu_s(gw), cpu_s(pgp)
    w = wrk(lb.url, seconds, conns, body_file)
    c1, p1 = cpu_s(gw), cpu_s(pgp + [p for p in postgres_pids(pg)
                                     if p not in pgp])
    conns_by_host = psql(pg.url, "SELECT application_name, COUNT(*) FROM "
                         "pg_stat_activity WHERE application_name LIKE "
                         "'host-%' GROUP BY 1 ORDER BY 1").replace("\n", " ")
    time.sleep(1)          # the batchers' last 200 ms
    rows = count_rows(pg, stacks) - rows0
    n = max(w["requests"], 1)
    errs = sum(w[k] for k in w if k.startswith("err_"))
    print("%-8s rps %7.0f  p50 %6.2f ms  p99 %6.2f ms  gateway CPU/req %.3f ms"
          "  postgres CPU/req %.3f ms  rows/s %6.0f  errors %d  conns %s"
          % (name, w["rps"], w["p50_us"] / 1000, w["p99_us"] / 1000,
             (c1 - c0) * 1000 / n, (p1 - p0) * 1000 / n,
             rows / (w["duration_us"] / 1e6), errs, conns_by_host),
          flush=True)


def streams(lb, pg, n):
    """n streams at once through the balancer, each 4 s long: the
    connections the grown thread pools hold at the peak."""
    body = {"model": "gpt-4.1", "stream": True, "messages": [
        {"role": "user", "content": "[fake:deltas=40,pace=100] hi"}]}
    got = []

    def one():
        try:
            r, c = lb.stream("/v1/chat/completions", body)
            data = r.read()
            c.close()
            got.append("complete" if r.status == 200 and b"[DONE]" in data
                       else "HTTP %d" % r.status)
        except Exception as e:      # a stream cut short
            got.append(type(e).__name__)
    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts:
        t.start()
    time.sleep(2.5)
    try:
        peak = psql(pg.url, "SELECT application_name, COUNT(*) FROM "
                    "pg_stat_activity WHERE application_name LIKE 'host-%' "
                    "GROUP BY 1 ORDER BY 1").replace("\n", " ")
    except AssertionError as e:
        peak = "unknown (%s)" % str(e).strip().splitlines()[-1]
    for t in ts:
        t.join(60)
    print("%d streams at once: %s; connections at the peak: %s"
          % (n, {k: got.count(k) for k in set(got)}, peak), flush=True)


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    threads = int(os.environ.get("HOST_THREADS", "16"))
    work = tempfile.mkdtemp(prefix="gw-bench-hosts-")
    pg = fake = lb0 = lb1 = lb2 = lb3 = None
    stacks = []
    try:
        pg = PgCluster(work)
        fake = NodeFake(work)
        for name in ("host-a", "host-b"):
            url = pg.url + ("&" if "?" in pg.url else "?") + \
                "application_name=" + name
            stacks.append(harness.Stack(
                config={"storage": {"driver": "postgresql", "url": url}},
                fake=fake, threads=threads))
        # the same host on sqlite, for the driver's cost
        stacks.append(harness.Stack(fake=fake, threads=threads))
        base, lb3 = os.environ.get("BASE_FCGI"), None
        if base:
            # spawn-fcgi runs the wrapper, which runs the older binary
            stacks.append(harness.Stack(
                config={"storage": {"driver": "postgresql", "url": pg.url + (
                    "&" if "?" in pg.url else "?") + "application_name=host-base"}},
                fake=fake, threads=threads,
                wrapper=[shutil.which("sh"), "-c", 'exec "$0"', os.path.abspath(base)]))
        # the same balancer with one host twice, or a and b
        for d in ("lb0", "lb1", "lb2"):
            os.makedirs(os.path.join(work, d))
        lb0 = LoadBalancer(os.path.join(work, "lb0"), [stacks[2].port] * 2)
        lb1 = LoadBalancer(os.path.join(work, "lb1"), [stacks[0].port] * 2)
        lb2 = LoadBalancer(os.path.join(work, "lb2"), [s.port for s in stacks])
        if base:
            os.makedirs(os.path.join(work, "lb3"))
            lb3 = LoadBalancer(os.path.join(work, "lb3"), [stacks[3].port] * 2)
        for lb in [x for x in (lb0, lb1, lb2, lb3) if x is not None]:
            lb.url = "http://127.0.0.1:%d" % lb.port
        body_file = os.path.join(work, "chat.json")
        with open(body_file, "w") as f:
            json.dump({"model": "gpt-4.1", "messages": [
                {"role": "user", "content": "hello"}]}, f)
        for s in stacks:               # tokens, model lists, connections
            for _ in range(threads):
                s.json("POST", "/v1/chat/completions",
                       json.load(open(body_file)))
        print("%d s per load, c=%d, %d threads per host, %d cores"
              % (seconds, conns, threads, os.cpu_count()), flush=True)
        for r in range(rounds):
            measure("sqlite", lb0, stacks[2:], pg, seconds, conns, body_file)
            measure("1 host", lb1, stacks[:1], pg, seconds, conns, body_file)
            measure("2 hosts", lb2, stacks[:2], pg, seconds, conns, body_file)
            if lb3 is not None:
                measure("1 base", lb3, stacks[3:], pg, seconds, conns,
                        body_file)
        for n in os.environ.get("STREAMS", "24 96").split():
            streams(lb2, pg, int(n))
            time.sleep(12)          # the grown threads end (10 s idle)
        print("postgres max_connections", psql(pg.url, "SHOW max_connections"))
    finally:
        for x in [lb0, lb1, lb2, lb3] + stacks + [fake]:
            if x is not None:
                x.close()
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
