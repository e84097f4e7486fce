"""Manual approval across the pool (manualApproval): two pre-forked
processes of one thread each that never grow (COPILOT_API_MAX_THREADS=1),
so while one holds a request waiting for approval, every other request is
served by the other process.  The approval
given through that process (or through `copilot-api approve`) releases the
held request; a client that hangs up while waiting frees its entry."""

import threading
import time
import unittest

import harness
import servers
from test_providers import provider_stack
from harness import ADMIN_KEY

CHAT = {"model": "gpt-4.1", "messages": [
    {"role": "user", "content": "approve this little request please"}]}


class Approval(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = provider_stack(config={"manualApproval": True},
                               env={"COPILOT_API_PROCESSES": "2",
                                    "COPILOT_API_MAX_THREADS": "1"},
                               threads=1)
        cls.addClassCleanup(cls.s.close)

    def setUp(self):
        self.s.fake.reset()

    def pending(self):
        status, _, doc = self.s.json("GET", "/admin/approvals", key=ADMIN_KEY,
                                     timeout=10)
        self.assertEqual(status, 200, doc)
        return doc["data"]

    def wait_pending(self, n=1):
        harness.wait_until(lambda: len(self.pending()) == n, timeout=10,
                           what="%d pending request(s)" % n)
        return self.pending()

    def held(self, path, body):
        """Sends the request on a thread; returns (thread, result list)."""
        got = []

        def run():
            got.append(self.s.json("POST", path, body, timeout=60))

        t = threading.Thread(target=run)
        t.start()
        return t, got

    def decided(self, path, body, approve, while_pending=None):
        """Sends a request, waits for its entry (while_pending(entry) runs
        then), decides it through POST /admin/approvals/{id}; returns the
        held request's (status, headers, body)."""
        t, got = self.held(path, body)
        try:
            [e] = self.wait_pending()
            if while_pending:
                while_pending(e)
            status, _, doc = self.s.json("POST", "/admin/approvals/" + e["id"],
                                         {"approve": approve}, key=ADMIN_KEY)
            self.assertEqual((status, doc), (200, {"id": e["id"], "approved": approve}))
        finally:
            t.join(30)
        return got[0]

    def test_approval_through_the_other_process_releases_the_request(self):
        def listed(e):
            self.assertEqual((e["route"], e["model"], e["preview"]),
                             ("/v1/chat/completions", "gpt-4.1",
                              "approve this little request please"))
            self.assertGreaterEqual(e["age_seconds"], 0)
            self.assertEqual(self.s.fake.requests("/chat/completions"), [])

        status, _, doc = self.decided("/v1/chat/completions", CHAT, True, listed)
        self.assertEqual(status, 200, doc)
        self.assertEqual(len(self.s.fake.requests("/chat/completions")), 1)
        self.assertEqual(self.pending(), [])

    def test_rejection_is_403_in_the_anthropic_dialect(self):
        status, _, doc = self.decided("/v1/messages", {
            "model": "gpt-4.1", "max_tokens": 9,
            "messages": [{"role": "user", "content": "no"}]}, False)
        self.assertEqual(status, 403, doc)
        self.assertEqual(doc["type"], "error")
        self.assertEqual(doc["error"], {"type": "permission_error",
                                        "message": "Request rejected"})
        self.assertEqual(self.s.fake.requests(), [])

    def test_provider_requests_wait_too(self):
        def listed(e):
            self.assertEqual((e["route"], e["model"], e["preview"]),
                             ("/anth/v1/messages", "anth/prov-claude",
                              "via a provider"))
            self.assertEqual(self.s.fake.requests("/v1/messages"), [])

        status, _, doc = self.decided("/anth/v1/messages", {
            "model": "prov-claude", "max_tokens": 9,
            "messages": [{"role": "user", "content": "via a provider"}]}, True,
            listed)
        self.assertEqual(status, 200, doc)
        self.assertEqual(len(self.s.fake.requests("/v1/messages")), 1)

    def test_client_that_hangs_up_frees_its_entry(self):
        """The responder watches its FastCGI connection while it waits: when
        the web server closes it (the client is gone), the entry goes at
        once, not at the timeout.  Driven at the FastCGI socket, as a web
        server does it: whether a server closes that connection before any
        byte of the answer is its own choice (doc: README, Manual approval)."""
        c = servers.fcgi_chat(self.s.socket, CHAT)
        try:
            self.wait_pending()
        finally:
            c.close()
        t0 = time.monotonic()
        harness.wait_until(lambda: self.pending() == [], timeout=5,
                           what="the entry of the client that left")
        self.assertLess(time.monotonic() - t0, 2)
        self.assertEqual(self.s.fake.requests(), [])
        harness.wait_until(lambda: "the client left while waiting" in
                           self.s.log_text(), timeout=5, what="the log line")

    def test_cli_asks_per_request(self):
        t, got = self.held("/v1/chat/completions", CHAT)
        try:
            self.wait_pending()
            r = self.s.cli("approve", input="y\n")
            self.assertIn("approve this little request please", r.stdout)
            self.assertIn("Approve? [y/n", r.stdout)
            self.assertRegex(r.stdout, r"[0-9a-f-]{36}: approved")
        finally:
            t.join(30)
        self.assertEqual(got[0][0], 200, got[0])
        # n rejects; nothing pending says so
        t, got = self.held("/v1/chat/completions", CHAT)
        try:
            self.wait_pending()
            r = self.s.cli("approve", input="n\n")
            self.assertRegex(r.stdout, r"[0-9a-f-]{36}: rejected")
        finally:
            t.join(30)
        self.assertEqual(got[0][0], 403, got[0])
        self.assertEqual(self.s.cli("approve").stdout, "No pending requests.\n")

    def test_cli_all_approves_without_asking(self):
        t, got = self.held("/v1/chat/completions", CHAT)
        try:
            self.wait_pending()
            r = self.s.cli("approve", "--all", input="")
            self.assertNotIn("Approve?", r.stdout)
            self.assertRegex(r.stdout, r"[0-9a-f-]{36}: approved")
        finally:
            t.join(30)
        self.assertEqual(got[0][0], 200, got[0])
        self.assertEqual(self.s.cli("approve", "--bogus", check=False).returncode, 2)


if __name__ == "__main__":
    unittest.main()
