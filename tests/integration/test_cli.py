"""The command line and copilot-refresh against the fake GitHub."""

import json
import os
import sqlite3
import unittest

import harness


class CLI(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(signed_in=False)

    def tearDown(self):
        self.s.close()

    def kv(self, key):
        db = sqlite3.connect(os.path.join(self.s.home, "copilot-api.db"))
        row = db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        db.close()
        return row[0] if row else None

    def test_device_flow_signs_in(self):
        self.s.fake.config(device_pending=1, device_interval=0)
        r = self.s.cli("auth", "login")
        self.assertIn("Please enter the code", r.stdout)
        self.assertIn("Signed in to GitHub as", r.stdout)
        self.assertTrue(self.kv("github_token").startswith("gho_"))
        polls = self.s.fake.requests("/login/oauth/access_token")
        self.assertEqual(len(polls), 2)
        self.assertEqual(polls[0]["body"]["grant_type"],
                         "urn:ietf:params:oauth:grant-type:device_code")
        self.assertEqual(self.s.fake.requests("/login/device/code")[0]["body"]["client_id"],
                         "Iv1.b507a08c87ecfe98")

    def test_device_flow_slow_down_then_success(self):
        self.s.fake.config(device_scenario="slow_down", device_pending=0, device_interval=0)
        r = self.s.cli("auth", "login")
        self.assertIn("Signed in", r.stdout)

    def test_device_flow_expired_and_denied(self):
        self.s.fake.config(device_scenario="expired_token", device_interval=0)
        r = self.s.cli("auth", "login", check=False)
        self.assertEqual(r.returncode, 3)
        self.assertIn("expired", r.stderr)
        self.s.fake.config(device_scenario="access_denied", device_interval=0)
        r = self.s.cli("auth", "login", check=False)
        self.assertEqual(r.returncode, 4)
        self.assertIn("denied", r.stderr)
        self.assertIsNone(self.kv("github_token"))

    def test_opencode_app(self):
        self.s.fake.config(device_pending=0, device_interval=0)
        self.s.cli("auth", "login", "--oauth-app", "opencode")
        self.assertEqual(self.s.fake.requests("/login/device/code")[0]["body"]["client_id"],
                         "Ov23li8tweQw6odWQebz")

    def test_given_token_is_checked_before_it_is_stored(self):
        r = self.s.cli("auth", "login", "--github-token", "not-a-github-token", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("rejected", r.stderr)
        self.assertIsNone(self.kv("github_token"))
        r = self.s.cli("auth", "login", "--github-token", "gho_given_token")
        self.assertIn("fake-user", r.stdout)
        self.assertNotIn("gho_given_token", r.stdout)   # only a fingerprint
        self.assertEqual(self.kv("github_token"), "gho_given_token")

    def test_gh_token_environment(self):
        env = dict(self.s.env, GH_TOKEN="gho_from_environment")
        r = harness.subprocess.run([os.path.join(harness.BIN, "copilot-api"), "auth", "login"],
                                   env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.kv("github_token"), "gho_from_environment")
        self.assertEqual(self.s.fake.requests("/login/device/code"), [])

    def providers(self):
        with open(os.path.join(self.s.home, "config.json")) as f:
            return json.load(f).get("providers", {})

    def test_provider_presets_and_custom_providers(self):
        # 1.14.7's `auth login --provider <preset>|custom`: the entry is
        # written from the answers (apiKey, then type/baseUrl where asked)
        url = self.s.fake.url
        r = self.s.cli("auth", "login", "--provider", "opencode-go",
                       input="  sk-provider-test \n%s//\n" % url)
        self.assertIn("OpenCode Go provider 'opencode-go' written to", r.stdout)
        self.assertEqual(self.providers()["opencode-go"], {
            "type": "openai-compatible", "enabled": True, "baseUrl": url,
            "apiKey": "sk-provider-test", "pricingCurrency": "USD"})
        # the defaults; an existing entry keeps only its models
        with open(os.path.join(self.s.home, "config.json")) as f:
            cfg = json.load(f)
        cfg["providers"]["deepseek"] = {"type": "openai-compatible", "apiKey": "old",
                                        "topP": 1, "models": {"m": {"type": "anthropic"}}}
        with open(os.path.join(self.s.home, "config.json"), "w") as f:
            json.dump(cfg, f)
        self.s.cli("auth", "login", "--provider", "deepseek", input="sk-ds\n\n\n")
        self.assertEqual(self.providers()["deepseek"], {
            "type": "anthropic", "enabled": True,
            "baseUrl": "https://api.deepseek.com/anthropic", "apiKey": "sk-ds",
            "pricingCurrency": "CNY", "models": {"m": {"type": "anthropic"}}})
        r = self.s.cli("auth", "login", "--provider", "custom",
                       input="mine\nanthropic\n%s\nsk-provider-test\n\n" % url)
        self.assertIn("Custom provider 'mine' written to", r.stdout)
        self.assertEqual(self.providers()["mine"], {
            "type": "anthropic", "enabled": True, "baseUrl": url,
            "apiKey": "sk-provider-test"})
        # both serve requests once the responders reload the file
        body = {"model": "some-model", "max_tokens": 20,
                "messages": [{"role": "user", "content": "hi"}]}
        harness.wait_until(lambda: self.s.json("POST", "/opencode-go/v1/messages",
                                               body)[0] == 200, what="opencode-go served")
        rec = self.s.fake.requests("/v1/chat/completions")[-1]
        self.assertEqual(rec["headers"]["authorization"], "Bearer sk-provider-test")
        self.assertEqual(self.s.json("POST", "/mine/v1/messages", body)[0], 200)
        self.assertEqual(self.s.fake.requests("/v1/messages")[-1]["headers"]["x-api-key"],
                         "sk-provider-test")
        # refusals change nothing
        before = self.providers()
        for provider, answers, why in (
                ("custom", "bad name\n", "Provider name must start with a letter"),
                ("custom", "codex\n", "Provider name 'codex' is reserved"),
                ("custom", "x\ngemini\n", "No provider type selected"),
                ("custom", "x\nanthropic\n%s\nk\nbearer\n" % url,
                 "No provider auth type selected"),
                ("openrouter", "\n", "apiKey must be a non-empty string"),
                ("dashscope", "k\nsomething\n", "No provider type selected")):
            r = self.s.cli("auth", "login", "--provider", provider, input=answers, check=False)
            self.assertEqual(r.returncode, 1, provider + answers)
            self.assertIn(why, r.stderr)
        self.assertEqual(self.providers(), before)
        r = self.s.cli("auth", "login", "--provider", "nope", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("Expected one of: copilot, codex, opencode-go, deepseek, dashscope, "
                      "openrouter, custom", r.stderr)

    def test_account_type_is_kept_in_config(self):
        self.s.cli("auth", "login", "--github-token", "gho_acct", "--account-type", "business")
        with open(os.path.join(self.s.home, "config.json")) as f:
            self.assertEqual(json.load(f)["accountType"], "business")
        r = self.s.cli("auth", "login", "--github-token", "gho_acct", "--account-type", "bogus",
                       check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("account type", r.stderr)

    def test_refresh_lifecycle(self):
        r = harness.subprocess.run([os.path.join(harness.BIN, "copilot-refresh")],
                                   env=self.s.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not signed in", r.stderr)
        # Signed in through the device flow, so the fake can revoke the token.
        self.s.fake.config(device_pending=0, device_interval=0)
        self.s.cli("auth", "login")
        refresh = lambda *a: harness.subprocess.run(
            [os.path.join(harness.BIN, "copilot-refresh")] + list(a),
            env=self.s.env, capture_output=True, text=True)
        r = refresh()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("refreshed", r.stdout)
        self.assertIn("models", r.stdout)
        r = refresh()
        self.assertIn("still fresh", r.stdout)
        n = len(self.s.fake.requests("/copilot_internal/v2/token"))
        r = refresh("--force", "--quiet")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(self.s.fake.requests("/copilot_internal/v2/token")), n + 1)
        # GitHub revokes the token: refresh fails loudly, non-zero.
        self.s.fake.call("POST", "/_fake/revoke_tokens", {"github": True})
        r = refresh("--force")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("refused", r.stderr)

    def test_refresh_reads_token_based_billing(self):
        """1.14.7: an account Copilot bills by token gets its /v1/messages
        turns as sent (no tool_result merge); copilot-refresh reads the
        flag from copilot_internal/user."""
        self.s.cli("auth", "login", "--github-token", "gho_billing")
        refresh = lambda: harness.subprocess.run(
            [os.path.join(harness.BIN, "copilot-refresh"), "--force", "--quiet"],
            env=self.s.env, capture_output=True, text=True)
        turn = {"model": "claude-sonnet-4.6", "max_tokens": 64, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "tu1", "name": "Skill", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "tu1", "content": "Launching skill: x"},
                {"type": "text", "text": "Remember the plan."}]}]}

        def sent():
            status, _, body = self.s.json("POST", "/v1/messages", turn,
                                          headers={"anthropic-version": "2023-06-01"})
            self.assertEqual(status, 200, body)
            return self.s.fake.requests("/v1/messages")[-1]["body"]["messages"][-1]["content"]

        self.s.fake.config(user_overrides={"token_based_billing": True})
        self.assertEqual(refresh().returncode, 0)
        self.assertEqual(self.kv("token_based_billing"), "1")
        self.assertEqual([b["type"] for b in sent()], ["tool_result", "text"])
        self.s.fake.config(user_overrides={"token_based_billing": False})
        self.assertEqual(refresh().returncode, 0)
        self.assertEqual(self.kv("token_based_billing"), "0")
        merged = sent()
        self.assertEqual([b["type"] for b in merged], ["tool_result"])
        self.assertIn("Remember the plan.", json.dumps(merged))

    def test_debug_json_and_check_usage(self):
        self.s.cli("auth", "login", "--github-token", "gho_debug")
        r = self.s.cli("debug", "--json")
        d = json.loads(r.stdout)
        self.assertEqual(d["paths"]["APP_DIR"], self.s.home)
        self.assertTrue(d["state"]["tokenExists"])
        self.assertIn("WebSocket", d["responsesTransport"])
        r = self.s.cli("check-usage")
        self.assertIn("Copilot Usage (plan:", r.stdout)
        self.assertIn("Premium:", r.stdout)

    def test_config_gets_admin_key_once(self):
        home = os.path.join(self.s.workdir, "home2")
        os.makedirs(home)
        path = os.path.join(home, "config.json")
        with open(path, "w") as f:
            json.dump({"upstream": self.s.config["upstream"], "myOwnKey": [1, 2]}, f)
        env = dict(self.s.env, COPILOT_API_HOME=home)
        run = lambda: harness.subprocess.run(
            [os.path.join(harness.BIN, "copilot-api"), "auth", "login", "--github-token",
             "gho_x"], env=env, capture_output=True, text=True)
        self.assertEqual(run().returncode, 0)
        with open(path) as f:
            cfg = json.load(f)
        key = cfg["auth"]["adminApiKey"]
        self.assertRegex(key, "^[0-9a-f]{64}$")
        self.assertEqual(cfg["myOwnKey"], [1, 2])          # unknown keys kept
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        ino = os.stat(path).st_ino
        self.assertEqual(run().returncode, 0)
        self.assertEqual(os.stat(path).st_ino, ino)       # not rewritten
        with open(path) as f:
            self.assertEqual(json.load(f)["auth"]["adminApiKey"], key)
