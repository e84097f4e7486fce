"""Several Copilot accounts in one pool (issue 15), through lighttpd and the
responder against the fake upstream serving three GitHub users: the default
account (fake-user, signed in as before) and two named ones, work (alice) and
home (bob).  Each rule of the pool: the CLI, per-account tokens and model
lists, the choice by strategy, session affinity, the cool-down and the one
failover a 429 or 402 earns, and GET /admin/accounts."""

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import unittest

import harness
from harness import ADMIN_KEY

ALICE = "gho_alice_accounts_test"
BOB = "gho_bob_accounts_test"


def users(alice=None, bob=None):
    u = {ALICE: {"login": "alice", "plan": "business", "premium_remaining": 10,
                 "premium_entitlement": 300},
         BOB: {"login": "bob", "plan": "individual_pro", "premium_remaining": 700,
               "premium_entitlement": 1500}}
    u[ALICE].update(alice or {})
    u[BOB].update(bob or {})
    return u


def chat(model="gpt-5-mini", text="hello pool"):
    return {"model": model, "messages": [{"role": "user", "content": text}]}


class Pool:
    """Helpers for a Stack with the two named accounts signed in."""

    def setup_pool(self, **user_changes):
        self.s.fake.reset()
        self.s.fake.config(users=users(**user_changes))
        for name, tok in (("work", ALICE), ("home", BOB)):
            self.s.cli("auth", "login", "--account", name, "--github-token", tok)
        self.db("DELETE FROM session_accounts")
        self.db("UPDATE accounts SET cooldown_until_ms = 0, last_pick_ms = 0, "
                "quota_at_ms = 0")

    def db(self, sql):
        con = sqlite3.connect(os.path.join(self.s.home, "copilot-api.db"), timeout=10)
        try:
            rows = con.execute(sql).fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def send(self, session=None, model="gpt-5-mini", path="/v1/chat/completions"):
        """One chat request; returns (status, the login that served it)."""
        n = len(self.s.fake.requests("/chat/completions"))
        h = {"x-session-affinity": session} if session else {}
        status, _, body = self.s.json("POST", path, chat(model), headers=h)
        reqs = self.s.fake.requests("/chat/completions")[n:]
        return status, [r.get("login") for r in reqs], body

    def accounts(self):
        status, _, doc = self.s.json("GET", "/admin/accounts", key=ADMIN_KEY)
        self.assertEqual(status, 200, doc)
        return {a["name"]: a for a in doc["data"]}


class Cli(Pool, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack()
        cls.addClassCleanup(cls.s.close)

    def test_login_list_remove(self):
        self.s.fake.reset()
        self.s.fake.config(users=users())
        for bad in ("default", "opencode", "Work", "-x", "a@b", "x" * 33):
            r = self.s.cli("auth", "login", "--account", bad, "--github-token", ALICE,
                           check=False)
            self.assertEqual(r.returncode, 2, (bad, r.stdout, r.stderr))
            self.assertIn("not allowed", r.stderr)
        r = self.s.cli("auth", "login", "--account", "work", "--github-token", ALICE)
        self.assertIn("alice", r.stdout)
        r = self.s.cli("accounts", "--json")
        got = {a["name"]: a for a in json.loads(r.stdout)}
        self.assertEqual(set(got), {"default", "work"})
        self.assertEqual((got["default"]["login"], got["default"]["state"]),
                         ("fake-user", "ok"))
        self.assertEqual(got["work"]["login"], "alice")
        self.assertEqual(got["work"]["plan"], "business")
        self.assertEqual(got["work"]["premium"],
                         {"unlimited": False, "remaining": 10, "entitlement": 300})
        r = self.s.cli("accounts")
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("NAME"))
        self.assertTrue(any(l.split()[:4] == ["work", "alice", "business", "10/300"]
                            and l.rstrip().endswith("ok") for l in lines), r.stdout)
        # check-usage of one account
        r = self.s.cli("check-usage", "--account", "work")
        self.assertIn("plan: business", r.stdout)
        self.assertIn("Premium: 290/300 used", r.stdout)
        r = self.s.cli("check-usage", "--account", "nope", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no account named 'nope'", r.stderr)
        # the same listing over HTTP, for the admin key only
        self.assertEqual(self.accounts()["work"]["premium"]["remaining"], 10)
        status, _, _ = self.s.json("GET", "/admin/accounts")
        self.assertEqual(status, 401)
        # removing: the named one goes, the default cannot go this way
        r = self.s.cli("accounts", "remove", "work")
        self.assertIn("Removed account work", r.stdout)
        self.assertEqual(self.s.cli("accounts", "remove", "work", check=False).returncode, 1)
        self.assertEqual(self.s.cli("accounts", "remove", "default", check=False).returncode, 2)
        got = {a["name"] for a in json.loads(self.s.cli("accounts", "--json").stdout)}
        self.assertEqual(got, {"default"})
        # the default account kept its tokens: it still serves
        status, logins, _ = self.send()
        self.assertEqual((status, logins), (200, ["fake-user"]))

    def test_one_account_is_as_before(self):
        """No named account: no choice, no session rows, the default serves."""
        self.s.fake.reset()
        for name in [a["name"] for a in json.loads(self.s.cli("accounts", "--json").stdout)]:
            if name != "default":
                self.s.cli("accounts", "remove", name)
        self.s.fake.fault(path="/chat/completions", kind="status", status=429,
                          headers={"Retry-After": "5"})
        status, logins, _ = self.send(session="only-one")
        self.assertEqual((status, logins), (429, ["fake-user"]))   # not retried
        status, logins, _ = self.send(session="only-one")
        self.assertEqual((status, logins), (200, ["fake-user"]))   # no cool-down
        self.assertEqual(self.db("SELECT COUNT(*) FROM session_accounts"), [(0,)])


class NamedOnly(Pool, unittest.TestCase):
    """No default account: the first named one serves what is not a model
    call (the model list), the pool the model calls."""

    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(signed_in=False)
        cls.addClassCleanup(cls.s.close)

    def test_named_accounts_alone(self):
        self.setup_pool(alice={"models_hide": ["gpt-5-mini", "claude-sonnet-4.6"]},
                        bob={"models_hide": ["gpt-4.1"]})
        # the model list is the union of the accounts' lists
        status, _, doc = self.s.json("GET", "/v1/models")
        self.assertEqual(status, 200, doc)
        ids = [m["id"] for m in doc["data"]]
        for mid in ("gpt-4.1", "gpt-5-mini", "claude-sonnet-4-6"):   # as /v1/models names it
            self.assertEqual(ids.count(mid), 1, ids)
        self.assertEqual(sorted(r.get("login") for r in self.s.fake.requests("/models")),
                         ["alice", "bob"])
        # bob has the most quota left and the model: bob serves it
        status, logins, _ = self.send(session="n1")
        self.assertEqual((status, logins), (200, ["bob"]))
        # only alice has gpt-4.1, whatever the quota
        status, logins, _ = self.send(session="n2", model="gpt-4.1")
        self.assertEqual((status, logins), (200, ["alice"]))
        # a Claude model only bob lists takes the native Messages flow on bob
        n = len(self.s.fake.requests("/v1/messages"))
        status, _, body = self.s.json("POST", "/v1/messages", {
            "model": "claude-sonnet-4.6", "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}]})
        self.assertEqual(status, 200, body)
        self.assertEqual([r.get("login") for r in self.s.fake.requests("/v1/messages")[n:]],
                         ["bob"])
        got = {a["name"]: a for a in json.loads(self.s.cli("accounts", "--json").stdout)}
        self.assertEqual(got["default"]["state"], "signed-out")
        # each account refreshed under its own lock file
        locks = sorted(f for f in os.listdir(self.s.home) if f.startswith("copilot-token.lock"))
        self.assertEqual(locks, ["copilot-token.lock.home", "copilot-token.lock.work"])

    def test_copilot_refresh_keeps_every_account_fresh(self):
        self.setup_pool()
        before = len(self.s.fake.call("GET", "/_fake/tokens")["copilot"])
        r = subprocess.run([os.path.join(harness.BIN, "copilot-refresh"), "--force"],
                           env=self.s.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "ok: the default account is not signed in; "
                                   "2 named account(s)")
        self.assertTrue(lines[1].startswith("ok: account work: Copilot token refreshed"),
                        lines)
        self.assertTrue(lines[2].startswith("ok: account home: Copilot token refreshed"),
                        lines)
        new = self.s.fake.call("GET", "/_fake/tokens")["copilot"][before:]
        self.assertEqual(sorted(t["github_token"] for t in new), sorted([ALICE, BOB]))


class AffinityQuota(Pool, unittest.TestCase):
    """The default strategy: a new session goes where the most premium quota
    is left; an account without the model is never chosen for it."""

    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack()
        cls.addClassCleanup(cls.s.close)

    def test_most_quota_and_own_tokens_and_models(self):
        # bob 5000 left, fake-user 1234, alice 10
        self.setup_pool(bob={"premium_remaining": 5000, "models_hide": ["gpt-4.1"]})
        status, logins, _ = self.send(session="s-quota")
        self.assertEqual((status, logins), (200, ["bob"]))
        # bob's call carried a Copilot token issued for bob's GitHub token
        toks = self.s.fake.call("GET", "/_fake/tokens")["copilot"]
        self.assertIn(BOB, [t["github_token"] for t in toks])
        # bob does not offer gpt-4.1: the next by quota (fake-user, 1234) serves it
        status, logins, _ = self.send(session="s-model", model="gpt-4.1")
        self.assertEqual((status, logins), (200, ["fake-user"]))
        # and the session stays where it is while that is healthy
        for _ in range(3):
            self.assertEqual(self.send(session="s-quota")[1], ["bob"])
        # unlimited beats any count
        self.setup_pool(alice={"premium_unlimited": True})
        self.assertEqual(self.send(session="s-unl")[1], ["alice"])


class RoundRobin(Pool, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={"accounts": {"strategy": "round-robin"}})
        cls.addClassCleanup(cls.s.close)

    def test_new_sessions_rotate_and_sessions_stick(self):
        self.setup_pool()
        first = [self.send(session="rr-%d" % i)[1][0] for i in range(3)]
        self.assertEqual(sorted(first), ["alice", "bob", "fake-user"])
        # each session stays on its account
        for i in range(3):
            self.assertEqual(self.send(session="rr-%d" % i)[1], [first[i]])
        rows = dict(self.db("SELECT session, account FROM session_accounts"))
        self.assertEqual(len(rows), 3)

    def test_usage_by_account(self):
        """/token-usage* by account (D145): each account's rows, byAccount
        with all of them, each event's account."""
        self.setup_pool()
        self.s.sync_rows()          # the earlier tests' rows, then none
        self.db("DELETE FROM token_usage_events")
        served = {}
        for session in ("u-0", "u-1", "u-2", "u-0", "u-0", "u-1"):
            status, logins, _ = self.send(session=session)
            self.assertEqual(status, 200)
            served[logins[0]] = served.get(logins[0], 0) + 1
        name = {"fake-user": "default", "alice": "work", "bob": "home"}
        want = {name[login]: n for login, n in served.items()}
        self.assertEqual(sorted(want.values()), [1, 2, 3])
        status, _, doc = self.s.json("GET", "/token-usage?period=day")
        self.assertEqual(status, 200, doc)
        self.assertNotIn("account", doc)
        got = {a["account"]: a["request_count"] for a in doc["byAccount"]}
        self.assertEqual(got, want)
        # sorted as byModel: most tokens first (each request the same size)
        self.assertEqual([a["account"] for a in doc["byAccount"]],
                         sorted(want, key=lambda k: -want[k]))
        for acct in ("work", "home", "default"):
            status, _, doc = self.s.json("GET", "/token-usage?period=day&account=" + acct)
            self.assertEqual(status, 200, doc)
            self.assertEqual(doc["account"], acct)
            self.assertEqual(doc["totals"]["request_count"], want[acct])
            self.assertEqual([a["account"] for a in doc["byAccount"]], [acct])
            self.assertEqual(sum(m["request_count"] for m in doc["byModel"]), want[acct])
            status, _, doc = self.s.json(
                "GET", "/token-usage/events?period=day&page_size=100&account=" + acct)
            self.assertEqual(status, 200, doc)
            self.assertEqual(doc["total"], want[acct])
            login = [k for k, v in name.items() if v == acct][0]
            self.assertEqual({(e["account"], e["user_id"]) for e in doc["items"]},
                             {(acct, login)})
            status, _, doc = self.s.json(
                "GET", "/token-usage/daily?period=week&account=" + acct)
            self.assertEqual(status, 200, doc)
            self.assertEqual(doc["days"][-1]["totals"]["request_count"], want[acct])
        # no filter: every row, each with its account; an unknown name: none
        status, _, doc = self.s.json("GET", "/token-usage/events?page_size=100&account=")
        self.assertEqual(doc["total"], 6)
        self.assertEqual(sorted({e["account"] for e in doc["items"]}), sorted(want))
        status, _, doc = self.s.json("GET", "/token-usage?account=nobody")
        self.assertEqual((status, doc["totals"]["request_count"], doc["byAccount"]),
                         (200, 0, []))


    def messages(self, headers=None, metadata=None, stream=False):
        """One /v1/messages turn; returns the logins the fake saw for it."""
        n = len(self.s.fake.requests("/v1/messages"))
        body = {"model": "claude-sonnet-4.6", "max_tokens": 64, "stream": stream,
                "messages": [{"role": "user", "content": "hi there"}]}
        if metadata:
            body["metadata"] = metadata
        status, _, payload = self.s.request("POST", "/v1/messages", body,
                                            headers=headers or {})
        self.assertEqual(status, 200, payload)
        return [r.get("login") for r in self.s.fake.requests("/v1/messages")[n:]]

    def test_claude_code_sessions_stick(self):
        """x-session-id and the session of metadata.user_id keep a
        conversation on its account; a request without one is not
        remembered."""
        self.setup_pool()
        by_header = self.messages({"x-session-id": "cc-session-1"})
        uid = ("user_%s_account_%s_session_%s" % ("a" * 64, "0" * 8 + "-0000-0000-0000-" + "0" * 12,
                                                  "11111111-2222-3333-4444-555555555555"))
        by_meta = self.messages(metadata={"user_id": uid})
        self.assertNotEqual(by_header, by_meta)              # two new sessions: rotated
        for _ in range(2):
            self.assertEqual(self.messages({"x-session-id": "cc-session-1"}), by_header)
            self.assertEqual(self.messages(metadata={"user_id": uid}, stream=True), by_meta)
        before = self.db("SELECT COUNT(*) FROM session_accounts")
        self.messages()
        self.assertEqual(self.db("SELECT COUNT(*) FROM session_accounts"), before)


    def test_only_a_clients_session_is_remembered(self):
        """Chat Completions and Responses: a session header is remembered;
        the id made up per request when there is none is not."""
        self.setup_pool()
        for _ in range(3):
            self.assertEqual(self.send()[0], 200)
        self.assertEqual(self.db("SELECT COUNT(*) FROM session_accounts"), [(0,)])
        n = len(self.s.fake.requests("/chat/completions"))
        for _ in range(3):
            status, _, _ = self.s.json("POST", "/v1/chat/completions", chat(),
                                       headers={"x-client-request-id": "cli-7"})
            self.assertEqual(status, 200)
        logins = [r.get("login") for r in self.s.fake.requests("/chat/completions")[n:]]
        self.assertEqual(len(set(logins)), 1, logins)
        n = len(self.s.fake.requests("/responses"))
        for _ in range(3):
            status, _, body = self.s.json("POST", "/v1/responses",
                                          {"model": "gpt-5.4", "input": "hi"},
                                          headers={"session-id": "resp-9"})
            self.assertEqual(status, 200, body)
        logins = [r.get("login") for r in self.s.fake.requests("/responses")[n:]]
        self.assertEqual(len(logins), 3)
        self.assertEqual(len(set(logins)), 1, logins)
        self.assertEqual(self.db("SELECT COUNT(*) FROM session_accounts"), [(2,)])


class Failover(Pool, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(config={"accounts": {"strategy": "fill-first"}})
        cls.addClassCleanup(cls.s.close)

    def test_429_cools_down_and_goes_once_to_the_next(self):
        self.setup_pool()
        self.assertEqual(self.send(session="f1")[1], ["fake-user"])     # fill-first
        row = self.s.usage_rows()[-1]
        self.assertEqual((row["account"], row["user_id"]), ("default", "fake-user"))
        self.s.fake.fault(path="/chat/completions", kind="status", status=429,
                          login="fake-user", headers={"Retry-After": "120"})
        status, logins, _ = self.send(session="f1")
        self.assertEqual((status, logins), (200, ["fake-user", "alice"]))
        acc = self.accounts()
        self.assertEqual(acc["default"]["state"], "cooling")
        self.assertIn("429", acc["default"]["reason"])
        self.assertEqual(acc["work"]["state"], "ok")
        # the row is the account's that served, with its login
        row = self.s.usage_rows()[-1]
        self.assertEqual((row["account"], row["user_id"], row["status"]),
                         ("work", "alice", 200))
        # the session moved and stays moved; new sessions skip the cooling one
        self.assertEqual(self.send(session="f1")[1], ["alice"])
        self.assertEqual(self.send(session="f2")[1], ["alice"])
        # the cool-down lasts what Retry-After said (120 s, not 60)
        [(until,)] = self.db("SELECT cooldown_until_ms FROM accounts WHERE name = 'default'")
        [(now,)] = self.db("SELECT MAX(last_use_ms) FROM session_accounts")
        self.assertGreater(until - now, 100 * 1000)
        # once it is over, the moved session stays; a new one goes first-fit
        self.db("UPDATE accounts SET cooldown_until_ms = 0")
        self.assertEqual(self.accounts()["default"]["state"], "ok")
        self.assertEqual(self.send(session="f1")[1], ["alice"])
        self.assertEqual(self.send(session="f3")[1], ["fake-user"])

    def test_no_quota_402_and_only_once(self):
        self.setup_pool()
        for login in ("fake-user", "alice"):
            self.s.fake.fault(path="/chat/completions", kind="status", status=402,
                              login=login, body={"error": {"message": "quota exceeded",
                                                           "code": "quota_exceeded"}})
        status, logins, _ = self.send(session="q1")
        # refused twice: the first account's refusal goes to the next once,
        # the second's answer is the client's
        self.assertEqual((status, logins), (402, ["fake-user", "alice"]))
        acc = self.accounts()
        self.assertEqual((acc["default"]["state"], acc["work"]["state"]),
                         ("cooling", "cooling"))
        self.assertIn("no quota", acc["work"]["reason"])
        self.assertEqual(self.send(session="q1")[1], ["bob"])

    def test_a_refused_stream_goes_to_the_next(self):
        self.setup_pool()
        self.s.fake.fault(path="/chat/completions", kind="status", status=429,
                          login="fake-user", stream=True)
        n = len(self.s.fake.requests("/chat/completions"))
        body = dict(chat(), stream=True)
        resp, conn = self.s.stream("/v1/chat/completions", body,
                                   headers={"x-session-affinity": "st1"})
        data = resp.read().decode()
        conn.close()
        self.assertEqual(resp.status, 200)
        self.assertIn("data: [DONE]", data)
        logins = [r.get("login") for r in self.s.fake.requests("/chat/completions")[n:]]
        self.assertEqual(logins, ["fake-user", "alice"])

    def test_401_refreshes_that_accounts_token_only(self):
        self.setup_pool()
        self.assertEqual(self.send(session="t1")[1], ["fake-user"])
        self.s.fake.fault(path="/chat/completions", kind="unauthorized_once",
                          login="fake-user")
        toks = len(self.s.fake.call("GET", "/_fake/tokens")["copilot"])
        status, logins, _ = self.send(session="t1")
        # refreshed once and retried once on the same account, no cool-down
        self.assertEqual((status, logins), (200, ["fake-user", "fake-user"]))
        new = self.s.fake.call("GET", "/_fake/tokens")["copilot"][toks:]
        self.assertEqual([t["github_token"] for t in new], ["gho_integration_test"])
        self.assertEqual(self.accounts()["default"]["state"], "ok")

    def test_a_signed_out_account_is_left_out(self):
        """GitHub refuses alice's sign-in: no Copilot token, so Copilot never
        got the request; alice rests and bob serves it."""
        self.setup_pool()
        self.s.fake.config(users=users(alice={"revoked": True}))
        self.db("INSERT INTO accounts (name, cooldown_until_ms, created_at_ms) "
                "VALUES ('default', 99999999999999, 0) ON CONFLICT (name) DO "
                "UPDATE SET cooldown_until_ms = 99999999999999")
        status, logins, _ = self.send(session="so1")
        self.assertEqual((status, logins), (200, ["bob"]))
        [(until, reason)] = self.db("SELECT cooldown_until_ms, cooldown_reason "
                                    "FROM accounts WHERE name = 'work'")
        self.assertIn("GitHub refused", reason)
        self.assertEqual(self.accounts()["work"]["state"], "signed-out")

    def test_other_failures_are_not_sent_elsewhere(self):
        self.setup_pool()
        self.s.fake.fault(path="/chat/completions", kind="status", status=500,
                          login="fake-user")
        status, logins, _ = self.send(session="e1")
        self.assertEqual(logins, ["fake-user"])
        self.assertGreaterEqual(status, 500)
        self.assertEqual(self.accounts()["default"]["state"], "ok")

    def test_every_account_cooling_answers_copilots_429(self):
        self.setup_pool()
        self.db("UPDATE accounts SET cooldown_until_ms = 99999999999999")
        self.db("INSERT INTO accounts (name, cooldown_until_ms, created_at_ms) "
                "VALUES ('default', 99999999999998, 0) ON CONFLICT (name) DO "
                "UPDATE SET cooldown_until_ms = 99999999999998")
        self.s.fake.fault(path="/chat/completions", kind="status", status=429,
                          headers={"Retry-After": "9"})
        status, logins, _ = self.send(session="all")
        # the one back first gets it; Copilot's 429 reaches the client
        self.assertEqual((status, logins), (429, ["fake-user"]))


@unittest.skipIf(harness.VALGRIND_SKIP, harness.VALGRIND_SKIP)
class PoolUnderValgrind(Pool, unittest.TestCase):
    """The pool's code paths under valgrind: choice, sessions, failover,
    a signed-out account, the listing; a clean stop, no error, no leak."""

    def test_pool_leaks_nothing(self):
        self.s = harness.Stack(threads=2, wrapper=[
            shutil.which("valgrind"), "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--error-exitcode=99", "--child-silent-after-fork=yes",
            "--log-file={workdir}/vg.%p.log"])
        try:
            self.setup_pool()
            for i in range(10):
                self.assertEqual(self.send(session="vg-%d" % (i % 3))[0], 200)
                self.assertEqual(self.s.get("/v1/models")[0], 200)
            self.s.fake.fault(path="/chat/completions", kind="status", status=429,
                              headers={"Retry-After": "30"})
            self.assertEqual(self.send(session="vg-0")[0], 200)
            self.s.fake.config(users=users(bob={"revoked": True}))
            self.db("UPDATE accounts SET cooldown_until_ms = 99999999999999 "
                    "WHERE name <> 'home'")
            self.send(session="vg-x")
            self.assertEqual(len(self.accounts()), 3)
            self.s.fcgi.send_signal(signal.SIGTERM)
            self.s.fcgi.wait(timeout=120)
            self.assertEqual(self.s.fcgi.returncode, 0, self.s.log_text()[-3000:])
            text = ""
            for f in os.listdir(self.s.workdir):
                if re.match(r"vg\.\d+\.log$", f):
                    with open(os.path.join(self.s.workdir, f)) as fh:
                        text += fh.read()
        finally:
            self.s.close()
        self.assertIn("ERROR SUMMARY: 0 errors", text, text[-4000:])
        self.assertNotIn("definitely lost: ", text.replace("definitely lost: 0 bytes", ""),
                         text[-4000:])


if __name__ == "__main__":
    unittest.main()
