#!/usr/bin/env python3
"""Self-test of the fake's several GitHub users (issue 15): each GitHub token its
own login, plan, premium quota and model list, its Copilot tokens served as that
user, and faults aimed at one user's requests (a 429 with Retry-After).

Run: python3 -m unittest discover -s tests/fake -p 'test_*.py'
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_fake_upstream import FakeTestCase  # noqa: E402

ALICE = "gho_alice_token_0001"
BOB = "gho_bob_token_0002"
USERS = {
    ALICE: {"login": "alice", "plan": "business", "premium_remaining": 10,
            "premium_entitlement": 300, "models_hide": ["gpt-4.1"]},
    BOB: {"login": "bob", "premium_unlimited": True},
}


class TestUsers(FakeTestCase):
    def setUp(self):
        super().setUp()
        self.ctl("POST", "/_fake/config", {"users": USERS})

    def copilot(self, github):
        status, _, body = self.call("GET", "/copilot_internal/v2/token",
                                    headers={"Authorization": "token " + github})
        self.assertEqual(status, 200, body)
        return {"Authorization": "Bearer " + body["token"]}

    def test_user_and_quota_per_token(self):
        _, _, u = self.call("GET", "/user", headers={"Authorization": "token " + ALICE})
        self.assertEqual(u["login"], "alice")
        _, _, u = self.call("GET", "/user", headers={"Authorization": "token gho_someone_else"})
        self.assertEqual(u["login"], "fake-user")            # not listed: the default user
        _, _, q = self.call("GET", "/copilot_internal/user",
                            headers={"Authorization": "token " + ALICE})
        self.assertEqual((q["login"], q["copilot_plan"]), ("alice", "business"))
        p = q["quota_snapshots"]["premium_interactions"]
        self.assertEqual((p["remaining"], p["entitlement"], p["unlimited"]), (10, 300, False))
        _, _, q = self.call("GET", "/copilot_internal/user",
                            headers={"Authorization": "token " + BOB})
        self.assertTrue(q["quota_snapshots"]["premium_interactions"]["unlimited"])
        self.assertEqual(q["copilot_plan"], "individual_pro")

    def test_models_per_user(self):
        _, _, m = self.call("GET", "/models", headers=self.copilot(ALICE))
        ids = [x["id"] for x in m["data"]]
        self.assertNotIn("gpt-4.1", ids)
        self.assertIn("gpt-4o-mini", ids)
        status, _, body = self.call("POST", "/chat/completions", self.chat_body(model="gpt-4.1"),
                                    self.copilot(ALICE))
        self.assertEqual((status, body["error"]["code"]), (400, "model_not_supported"))
        status, _, _ = self.call("POST", "/chat/completions", self.chat_body(model="gpt-4.1"),
                                 self.copilot(BOB))
        self.assertEqual(status, 200)

    def test_fault_for_one_login_and_records(self):
        self.ctl("POST", "/_fake/faults", [{"path": "/chat/completions", "kind": "status",
                                            "status": 429, "login": "bob",
                                            "headers": {"Retry-After": "30"}}])
        status, _, _ = self.call("POST", "/chat/completions", self.chat_body(model="gpt-4o-mini"),
                                 self.copilot(ALICE))
        self.assertEqual(status, 200)                        # alice is not bob
        status, headers, _ = self.call("POST", "/chat/completions", self.chat_body(),
                                       self.copilot(BOB))
        self.assertEqual((status, headers["retry-after"]), (429, "30"))
        recs = [r for r in self.ctl("GET", "/_fake/requests")["requests"]
                if r["path"] == "/chat/completions"]
        self.assertEqual([(r["login"], r["status"]) for r in recs],
                         [("alice", 200), ("bob", 429)])
        # a revoked user's GitHub token is refused everywhere
        self.ctl("POST", "/_fake/config", {"users": dict(USERS, **{BOB: {"revoked": True}})})
        status, _, _ = self.call("GET", "/copilot_internal/v2/token",
                                 headers={"Authorization": "token " + BOB})
        self.assertEqual(status, 401)
        self.ctl("POST", "/_fake/faults", [{"path": "*", "kind": "status", "status": 500,
                                            "login": 7}], expect=400)
        self.ctl("POST", "/_fake/config", {"users": {ALICE: "x"}}, expect=400)


if __name__ == "__main__":
    unittest.main()
