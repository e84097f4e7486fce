"""No process outlives the one that started it: the pre-forked workers die
with their master (under bare `spawn-fcgi -n` and under `copilot-api
start`), `copilot-api start` restarts a responder that died, and its
children die with it even when it is killed with SIGKILL."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness
import servers
from harness import BIN
from test_deploy_start import alive, children_of

CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "orphans"}]}


def processes_of(home):
    """Every process whose environment names this data directory."""
    want = ("COPILOT_API_HOME=" + home).encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if want in f.read().split(b"\0"):
                    found.append(int(d))
        except OSError:
            pass
    return found


def gone_within(test, pids, seconds, what):
    t0 = time.monotonic()
    harness.wait_until(lambda: not any(alive(p) for p in pids), timeout=seconds + 5,
                       what=what)
    test.assertLess(time.monotonic() - t0, seconds, what)


@unittest.skipUnless(servers.have("lighttpd", "spawn-fcgi"), "needs lighttpd and spawn-fcgi")
class SpawnFcgiMaster(unittest.TestCase):
    def test_workers_die_with_a_killed_master(self):
        s = harness.Stack(env={"COPILOT_API_PROCESSES": "2"})
        try:
            self.assertEqual(s.json("POST", "/v1/chat/completions", CHAT)[0], 200)
            workers = [p for p, _ in children_of(s.fcgi.pid)]
            self.assertEqual(len(workers), 2, workers)
            s.fcgi.send_signal(signal.SIGKILL)
            s.fcgi.wait(timeout=10)
            gone_within(self, workers, 3, "the workers of a killed master")
            # nobody serves the old socket any more
            self.assertRaises(OSError, s.fcgi_listening)
        finally:
            s.close()


@unittest.skipUnless(servers.have("lighttpd", "spawn-fcgi"), "needs lighttpd and spawn-fcgi")
class StartSupervises(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gw-orphans-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.fake = harness.Fake(self.tmp)
        self.addCleanup(self.fake.close)
        home = self.home = servers.make_home(self.tmp, self.fake)
        if servers.RUN_AS is not None:       # start runs as us, not nobody
            for d, _, files in os.walk(home):
                os.chown(d, os.getuid(), os.getgid())
                for f in files:
                    os.chown(os.path.join(d, f), os.getuid(), os.getgid())
        self.port = harness.free_port()
        env = dict(os.environ, COPILOT_API_HOME=home)
        env.pop("COPILOT_API_ENTERPRISE_URL", None)
        self.log = open(os.path.join(self.tmp, "start.log"), "w+")
        self.addCleanup(self.log.close)
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "copilot-api"), "start", "--port", str(self.port)],
            env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.addCleanup(self.cleanup)
        self.c = harness.Client()
        self.c.port = self.port
        self.wait_serving()

    def cleanup(self):
        kids = children_of(self.proc.pid)
        harness.stop(self.proc, signal.SIGKILL)
        for p, _ in kids:
            if alive(p):
                os.kill(p, signal.SIGKILL)

    def wait_serving(self):
        def serving():
            self.assertIsNone(self.proc.poll(), "copilot-api start exited: " + self.log_text())
            return self.c.get("/v1/models")[0] == 200
        harness.wait_until(serving, timeout=30, what="copilot-api start serving")

    def log_text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def responder(self):
        """(master pid, [worker pids]) of the responder under start."""
        master = [p for p, n in children_of(self.proc.pid)
                  if n.startswith("copilot-api") and ppid(p) == self.proc.pid and
                  alive(p)]
        self.assertEqual(len(master), 1, children_of(self.proc.pid))
        return master[0], [p for p, _ in children_of(master[0])]

    def test_a_killed_responder_is_restarted_and_its_workers_go(self):
        master, workers = self.responder()
        self.assertEqual(len(workers), 2)
        os.kill(master, signal.SIGKILL)
        gone_within(self, workers, 3, "the workers of the killed responder")
        harness.wait_until(lambda: "restarting the responder" in self.log_text(),
                           what="the restart notice")
        self.wait_serving()
        status, _, body = self.c.json("POST", "/v1/chat/completions", CHAT)
        self.assertEqual(status, 200, body)
        new_master, new_workers = self.responder()
        self.assertNotEqual(new_master, master)
        self.assertEqual(len(new_workers), 2)
        self.assertIsNone(self.proc.poll())

    def test_killing_start_takes_everything_with_it(self):
        kids = [p for p, _ in children_of(self.proc.pid)]
        names = [n for _, n in children_of(self.proc.pid)]
        self.assertIn("lighttpd", names)
        self.assertGreaterEqual(len(kids), 4, names)   # lighttpd, master, 2 workers
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        gone_within(self, kids, 5, "lighttpd and the responder after start was killed")
        harness.wait_until(lambda: not processes_of(self.home), timeout=10,
                           what="every process of the pool gone")

    def test_a_responder_that_keeps_dying_stops_everything(self):
        httpd = [p for p, n in children_of(self.proc.pid) if n == "lighttpd"]
        deaths = 0
        t0 = time.monotonic()
        while self.proc.poll() is None and time.monotonic() - t0 < 60:
            try:
                master, _ = self.responder()
            except AssertionError:      # between a death and its restart
                time.sleep(0.05)
                continue
            try:
                os.kill(master, signal.SIGKILL)
            except ProcessLookupError:
                continue
            deaths += 1
            harness.wait_until(lambda: not alive(master), what="the responder to die")
        self.assertEqual(self.proc.wait(timeout=30), 1)
        self.assertIn("died 6 times", self.log_text())
        self.assertEqual(deaths, 6)
        # and nothing it started lives on, re-parented or not (a worker
        # whose stop signal went to a thread that swallowed it did)
        harness.wait_until(lambda: not processes_of(self.home), timeout=10,
                           what="every process of the pool gone")
        gone_within(self, httpd, 5, "lighttpd after the responder gave up")


def ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])


if __name__ == "__main__":
    unittest.main()
