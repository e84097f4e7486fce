"""`copilot-api keys add|list|remove` against a running gateway: a key is
stored only as its sha256, works at once, and stops working within a second
of its removal (config.json is live)."""

import hashlib
import json
import os
import time
import unittest

import harness
from harness import ADMIN_KEY, API_KEY


class Keys(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack()
        self.path = os.path.join(self.s.home, "config.json")

    def tearDown(self):
        self.s.close()

    def auth(self):
        with open(self.path) as f:
            return json.load(f)["auth"]

    def status(self, path, key):
        return self.s.get(path, key=key)[0]

    def wait_status(self, path, key, want, within=1.5):
        deadline = time.monotonic() + within
        while self.status(path, key) != want:
            self.assertLess(time.monotonic(), deadline,
                            "%s did not answer %d in time" % (path, want))
            time.sleep(0.05)

    def test_added_key_is_stored_hashed_works_and_is_removed(self):
        r = self.s.cli("keys", "add")
        key = r.stdout.strip()
        self.assertRegex(key, "^[0-9a-f]{64}$")
        self.assertIn("not shown again", r.stderr)
        digest = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
        with open(self.path) as f:
            text = f.read()
        self.assertNotIn(key, text)                         # only the hash at rest
        self.assertEqual(self.auth()["apiKeys"], [API_KEY, digest])
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)
        self.assertEqual(self.status("/v1/models", "wrong-" + key), 401)
        self.wait_status("/v1/models", key, 200)

        listed = self.s.cli("keys", "list").stdout
        self.assertIn(digest[:19] + "…", listed)
        self.assertNotIn(digest, listed)                     # masked
        self.assertNotIn(API_KEY, listed)
        self.assertNotIn(ADMIN_KEY, listed)

        r = self.s.cli("keys", "remove", key)                # by the key itself
        self.assertIn("removed 1 entry", r.stdout)
        self.assertEqual(self.auth()["apiKeys"], [API_KEY])
        self.wait_status("/v1/models", key, 401, within=1.5)
        self.assertEqual(self.status("/v1/models", API_KEY), 200)

    def test_remove_by_listed_entry_and_refusals(self):
        a = self.s.cli("keys", "add").stdout.strip()
        b = self.s.cli("keys", "add").stdout.strip()
        da = "sha256:" + hashlib.sha256(a.encode()).hexdigest()
        # as `keys list` prints it, ellipsis included
        r = self.s.cli("keys", "remove", da[:19] + "…")
        self.assertIn("removed 1 entry", r.stdout)
        self.assertNotIn(da, self.auth()["apiKeys"])
        r = self.s.cli("keys", "remove", "sha256:", check=False)   # names none
        self.assertEqual(r.returncode, 1)
        r = self.s.cli("keys", "remove", "sha256:0123", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no entry", r.stderr)
        r = self.s.cli("keys", "remove", a, check=False)    # already gone
        self.assertEqual(r.returncode, 1)
        r = self.s.cli("keys", "remove", check=False)
        self.assertEqual(r.returncode, 2)
        self.wait_status("/v1/models", b, 200)
        self.assertEqual(self.status("/v1/models", a), 401)

    def test_admin_key_replaced_by_a_hashed_one(self):
        self.assertEqual(self.status("/admin/approvals", ADMIN_KEY), 200)
        r = self.s.cli("keys", "add", "--admin")
        key = r.stdout.strip()
        self.assertIn("previous admin key no longer works", r.stderr)
        self.assertEqual(self.auth()["adminApiKey"],
                         "sha256:" + hashlib.sha256(key.encode()).hexdigest())
        self.wait_status("/admin/approvals", key, 200)
        self.assertEqual(self.status("/admin/approvals", ADMIN_KEY), 401)


if __name__ == "__main__":
    unittest.main()
