"""The responder's pool grows while every thread is busy and shrinks back
afterwards (issue 11: long streams must not queue the next request)."""

import json
import os
import threading
import time
import unittest

import harness

SPARE = 2
HELD = 8
CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}


def tasks(pid):
    return len(os.listdir("/proc/%d/task" % pid))


class Pool(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(threads=SPARE)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_grows_past_its_spare_threads_and_shrinks_back(self):
        s = self.s
        pid = s.fcgi.pid
        idle = tasks(pid)
        # HELD requests parked upstream at the same time: with only the
        # SPARE threads of the start, at most SPARE could be.
        s.fake.fault(path="/chat/completions", kind="hold", name="pool", times=HELD)
        got = []
        ts = [threading.Thread(target=lambda: got.append(
            s.json("POST", "/v1/chat/completions", CHAT)[0])) for _ in range(HELD)]
        for t in ts:
            t.start()
        try:
            w = s.fake.call("GET", "/_fake/wait_hold?name=pool&count=%d&timeout=20" % HELD)
            self.assertTrue(w["ok"], w)
            self.assertGreaterEqual(tasks(pid), idle + HELD - SPARE)
            # and one more request is answered while they are held
            self.assertEqual(s.json("GET", "/v1/models")[0], 200)
        finally:
            s.fake.call("POST", "/_fake/release", {"all": True})
            for t in ts:
                t.join(30)
        self.assertEqual(got, [200] * HELD)
        # the extra threads leave once their requests are done
        harness.wait_until(lambda: tasks(pid) <= idle, timeout=20,
                           what="the pool back at its spare threads")

    def test_max_threads_bounds_the_growth(self):
        s = harness.Stack(threads=1, env={"COPILOT_API_MAX_THREADS": "3"})
        try:
            s.fake.fault(path="/chat/completions", kind="hold", name="cap", times=3)
            got = []
            ts = [threading.Thread(target=lambda: got.append(
                s.json("POST", "/v1/chat/completions", CHAT)[0])) for _ in range(5)]
            for t in ts:
                t.start()
            try:
                # three reach the upstream and are held there; the other
                # two wait in the web server for a thread
                w = s.fake.call("GET", "/_fake/wait_hold?name=cap&count=3&timeout=20")
                self.assertTrue(w["ok"], w)
                time.sleep(1)
                self.assertEqual(len(s.fake.requests("/chat/completions")), 3)
            finally:
                s.fake.call("POST", "/_fake/release", {"all": True})
                for t in ts:
                    t.join(30)
            # released, the three made room for the two that waited
            self.assertEqual(got, [200] * 5)
            self.assertEqual(len(s.fake.requests("/chat/completions")), 5)
        finally:
            s.close()

if __name__ == "__main__":
    unittest.main()
