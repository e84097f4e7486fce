"""The built-in codex provider behind lighttpd: `auth login --provider
codex` (the callback listener and the pasted redirect URL) against the
fake's OAuth server, then /codex/v1/messages (JSON and stream),
count_tokens, models and the codex/<model> aliases against the fake's
Codex backend; the inline refresh, an expired refresh token, a revoked
grant and a 401 from the backend each answer with a clear message."""

import http.client
import json
import os
import re
import select
import signal
import subprocess
import time
import unittest
import urllib.parse

import harness
from harness import API_KEY, BIN, read_sse


def hello(model, text="hello", **extra):
    body = {"model": model, "max_tokens": 128, "messages": [{"role": "user", "content": text}]}
    body.update(extra)
    return body


def codex_stack():
    """A Stack whose config points the codex OAuth server at the fake and
    already names providers.codex with the fake's backend (login keeps a
    baseUrl it finds)."""
    def update(cfg):
        cfg["upstream"]["codexAuthUrl"] = s.fake.url
        cfg["providers"] = {"codex": {"baseUrl": s.fake.url + "/backend-api"}}
    s = harness.Stack()
    return s.reconfigure(update)


def follow_authorize(fake_port, url):
    """What the user's browser does: open the authorize URL; the fake
    approves at once and redirects.  Returns the redirect target."""
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection("127.0.0.1", fake_port, timeout=10)
    c.request("GET", u.path + "?" + u.query)
    r = c.getresponse()
    r.read()
    c.close()
    assert r.status == 302, r.status
    return r.getheader("location")


class CodexLogin(unittest.TestCase):
    """Sign-in first: the rest of the suite needs the credentials."""

    @classmethod
    def setUpClass(cls):
        cls.s = codex_stack()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.reset()

    # -- helpers -------------------------------------------------------------

    def start_login(self, port, *extra):
        env = dict(self.s.env, COPILOT_API_CODEX_CALLBACK_PORT=str(port))
        p = subprocess.Popen([os.path.join(BIN, "copilot-api"), "auth", "login",
                              "--provider", "codex"] + list(extra), env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        url = None
        deadline = time.monotonic() + 20
        while url is None and time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            if line.startswith("http"):
                url = line.strip()
        self.assertIsNotNone(url, "no authorize URL printed")
        return p, url

    def login(self, via="callback"):
        port = harness.free_port()
        p, url = self.start_login(port)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        self.assertEqual(q["client_id"], "app_EMoamEEZ73f0CkXaXp7hrann")
        self.assertEqual(q["redirect_uri"], "http://localhost:1455/auth/callback")
        self.assertEqual(q["code_challenge_method"], "S256")
        self.assertEqual(q["originator"], "copilot-api")
        self.assertEqual(q["scope"], "openid profile email offline_access")
        location = follow_authorize(self.s.fake.port, url)
        target = urllib.parse.urlsplit(location)
        if via == "callback":
            harness.wait_until(lambda: _listening(port), what="callback listener")
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", target.path + "?" + target.query)
            r = c.getresponse()
            page = r.read().decode()
            self.assertEqual(r.status, 200)
            self.assertIn("Authentication successful", page)
            out, err = p.communicate(timeout=30)
        else:
            out, err = p.communicate(location + "\n", timeout=30)
        return p.returncode, out, err

    # -- tests ---------------------------------------------------------------

    def test_login_through_the_callback_stores_credentials_and_config(self):
        rc, out, err = self.login("callback")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("Signed in to Codex (account acct-fake-0001", out)
        tok = self.s.fake.requests("/oauth/token")[-1]
        self.assertEqual(tok["body"]["grant_type"], "authorization_code")
        self.assertEqual(tok["body"]["redirect_uri"], "http://localhost:1455/auth/callback")
        # the access token (a JWT) is never printed, only its fingerprint
        self.assertIsNone(re.search(r"eyJ[\w-]{8,}\.", out + err))
        self.assertRegex(out, r"token eyJh\.\.\.[\w-]{4}\)")
        with open(os.path.join(self.s.home, "config.json")) as f:
            codex = json.load(f)["providers"]["codex"]
        self.assertEqual(codex, {"baseUrl": self.s.fake.url + "/backend-api",
                                 "type": "openai-responses", "enabled": True,
                                 "authType": "oauth2"})
        debug = json.loads(self.s.cli("debug", "--json").stdout)["providers"]
        self.assertEqual(debug, {"enabled": ["codex"], "codexConfigured": True,
                                 "codexSignedIn": True})

    def test_login_by_pasting_the_redirect_url(self):
        rc, out, err = self.login("paste")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("Signed in to Codex", out)

    def test_show_token_prints_the_codex_access_tokens(self):
        # 1.10.10 and 1.14.7 print "Codex access token: …" with --show-token
        # when credentials are fetched (the sign-in) or refreshed; never else
        p, url = self.start_login(harness.free_port(), "--show-token")
        out, err = p.communicate(follow_authorize(self.s.fake.port, url) + "\n", timeout=30)
        self.assertEqual(p.returncode, 0, out + err)
        m = re.search(r"Signed in to Codex \(account acct-fake-0001, token "
                      r"(eyJ[\w-]+\.[\w-]+\.[\w-]*)\)", out)
        self.assertIsNotNone(m, out)
        first = m.group(1)
        refresh = [os.path.join(BIN, "copilot-refresh"), "--force"]
        r = subprocess.run(refresh, env=self.s.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(re.search(r"eyJ[\w-]{8,}\.", r.stdout + r.stderr))
        r = subprocess.run(refresh, env=dict(self.s.env, COPILOT_API_SHOW_TOKEN="1"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r"^Codex access token: (eyJ[\w-]+\.[\w-]+\.[\w-]*)$", r.stderr, re.M)
        self.assertIsNotNone(m, r.stderr)
        self.assertNotEqual(m.group(1), first)

    def test_pasted_state_mismatch_and_bad_code_fail_clearly(self):
        p, url = self.start_login(harness.free_port())
        out, err = p.communicate("http://localhost:1455/auth/callback?code=x&state=nope\n",
                                 timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Codex OAuth state mismatch", err)
        p, url = self.start_login(harness.free_port())
        out, err = p.communicate("not-a-real-code\n", timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Codex token exchange failed (400): Invalid or expired "
                      "authorization code.", err)


def login_by_paste(stack, tc):
    """Signs codex in by pasting the redirect URL; asserts it worked."""
    p = subprocess.Popen([os.path.join(BIN, "copilot-api"), "auth", "login", "--provider",
                          "codex"], env=dict(stack.env, COPILOT_API_CODEX_CALLBACK_PORT=str(
                              harness.free_port())), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = None
    while url is None:
        line = p.stdout.readline()
        tc.assertTrue(line, "no authorize URL printed")
        url = line.strip() if line.startswith("http") else None
    out, err = p.communicate(follow_authorize(stack.fake.port, url) + "\n", timeout=30)
    tc.assertEqual(p.returncode, 0, out + err)


def signed_in_codex_stack(update=None):
    """codex_stack() signed in to codex, config.json then changed by
    update(cfg) when given, and the provider loaded."""
    s = codex_stack()
    try:
        login_by_paste(s, unittest.TestCase())
        if update is not None:
            s.reconfigure(update)
        # the responder reloads config.json within a second
        harness.wait_until(lambda: s.json("GET", "/codex/v1/models")[0] == 200,
                           what="providers.codex loaded")
    except BaseException:
        s.close()
        raise
    return s


class SignedInCase(unittest.TestCase):
    """Tests sharing one signed_in_codex_stack(), the fake's request log
    emptied before each (no tests of its own)."""

    @classmethod
    def setUpClass(cls):
        cls.s = signed_in_codex_stack()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.fake.call("DELETE", "/_fake/requests")


class CodexRequests(SignedInCase):
    def setUp(self):
        self.s.fake.reset()
        self.s.fake.call("POST", "/_fake/codex", {"revoke_access": True})
        login_by_paste(self.s, self)
        super().setUp()
        self.nrows = len(self.s.usage_rows())

    def backend(self):
        got = self.s.fake.requests("/backend-api/codex/responses")
        self.assertTrue(got, "the Codex backend saw nothing")
        return got[-1]

    def rows(self, n):
        """The codex rows among the n this test's requests wrote."""
        return [r for r in self.s.usage_rows(at_least=self.nrows + n)[self.nrows:]
                if r["provider_name"] == "codex"]

    def test_messages_json_sends_the_reference_headers_and_body(self):
        status, _, got = self.s.json("POST", "/codex/v1/messages", hello(
            "gpt-5.4", temperature=0.5, metadata={"user_id": "u1"}),
            headers={"user-agent": "claude-cli/2.0", "anthropic-version": "2023-06-01",
                     # what a Cloudflare tunnel in front adds (1.14.7 strips it)
                     "cf-ray": "8f-AMS", "cdn-loop": "cloudflare",
                     "x-forwarded-for": "192.0.2.1", "traceparent": "00-ab-cd-01"})
        self.assertEqual(status, 200, got)
        self.assertEqual(got["type"], "message")
        self.assertIn("hello", got["content"][-1]["text"])
        rec = self.backend()
        h = rec["headers"]
        self.assertTrue(h["authorization"].startswith("Bearer eyJ"))
        self.assertEqual(h["chatgpt-account-id"], "acct-fake-0001")
        for gone in ("openai-beta", "cf-ray", "cdn-loop", "x-forwarded-for", "traceparent"):
            self.assertNotIn(gone, h)
        self.assertEqual(h["originator"], "copilot-api")
        self.assertEqual(h["user-agent"], "claude-cli/2.0")
        self.assertEqual(h["anthropic-version"], "2023-06-01")
        self.assertNotIn("x-api-key", h)
        self.assertNotIn(API_KEY, json.dumps(rec["header_list"]))
        self.assertEqual(h["accept"], "text/event-stream")
        body = rec["body"]
        self.assertIs(body["store"], False)
        self.assertIs(body["stream"], True)   # the backend answers only streams
        for gone in ("temperature", "top_p", "max_output_tokens", "metadata"):
            self.assertNotIn(gone, body)
        self.assertEqual(body["model"], "gpt-5.4")
        row = self.rows(1)[-1]
        self.assertEqual((row["status"], row["model"]), (200, "gpt-5.4"))
        self.assertGreater(row["output_tokens"], 0)

    def test_messages_stream_is_translated_and_rate_limits_are_logged(self):
        resp, conn = self.s.stream("/codex/v1/messages", hello("gpt-5.4", stream=True))
        ev = list(read_sse(resp))
        conn.close()
        names = [n for n, _ in ev]
        self.assertEqual(names[0], "message_start")
        self.assertEqual(names[-1], "message_stop")
        # a stream goes over the backend's Responses WebSocket (1.14.7)
        rec = self.backend()
        self.assertEqual(rec["method"], "WS")
        self.assertNotIn("accept", rec["headers"])
        self.assertEqual(rec["headers"]["openai-beta"], "responses_websockets=2026-02-06")
        self.assertEqual(rec["headers"]["chatgpt-account-id"], "acct-fake-0001")
        self.assertEqual(list(rec["body"])[0], "type")
        self.assertEqual(rec["body"]["type"], "response.create")
        self.assertNotIn("stream", rec["body"])
        self.assertNotIn("initiator", rec["body"])
        harness.wait_until(lambda: "Codex primary rate limit (plus): allowed=true, "
                           "limit_reached=false, used=42%, window=300m, reset_at="
                           in self.s.log_text(), what="the rate-limit log line")
        self.assertIn("Codex secondary rate limit (plus)", self.s.log_text())
        row = self.rows(1)[-1]
        self.assertEqual(row["status"], 200)
        self.assertGreater(row["output_tokens"], 0)

    def test_a_refused_websocket_falls_back_to_http(self):
        self.s.fake.fault(path="/backend-api/codex/responses", method="GET", kind="status",
                          status=426)
        # a header of its own: no pooled connection has this key
        resp, conn = self.s.stream("/codex/v1/messages", hello("gpt-5.4", stream=True),
                                   headers={"x-case": "refused-websocket"})
        names = [n for n, _ in read_sse(resp)]
        conn.close()
        self.assertEqual(names[-1], "message_stop")
        recs = self.s.fake.requests("/backend-api/codex/responses")
        self.assertEqual([(r["method"], r["status"]) for r in recs], [("GET", 426), ("POST", 200)])
        self.assertEqual(recs[-1]["headers"]["accept"], "text/event-stream")
        self.assertIn("Responses over WebSocket unavailable", self.s.log_text())

    def test_aliases_and_responses_stream_say_response_completed(self):
        status, _, got = self.s.json("POST", "/v1/messages", hello("codex/gpt-5.4"))
        self.assertEqual(status, 200, got)
        self.assertEqual(self.backend()["body"]["model"], "gpt-5.4")
        body = {"model": "codex/gpt-5.4-mini", "input": "hi there", "stream": True,
                "temperature": 0.3, "max_output_tokens": 500}
        resp, conn = self.s.stream("/v1/responses", body)
        ev = list(read_sse(resp))
        conn.close()
        names = [n for n, _ in ev]
        self.assertIn("response.completed", names)
        self.assertNotIn("response.done", names)
        sent = self.backend()["body"]
        self.assertEqual(sent["model"], "gpt-5.4-mini")
        self.assertNotIn("temperature", sent)
        self.assertNotIn("max_output_tokens", sent)
        status, _, got = self.s.json("POST", "/v1/messages/count_tokens",
                                     hello("codex/gpt-5.4", "count these words"))
        self.assertEqual(status, 200, got)
        self.assertGreater(got["input_tokens"], 0)

    def test_system_messages_become_instructions(self):
        """1.14.7 (4114f18): the backend refuses system messages."""
        status, _, got = self.s.json("POST", "/v1/responses", {
            "model": "codex/gpt-5.4", "input": [
                {"role": "system", "content": "be brief"},
                {"role": "developer", "content": "use tools"},
                {"role": "user", "content": [{"type": "input_text", "text": "hi there"}]}]})
        self.assertEqual(status, 200, got)
        sent = self.backend()["body"]
        self.assertEqual(sent["instructions"], "be brief")
        self.assertEqual([i["role"] for i in sent["input"]], ["developer", "user"])

    def test_json_clients_get_the_collected_stream(self):
        status, _, got = self.s.json("POST", "/v1/responses",
                                     {"model": "codex/gpt-5.4", "input": "hi there"})
        self.assertEqual(status, 200, got)
        self.assertEqual((got["object"], got["status"]), ("response", "completed"))
        self.assertIn("hi there", json.dumps(got))
        self.assertIs(self.backend()["body"]["stream"], True)
        row = self.rows(1)[-1]
        self.assertEqual(row["status"], 200)
        self.assertGreater(row["output_tokens"], 0)
        # an error event in the collected stream fails in the client's dialect
        self.s.fake.config(stream_error={"code": "server_error",
                                         "message": "the backend broke"})
        status, _, got = self.s.json("POST", "/codex/v1/messages", hello("gpt-5.4"))
        self.assertEqual(status, 502, got)
        self.assertEqual(got["error"]["type"], "api_error")
        self.assertIn("the backend broke", got["error"]["message"])

    def test_a_stream_without_content_type_is_still_a_stream(self):
        self.s.fake.config(codex_untyped_stream=True)
        resp, conn = self.s.stream("/codex/v1/messages", hello("gpt-5.4", stream=True))
        ev = list(read_sse(resp))
        conn.close()
        self.assertEqual([n for n, _ in ev][-1], "message_stop")
        status, _, got = self.s.json("POST", "/codex/v1/messages", hello("gpt-5.4"))
        self.assertEqual(status, 200, got)
        self.assertEqual(got["type"], "message")

    def test_count_tokens_and_models(self):
        status, _, got = self.s.json("POST", "/codex/v1/messages/count_tokens",
                                     hello("gpt-5.4", "count these words"))
        self.assertEqual(status, 200, got)
        self.assertGreater(got["input_tokens"], 0)
        status, _, got = self.s.json("GET", "/codex/v1/models")
        self.assertEqual(status, 200, got)
        # 1.14.7's list
        self.assertEqual([m["id"] for m in got["data"]],
                         ["gpt-5.3-codex-spark", "gpt-5.4", "gpt-5.4-mini", "gpt-5.5",
                          "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna"])
        self.assertIs(got["has_more"], False)
        self.assertEqual(got["data"][1]["capabilities"]["limits"]["max_context_window_tokens"],
                         400000)
        self.assertEqual(self.s.fake.requests("/backend-api/codex/responses"), [])

    def test_v1_models_lists_codex_and_gives_codex_clients_the_backend_list(self):
        status, _, got = self.s.json("GET", "/v1/models")
        self.assertEqual(status, 200, got)
        ids = [m["id"] for m in got["data"]]
        self.assertIn("gpt-4.1", ids)
        self.assertIn("codex/gpt-5.6-sol", ids)
        m = got["data"][ids.index("codex/gpt-5.4")]
        self.assertEqual((m["owned_by"], m["display_name"], m["type"]),
                         ("openai", "GPT-5.4", "model"))
        self.assertEqual(self.s.fake.requests("/backend-api/codex/models"), [])
        # a Codex client (1.14.7): the backend's own list, with its query
        status, _, got = self.s.json("GET", "/v1/models?client_version=0.128.0",
                                     headers={"user-agent": "codex_cli_rs/0.128.0 (Linux)"})
        self.assertEqual(status, 200, got)
        self.assertEqual(got["models"][0]["slug"], "gpt-5.5")
        up = self.s.fake.requests("/backend-api/codex/models")[-1]
        self.assertEqual(up["query"], {"client_version": "0.128.0"})
        h = up["headers"]
        self.assertTrue(h["authorization"].startswith("Bearer "))
        self.assertEqual(h["chatgpt-account-id"], "acct-fake-0001")
        self.assertEqual(h["user-agent"], "codex_cli_rs/0.128.0 (Linux)")
        self.assertEqual(h["originator"], "copilot-api")
        self.assertEqual(h["accept"], "application/json")
        self.assertNotIn(harness.API_KEY, json.dumps(up["header_list"]))
        # the backend's refusal is relayed
        self.s.fake.call("POST", "/_fake/codex", {"revoke_access": True})
        status, _, got = self.s.json("GET", "/models", headers={"user-agent": "Codex/1"})
        self.assertEqual(status, 401, got)
        self.assertIn("signing in again", got["detail"])

    def relogin_short(self):
        """Credentials that are due at once: access tokens live 30 s, less
        than the minute of lead the refresh keeps."""
        self.s.fake.config(codex_token_lifetime=30)
        login_by_paste(self.s, self)
        self.s.fake.call("DELETE", "/_fake/requests")

    def test_due_credentials_are_refreshed_inline(self):
        self.relogin_short()
        status, _, got = self.s.json("POST", "/codex/v1/messages", hello("gpt-5.4"))
        self.assertEqual(status, 200, got)
        grants = [r["body"]["grant_type"] for r in self.s.fake.requests("/oauth/token")]
        self.assertEqual(grants, ["refresh_token"])

    def test_one_refresher_at_a_time(self):
        """Due credentials and parallel requests: one refresh (each refresh
        token works once, so a second refresher would fail its request)."""
        self.relogin_short()
        self.s.fake.config(codex_token_lifetime=3600)
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            got = list(pool.map(lambda i: self.s.json(
                "POST", "/codex/v1/messages", hello("gpt-5.4", "n%d" % i))[0], range(6)))
        self.assertEqual(got, [200] * 6)
        grants = [r["body"]["grant_type"] for r in self.s.fake.requests("/oauth/token")]
        self.assertEqual(grants, ["refresh_token"])

    def test_expired_refresh_token_says_sign_in_again(self):
        self.relogin_short()
        self.s.fake.call("POST", "/_fake/codex", {"refresh": "expired"})
        status, _, got = self.s.json("POST", "/codex/v1/messages", hello("gpt-5.4"))
        self.assertEqual(status, 401, got)
        self.assertEqual(got["type"], "error")
        msg = got["error"]["message"]
        self.assertIn("Codex token refresh failed (401): Your refresh token has expired", msg)
        self.assertEqual(got["error"]["type"], "authentication_error")
        self.assertIn("copilot-api auth login --provider codex", msg)
        self.assertEqual(self.s.fake.requests("/backend-api/codex/responses"), [])
        self.assertEqual(self.rows(1)[-1]["status"], 401)

    def test_revoked_grant_says_sign_in_again(self):
        self.relogin_short()
        self.s.fake.call("POST", "/_fake/codex", {"refresh": "revoked"})
        status, _, got = self.s.json("POST", "/v1/responses",
                                     {"model": "codex/gpt-5.4", "input": "hi"})
        self.assertEqual(status, 401, got)
        msg = got["error"]["message"]
        self.assertIn("Your refresh token has been invalidated", msg)
        self.assertIn("copilot-api auth login --provider codex", msg)

    def test_backend_401_refreshes_once_then_says_so(self):
        # a revoked access token: one refresh, one retry, success
        self.s.fake.call("POST", "/_fake/codex", {"revoke_access": True})
        status, _, got = self.s.json("POST", "/codex/v1/messages", hello("gpt-5.4"))
        self.assertEqual(status, 200, got)
        self.assertEqual([r["status"] for r in
                          self.s.fake.requests("/backend-api/codex/responses")], [401, 200])
        # the backend keeps refusing: a clear 401, not a retry loop
        self.s.fake.call("DELETE", "/_fake/requests")
        self.s.fake.fault(path="/backend-api/codex/responses", kind="status", status=401,
                          times=2, body={"detail": "Your authentication token has been "
                                                   "invalidated."})
        status, _, got = self.s.json("POST", "/codex/v1/messages", hello("gpt-5.4"))
        self.assertEqual(status, 401, got)
        self.assertIn("the Codex backend refused the credentials (HTTP 401", 
                      got["error"]["message"])
        self.assertIn("auth login --provider codex", got["error"]["message"])
        self.assertEqual(len(self.s.fake.requests("/backend-api/codex/responses")), 2)

    def refresh_cli(self, *args):
        return subprocess.run([os.path.join(BIN, "copilot-refresh")] + list(args),
                              env=self.s.env, capture_output=True, text=True, timeout=60)

    def test_copilot_refresh_refreshes_codex(self):
        r = self.refresh_cli()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok: Codex credentials still fresh, valid until", r.stdout)
        self.assertEqual(self.s.fake.requests("/oauth/token"), [])
        r = self.refresh_cli("--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok: Codex credentials refreshed, valid until", r.stdout)
        self.assertEqual([t["body"]["grant_type"] for t in
                          self.s.fake.requests("/oauth/token")], ["refresh_token"])
        # the refreshed credentials serve requests
        status, _, got = self.s.json("POST", "/codex/v1/messages", hello("gpt-5.4"))
        self.assertEqual(status, 200, got)
        self.s.fake.call("POST", "/_fake/codex", {"refresh": "revoked"})
        r = self.refresh_cli("--force")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Codex token refresh failed (401): Your refresh token has been "
                      "invalidated", r.stderr)
        self.assertIn("auth login --provider codex", r.stderr)

    def test_signed_out_codex_is_not_found_with_a_hint(self):
        with open(os.path.join(self.s.home, "config.json")) as f:
            self.assertIn("codex", json.load(f)["providers"])
        import sqlite3
        db = sqlite3.connect(os.path.join(self.s.home, "copilot-api.db"))
        try:
            db.execute("DELETE FROM kv WHERE key = 'codex_credentials'")
            db.commit()
        finally:
            db.close()
        debug = json.loads(self.s.cli("debug", "--json").stdout)["providers"]
        self.assertEqual((debug["codexConfigured"], debug["codexSignedIn"]), (True, False))
        status, _, got = self.s.json("POST", "/codex/v1/messages", hello("gpt-5.4"))
        self.assertEqual(status, 404, got)
        self.assertEqual(got["error"]["message"], "Provider 'codex' not found or disabled "
                         "(not signed in: run `copilot-api auth login --provider codex`)")
        # a Codex client's /v1/models says the same; the list leaves codex out
        status, _, got = self.s.json("GET", "/v1/models",
                                     headers={"user-agent": "codex_cli_rs/0.128.0"})
        self.assertEqual(status, 404, got)
        self.assertIn("Provider 'codex' not found or disabled", got["error"]["message"])
        status, _, got = self.s.json("GET", "/v1/models")
        self.assertEqual(status, 200, got)
        self.assertFalse([m for m in got["data"] if m["id"].startswith("codex/")])


def _listening(port):
    import socket
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class CodexWebSocketErrors(unittest.TestCase):
    """The backend over its Responses WebSocket: an error as the first
    message is an HTTP error (1.14.7, 141f86f), later ones stay events."""

    @classmethod
    def setUpClass(cls):
        cls.s = signed_in_codex_stack(
            lambda cfg: cfg.update(useResponsesApiWebSocket=True))

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_a_first_error_message_is_an_http_error(self):
        self.s.fake.fault(path="/backend-api/codex/responses", method="WS", kind="status",
                          status=429, body={"error": {"code": "usage_limit_reached",
                                                      "message": "usage limit reached"}})
        body = {"model": "codex/gpt-5.4", "input": "hi", "stream": True}
        status, headers, got = self.s.json("POST", "/v1/responses", body)
        self.assertEqual(status, 502, got)
        self.assertEqual(got["error"]["message"], "usage limit reached")
        ws = [r for r in self.s.fake.requests("/backend-api/codex/responses")
              if r["method"] == "WS"]
        self.assertEqual(len(ws), 1)
        # no fault: the same call streams
        resp, conn = self.s.stream("/v1/responses", body)
        try:
            self.assertEqual(resp.status, 200)
            names = [e for e, _ in harness.read_sse(resp) if e != "comment"]
        finally:
            conn.close()
        self.assertEqual(names[0], "codex.rate_limits")
        self.assertEqual(names[-1], "response.completed")


if __name__ == "__main__":
    unittest.main()
