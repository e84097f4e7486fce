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
    s = harness.Stack()
    try:
        path = os.path.join(s.home, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["upstream"]["codexAuthUrl"] = s.fake.url
        cfg["providers"] = {"codex": {"baseUrl": s.fake.url + "/backend-api"}}
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)
        s.fcgi.send_signal(signal.SIGTERM)
        s.fcgi.wait(timeout=120)
        s.start_fcgi()
    except BaseException:
        s.close()
        raise
    return s


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

    def start_login(self, port):
        env = dict(self.s.env, COPILOT_API_CODEX_CALLBACK_PORT=str(port))
        p = subprocess.Popen([os.path.join(BIN, "copilot-api"), "auth", "login",
                              "--provider", "codex"], env=env, stdin=subprocess.PIPE,
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

    def test_login_by_pasting_the_redirect_url(self):
        rc, out, err = self.login("paste")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("Signed in to Codex", out)

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


if __name__ == "__main__":
    unittest.main()
