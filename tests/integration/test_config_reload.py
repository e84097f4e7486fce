"""config.json is live in every process of the pool: a change made through
POST /admin/config/model-mappings (served by one process) or by hand reaches
the others within about a second, without a restart.

Two pre-forked processes of one thread each, which do not grow
(COPILOT_API_MAX_THREADS=1): two requests parked at the same time at a fake
upstream hold are necessarily in different processes, so both processes are
shown to answer with the new mapping.  A process looks at the file when it
serves a request and, idle, once a second (app_watch_start), so one left idle
while a valid version came and went does not keep the version before it when
an invalid one follows."""

import json
import os
import time
import unittest

import harness
from harness import ADMIN_KEY

CHAT_MODEL = "gemini-2.5-pro"      # a chat-only fake model: /chat/completions


class ConfigReload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(
            config={"modelMappings": {"alias": "gpt-4.1"}},
            env={"COPILOT_API_PROCESSES": "2",
                 "COPILOT_API_MAX_THREADS": "1"}, threads=1)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    def upstream_models(self):
        """Two concurrent /v1/messages requests for "alias", parked together
        (one per process): the upstream model each one was sent."""
        def one():
            return self.s.request("POST", "/v1/messages", {
                "model": "alias", "max_tokens": 16, "stream": True,
                "messages": [{"role": "user", "content": "which model"}]})[0]

        self.assertEqual(self.s.parked_pair("/chat/completions", one), [200, 200])
        return [r["body"]["model"] for r in self.s.fake.requests("/chat/completions")]

    def test_admin_post_reaches_the_other_process(self):
        self.assertEqual(self.upstream_models(), ["gpt-4.1"] * 2)
        self.s.fake.reset()
        status, _, body = self.s.json("POST", "/admin/config/model-mappings",
                                      {"modelMappings": {"alias": CHAT_MODEL}},
                                      key=ADMIN_KEY)
        self.assertEqual(status, 200, body)
        time.sleep(1.1)
        self.assertEqual(self.upstream_models(), [CHAT_MODEL] * 2)

    def test_hand_edit_reaches_every_process(self):
        path = os.path.join(self.s.home, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["modelMappings"] = {"alias": "gpt-4o-mini"}
        with open(path, "w") as f:          # in place, as a text editor may
            json.dump(cfg, f, indent=2)
        time.sleep(1.1)
        self.assertEqual(self.upstream_models(), ["gpt-4o-mini"] * 2)

    def test_idle_processes_follow_a_version_they_served_nothing_with(self):
        """A valid version comes, stays 2.5 s while no request is served, and
        an invalid one follows: both processes serve the valid one (looking
        only when serving, both kept the version before it)."""
        path = os.path.join(self.s.home, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        before = cfg.get("modelMappings", {}).get("alias")
        now = "gpt-4o-mini" if before != "gpt-4o-mini" else "gpt-4.1"
        cfg["modelMappings"] = {"alias": now}
        good = json.dumps(cfg, indent=2)
        try:
            with open(path, "w") as f:
                f.write(good)
            time.sleep(2.5)
            with open(path, "w") as f:
                f.write(good[:-5])              # cut short: invalid
            time.sleep(1.1)
            self.s.fake.reset()
            self.assertEqual(self.upstream_models(), [now] * 2)
        finally:
            with open(path, "w") as f:
                f.write(good)
            time.sleep(1.1)

    def test_invalid_edit_keeps_the_old_config(self):
        self.s.fake.reset()
        status, _, _ = self.s.json("POST", "/admin/config/model-mappings",
                                   {"modelMappings": {"alias": "gpt-4.1"}},
                                   key=ADMIN_KEY)
        self.assertEqual(status, 200)
        time.sleep(1.1)
        self.assertEqual(self.upstream_models(), ["gpt-4.1"] * 2)
        self.s.fake.reset()
        path = os.path.join(self.s.home, "config.json")
        with open(path) as f:
            good = f.read()
        try:
            with open(path, "w") as f:
                f.write(good.replace("gpt-4.1", "gpt-4o-mini")[:-5])   # cut short
            time.sleep(1.1)
            self.assertEqual(self.upstream_models(), ["gpt-4.1"] * 2)
            self.assertIn("keeping the previous configuration", self.s.log_text())
        finally:
            with open(path, "w") as f:
                f.write(good)
            time.sleep(1.1)


if __name__ == "__main__":
    unittest.main()
