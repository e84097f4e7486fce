"""The README's `make run` path: `copilot-api start --port P` against a
prepared data directory whose config.json points upstream.* at the fake;
one request through it, then Ctrl-C (SIGINT) stops lighttpd and the
responder pool, and nothing of them is left."""

import os
import shutil
import signal
import subprocess
import tempfile
import unittest

import harness
import servers
from harness import BIN

CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "make run"}]}


def children_of(pid):
    """pid -> [(child pid, name)] for every process, from /proc."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out.setdefault(ppid, []).append((int(d), name))
    found, todo = [], [pid]
    while todo:
        for child in out.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@unittest.skipUnless(servers.have("lighttpd", "spawn-fcgi"), "needs lighttpd and spawn-fcgi")
class MakeRun(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gw-start-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.fake = harness.Fake(self.tmp)
        self.addCleanup(self.fake.close)

    def test_start_one_request_then_ctrl_c(self):
        home = servers.make_home(self.tmp, self.fake)
        if servers.RUN_AS is not None:       # start runs as us, not nobody
            for d, _, files in os.walk(home):
                os.chown(d, os.getuid(), os.getgid())
                for f in files:
                    os.chown(os.path.join(d, f), os.getuid(), os.getgid())
        port = harness.free_port()
        env = dict(os.environ, COPILOT_API_HOME=home)
        env.pop("COPILOT_API_ENTERPRISE_URL", None)
        log = open(os.path.join(self.tmp, "start.log"), "w+")
        self.addCleanup(log.close)
        proc = subprocess.Popen([os.path.join(BIN, "copilot-api"), "start", "--port", str(port)],
                                env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        self.addCleanup(harness.stop, proc, signal.SIGKILL)
        c = harness.Client()
        c.port = port

        def serving():
            self.assertIsNone(proc.poll(), "copilot-api start exited early")
            return c.get("/v1/models")[0] == 200
        harness.wait_until(serving, timeout=30, what="copilot-api start serving")
        status, _, body = c.json("POST", "/v1/chat/completions", CHAT)
        self.assertEqual(status, 200, body)
        self.assertIn("make run", body["choices"][0]["message"]["content"])
        # the dashboard the banner points at is found from the build tree
        status, headers, _ = c.request("GET", "/usage-viewer", key=None)
        self.assertEqual((status, headers["content-type"]), (200, "text/html; charset=utf-8"))

        kids = children_of(proc.pid)
        names = [n for _, n in kids]
        # lighttpd, and the responder (spawn-fcgi -n execs it) with the two
        # worker processes it pre-forks by default.
        self.assertIn("lighttpd", names)
        self.assertGreaterEqual(sum(n.startswith("copilot-api") for n in names), 3, kids)

        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=60), 0)
        log.seek(0)
        out = log.read()
        self.assertIn("serving on http://127.0.0.1:%d" % port, out)
        self.assertIn("http://127.0.0.1:%d/usage-viewer\n" % port, out)
        self.assertIn("Stopped.", out)
        harness.wait_until(lambda: not any(alive(p) for p, _ in kids),
                           what="lighttpd and the responder to be gone")
        self.assertFalse(os.path.exists(os.path.join(home, "run", "fcgi.sock")))


if __name__ == "__main__":
    unittest.main()
