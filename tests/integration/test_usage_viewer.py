"""The usage dashboard (GET /usage-viewer) in a real browser: Debian's
chromium, headless, driven by playwright-core (js/usage_viewer.mjs), against
the gateway behind lighttpd with the fake upstream.  The numbers it must
show come from what the fake was told to answer."""

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import ADMIN_KEY, API_KEY

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = os.path.join(harness.ROOT, "build", "usage-viewer.png")


def drive(cmd, timeout=120):
    r = subprocess.run(["node", os.path.join(JS, "usage_viewer.mjs"), json.dumps(cmd)],
                       capture_output=True, text=True, timeout=timeout,
                       cwd=os.path.join(harness.ROOT, "tests"))
    if r.returncode != 0:
        raise AssertionError("usage_viewer.mjs failed: %s %s" % (r.stdout, r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])


STACK = None


def setUpModule():
    global STACK
    STACK = harness.Stack()


def tearDownModule():
    STACK.close()


class UsageViewerRoute(unittest.TestCase):
    """The route itself, without a browser (no request here writes a usage
    row, so the browser's numbers do not depend on the order)."""

    def setUp(self):
        self.s = STACK

    def test_page_needs_no_key(self):
        status, headers, body = self.s.request("GET", "/usage-viewer", key=None)
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        page = body.decode()
        self.assertIn("<title>copilot-api usage</title>", page)
        # relative fetches only: the page must work under a sub-path
        self.assertNotIn('getJson("/', page)
        self.assertIn('getJson("usage")', page)

    def test_trailing_slash_redirects_relatively(self):
        status, headers, _ = self.s.request("GET", "/usage-viewer/", key=None)
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "../usage-viewer")

    def test_data_routes_still_need_the_key(self):
        self.assertEqual(self.s.request("GET", "/usage", key=None)[0], 401)
        self.assertEqual(self.s.request("GET", "/token-usage", key=None)[0], 401)

    def test_missing_page_is_a_clear_500(self):
        empty = tempfile.mkdtemp(prefix="gw-share-")
        s = harness.Stack(env={"COPILOT_API_SHARE_DIR": empty})
        try:
            status, _, body = s.request("GET", "/usage-viewer", key=None)
            self.assertEqual(status, 500)
            self.assertIn("usage viewer page is not installed", json.loads(body)["error"]["message"])
            self.assertIn(os.path.join(empty, "usage-viewer", "index.html"), s.log_text())
        finally:
            s.close()
            shutil.rmtree(empty, ignore_errors=True)


@unittest.skipUnless(os.access(CHROMIUM, os.X_OK), "chromium is not installed (apt-get install chromium)")
class UsageViewerBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = s = STACK
        # Today: two gpt-4.1 requests of 1200 + 34 tokens (200 of them cache
        # writes, each charged 1.5e8 nano-AIU = $0.0015 by Copilot), one
        # gpt-4o-mini of 500 + 7 (no charge reported).
        s.fake.config(usage={"prompt_tokens": 1200, "completion_tokens": 34,
                             "cache_creation_input_tokens": 200},
                      copilot_usage={"total_nano_aiu": 150000000})
        for _ in range(2):
            assert s.json("POST", "/v1/chat/completions", {
                "model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})[0] == 200
        s.fake.config(usage={"prompt_tokens": 500, "completion_tokens": 7}, copilot_usage=None)
        assert s.json("POST", "/v1/chat/completions", {
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})[0] == 200
        s.usage_rows(at_least=3)
        # Ten days ago (in the month, not in the week): a row the gateway
        # cannot write with an old date itself, so the test adds it.
        old = int(time.time() * 1000) - 10 * 86400 * 1000
        db = sqlite3.connect(os.path.join(s.home, "copilot-api.db"), timeout=10)
        db.execute(
            "INSERT INTO token_usage_events (created_at_ms, created_at_utc, source, endpoint,"
            " model, input_tokens, output_tokens, total_tokens, status, latency_ms, stream)"
            " VALUES (?, ?, 'copilot', 'messages', 'claude-sonnet-4', 9000, 100, 9100, 200, 5, 1)",
            (old, time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(old / 1000))))
        db.commit()
        db.close()
        cls.profile = tempfile.mkdtemp(prefix="gw-chromium-")
        os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
        cls.out = drive({"url": s.url + "/usage-viewer", "wrongKey": "sk-wrong-key-000",
                         "goodKey": API_KEY, "userDataDir": cls.profile,
                         "screenshot": SCREENSHOT})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.profile, ignore_errors=True)

    def test_asks_for_a_key(self):
        o = self.out["noKey"]
        self.assertEqual(o["loaded"], "needs-key")
        self.assertTrue(o["keyVisible"])
        self.assertIn("needs an API key", o["keyMessage"])
        self.assertEqual(o["byModel"], [])

    def test_wrong_key_is_a_clear_message(self):
        o = self.out["wrongKey"]
        self.assertEqual(o["loaded"], "needs-key")
        self.assertTrue(o["keyVisible"])
        self.assertIn("API key was not accepted (HTTP 401", o["keyMessage"])
        self.assertEqual(o["quotas"], {})

    def test_quotas(self):
        o = self.out["day"]
        self.assertEqual(o["loaded"], "ok")
        self.assertFalse(o["keyVisible"])
        # the fake: premium_interactions 1500, 1234 remaining; chat unlimited
        self.assertEqual(o["quotas"]["premium_interactions"],
                         {"used": "266 of 1,500 used (17.7%)", "bar": "17.7%"})
        self.assertEqual(o["quotas"]["chat"]["used"], "Unlimited")
        self.assertIn("Plan: individual_pro", o["quotaInfo"])

    def test_day_rows(self):
        o = self.out["day"]
        self.assertEqual(o["pressed"], ["day"])
        # the cache writes are off the input, in their own column; the
        # cost is Copilot's charge, in dollars
        self.assertEqual(sorted(o["byModel"]), [
            ["gpt-4.1", "2", "2,000", "68", "0", "400", "2,468", "$0.003000"],
            ["gpt-4o-mini", "1", "500", "7", "0", "0", "507", "–"]])
        self.assertEqual(o["totals"]["request_count"], "3")
        self.assertEqual(o["totals"]["total_tokens"], "2,975")
        self.assertEqual(o["totals"]["cache_creation_input_tokens"], "400")
        self.assertEqual(o["totals"]["costs"], "$0.003000")
        self.assertEqual(len(o["events"]), 3)
        self.assertEqual(sorted(e[1] for e in o["events"]), ["gpt-4.1", "gpt-4.1", "gpt-4o-mini"])
        # input, output, cache read, cache write, total, cost of each row
        self.assertEqual(sorted(e[4:10] for e in o["events"]), [
            ["1,000", "34", "0", "200", "1,234", "$0.001500"],
            ["1,000", "34", "0", "200", "1,234", "$0.001500"],
            ["500", "7", "0", "0", "507", "–"]])
        self.assertEqual(len(o["chart"]), 1)
        self.assertEqual(o["chart"][0][1], 2975)
        # only the default account served: no account column, table or
        # selector (the rows above are the visible cells only)
        self.assertEqual(o["accountsShown"],
                         {"selector": False, "table": False, "column": False})

    def test_period_switch(self):
        self.assertEqual(self.out["week"]["pressed"], ["week"])
        self.assertEqual(self.out["week"]["totals"]["total_tokens"], "2,975")
        self.assertEqual(len(self.out["week"]["chart"]), 7)
        m = self.out["month"]
        self.assertEqual(m["pressed"], ["month"])
        self.assertIn(["claude-sonnet-4", "1", "9,000", "100", "0", "0", "9,100", "–"], m["byModel"])
        self.assertEqual(m["totals"]["costs"], "$0.003000")
        self.assertEqual(m["totals"]["request_count"], "4")
        self.assertEqual(m["totals"]["total_tokens"], "12,075")
        self.assertEqual(len(m["chart"]), 30)
        bars = {d: (v, h) for d, v, h in m["chart"]}
        self.assertEqual(sorted(v for v, _ in bars.values() if v), [2975, 9100])
        # the tallest bar is the largest day
        self.assertEqual(max(bars.values(), key=lambda x: x[1])[0], 9100)
        self.assertEqual(len(m["events"]), 4)
        self.assertIn("period=month", self.out["urlAfterSwitch"])

    def test_key_kept_across_reload(self):
        o = self.out["reload"]
        self.assertEqual(o["loaded"], "ok")
        self.assertFalse(o["keyVisible"])
        self.assertEqual(o["pressed"], ["month"])
        self.assertEqual(o["totals"]["request_count"], "4")

    def test_no_console_errors(self):
        # Chromium logs every 401 answer as "Failed to load resource"; those
        # are the key prompts themselves.  Anything else is a fault.
        # A regular key's probe of admin/approvals (the approvals section)
        # is answered 401 too, by design.
        errs = [e for e in self.out["consoleErrors"]
                if not (e["phase"] in ("open", "wrongKey") and "status of 401" in e["text"])
                and not ("status of 401" in e["text"]
                         and e["url"].endswith("/admin/approvals"))]
        self.assertEqual(errs, [])

    def test_only_the_gateway_is_fetched(self):
        origin = self.s.url + "/"
        self.assertEqual([u for u in self.out["requests"] if not u.startswith(origin)], [])

    def test_screenshot_written(self):
        with open(SCREENSHOT, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


@unittest.skipUnless(os.access(CHROMIUM, os.X_OK), "chromium is not installed (apt-get install chromium)")
class UsageViewerAccounts(unittest.TestCase):
    """Named accounts (issue 15, D145): the default and "work" (alice) serve
    by round-robin; the page shows the Account column, the per-account table
    and the selector, and choosing "work" shows only work's rows."""

    def test_account_selector(self):
        alice = "gho_alice_viewer_test"
        s = harness.Stack(config={"accounts": {"strategy": "round-robin"}})
        profile = tempfile.mkdtemp(prefix="gw-chromium-")
        self.addCleanup(shutil.rmtree, profile, True)
        self.addCleanup(s.close)
        s.fake.config(users={alice: {"login": "alice", "plan": "business",
                                     "premium_remaining": 10, "premium_entitlement": 300}},
                      usage={"prompt_tokens": 100, "completion_tokens": 10})
        s.cli("auth", "login", "--account", "work", "--github-token", alice)
        for session in ("v-1", "v-2", "v-1", "v-1"):
            status, _, body = s.json("POST", "/v1/chat/completions", {
                "model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]},
                headers={"x-session-affinity": session})
            self.assertEqual(status, 200, body)
        logins = [r.get("login") for r in s.fake.requests("/chat/completions")]
        n = {"work": logins.count("alice"), "default": logins.count("fake-user")}
        self.assertEqual(sorted(n.values()), [1, 3])
        s.usage_rows(at_least=4)
        out = drive({"mode": "accounts", "url": s.url + "/usage-viewer", "goodKey": API_KEY,
                     "account": "work", "userDataDir": profile,
                     "screenshot": SCREENSHOT.replace(".png", "-accounts.png")})

        a = out["all"]
        self.assertEqual(a["loaded"], "ok")
        self.assertEqual(a["accountsShown"], {"selector": True, "table": True, "column": True})
        self.assertEqual(a["accountOptions"], ["", "default", "work"])
        self.assertEqual(sorted(r[:2] + r[6:7] for r in a["byAccount"]), sorted([
            [acct, str(k), "{:,}".format(110 * k)] for acct, k in n.items()]))
        self.assertEqual(a["totals"]["request_count"], "4")
        # Time, Model, Account, Route, ...
        self.assertEqual(sorted(e[2] for e in a["events"]),
                         sorted(["default"] * n["default"] + ["work"] * n["work"]))

        c = out["chosen"]
        self.assertEqual(c["totals"]["request_count"], str(n["work"]))
        self.assertEqual([r[:2] for r in c["byAccount"]], [["work", str(n["work"])]])
        self.assertEqual([e[2] for e in c["events"]], ["work"] * n["work"])
        self.assertEqual(c["accountOptions"], ["", "default", "work"])
        self.assertIn("account=work", out["urlAfterChoice"])
        r = out["reload"]
        self.assertEqual(r["totals"]["request_count"], str(n["work"]))
        self.assertTrue(r["accountsShown"]["selector"])
        # the 401s: the page before the key, a regular key's approvals probe
        errs = [e for e in out["consoleErrors"]
                if not ("status of 401" in e["text"]
                        and (e["phase"] == "open" or e["url"].endswith("/admin/approvals")))]
        self.assertEqual(errs, [])


@unittest.skipUnless(os.access(CHROMIUM, os.X_OK), "chromium is not installed (apt-get install chromium)")
class UsageViewerApprovals(unittest.TestCase):
    """manualApproval: two requests held on threads; the page, with the
    admin key, lists them and approves one (it completes, 200) and rejects
    the other (403); with a regular key the section stays hidden."""

    def test_page_approves_and_rejects(self):
        s = harness.Stack(config={"manualApproval": True}, threads=6)
        profile = tempfile.mkdtemp(prefix="gw-chromium-")
        self.addCleanup(shutil.rmtree, profile, True)
        self.addCleanup(s.close)
        got, threads = {}, []
        for name in ("approve", "reject"):
            def run(name=name):
                got[name] = s.json("POST", "/v1/chat/completions", {
                    "model": "gpt-4.1",
                    "messages": [{"role": "user", "content": "please " + name + " me"}]},
                    timeout=90)
            t = threading.Thread(target=run)
            t.start()
            threads.append(t)
            # one at a time, so each preview is known to belong to its thread
            harness.wait_until(lambda: len(pending(s)) == len(threads),
                               what="%d held request(s)" % len(threads))
        ids = {e["preview"]: e["id"] for e in pending(s)}
        try:
            out = drive({"mode": "approvals", "url": s.url + "/usage-viewer",
                         "regularKey": API_KEY, "adminKey": ADMIN_KEY,
                         "approveId": ids["please approve me"],
                         "rejectId": ids["please reject me"], "userDataDir": profile})
        finally:
            for e in pending(s):   # a failed page must not leave threads hanging
                s.json("POST", "/admin/approvals/" + e["id"], {"approve": False},
                       key=ADMIN_KEY)
            for t in threads:
                t.join(60)
        self.assertEqual(out["regular"]["loaded"], "ok")
        self.assertFalse(out["regular"]["visible"])
        self.assertEqual(out["adminLoaded"], "ok")
        self.assertTrue(out["admin"]["visible"])
        self.assertEqual(sorted(out["admin"]["ids"]), sorted(ids.values()))
        rows = {r[2]: r for r in out["admin"]["rows"]}
        route, model, _, waiting, buttons = rows["please approve me"]
        self.assertEqual((route, model), ("/v1/chat/completions", "gpt-4.1"))
        self.assertRegex(waiting, r"^\d+ (s|min)$")
        self.assertEqual(buttons.split(), ["Approve", "Reject"])
        self.assertEqual(out["afterApprove"]["ids"], [ids["please reject me"]])
        self.assertIn("Approved " + ids["please approve me"], out["afterApprove"]["info"])
        self.assertEqual(out["afterReject"]["ids"], [])
        self.assertEqual(out["afterReject"]["rows"], [["No request is waiting for approval."]])
        status, _, body = got["approve"]
        self.assertEqual(status, 200, body)
        self.assertIn("please approve me", body["choices"][0]["message"]["content"])
        self.assertEqual(got["reject"][0], 403, got["reject"])
        self.assertEqual([r["body"]["messages"][0]["content"]
                          for r in s.fake.requests("/chat/completions")], ["please approve me"])
        errs = [e for e in out["consoleErrors"]
                if not (e["phase"] in ("open", "regularKey") and "status of 401" in e["text"])]
        self.assertEqual(errs, [])


def pending(stack):
    status, _, doc = stack.json("GET", "/admin/approvals", key=ADMIN_KEY, timeout=10)
    assert status == 200, doc
    return doc["data"]


if __name__ == "__main__":
    unittest.main()
