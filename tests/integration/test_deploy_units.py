"""deploy/systemd and deploy/cron: the units pass `systemd-analyze verify`
once their install paths point at this build, and the refresh job -- the
timer's service command and the cron line, run as written -- refreshes the
Copilot token.  (The responder units' command lines serve the lighttpd,
Apache and Caddy tests: see servers.Pool.)"""

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

import harness
import servers

SYSTEMD = os.path.join(servers.DEPLOY, "systemd")
UNITS = ["copilot-api.service", "copilot-refresh.service", "copilot-refresh.timer",
         "socket-activated/copilot-api.socket", "socket-activated/copilot-api.service"]


class Units(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gw-units-")
        os.chmod(cls.tmp, 0o755)
        cls.fake = harness.Fake(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.fake.reset()
        self.work = tempfile.mkdtemp(dir=self.tmp)
        os.chmod(self.work, 0o755)
        self.home = servers.make_home(self.work, self.fake)
        self.paths = servers.installed_paths(self.work, self.home)

    def token_exchanges(self):
        return len(self.fake.requests("/copilot_internal/v2/token"))

    def run_as_service_user(self, argv, env):
        kw = {}
        if servers.RUN_AS is not None:    # the data directory belongs to it
            kw = dict(user=servers.RUN_AS.pw_uid, group=servers.RUN_AS.pw_gid,
                      extra_groups=[])
        return subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=60, **kw)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "needs systemd-analyze")
    def test_units_verify(self):
        for group in (UNITS[:3], UNITS[3:]):
            d = tempfile.mkdtemp(dir=self.work)
            files = []
            for u in group:
                with open(os.path.join(SYSTEMD, u)) as f:
                    text = servers.localize(f.read(), self.paths)
                files.append(servers.write(os.path.join(d, os.path.basename(u)), text))
            r = subprocess.run(["systemd-analyze", "verify", "--man=no"] + files,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotRegex(r.stdout + r.stderr, r"(?i)unknown|invalid|failed|error",
                                group)

    def test_refresh_service_command(self):
        units = servers.unit_settings(servers.read_shipped(
            "deploy", "systemd", "copilot-refresh.service"))
        self.assertEqual(servers.unit_value(units, "Service", "Type"), "oneshot")
        env = dict(os.environ)
        env.pop("COPILOT_API_ENTERPRISE_URL", None)
        for k, v in servers.unit_environment(units).items():
            env[k] = servers.localize(v, self.paths)
        argv = [servers.localize(a, self.paths) for a in
                shlex.split(servers.unit_value(units, "Service", "ExecStart"))]
        before = self.token_exchanges()
        r = self.run_as_service_user(argv, env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")          # --quiet: silent when all is well
        self.assertEqual(self.token_exchanges(), before + 1)
        timer = servers.unit_settings(servers.read_shipped(
            "deploy", "systemd", "copilot-refresh.timer"))
        self.assertEqual(servers.unit_value(timer, "Timer", "OnUnitActiveSec"), "10min")

    def test_cron_line(self):
        """/etc/cron.d/copilot-api, run the way cron runs it: its variables,
        then the command through /bin/sh."""
        env = {"PATH": "/usr/bin:/bin", "HOME": self.work, "SHELL": "/bin/sh"}
        jobs = []
        for line in servers.read_shipped("deploy", "cron", "copilot-api").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
            if m:
                env[m.group(1)] = servers.localize(m.group(2), self.paths)
                continue
            fields = line.split(None, 6)
            self.assertEqual(len(fields), 7, line)   # 5 times, user, command
            jobs.append(fields)
        self.assertEqual(len(jobs), 1)
        self.assertEqual(jobs[0][:5], ["*/10", "*", "*", "*", "*"])
        before = self.token_exchanges()
        r = self.run_as_service_user(["/bin/sh", "-c", servers.localize(jobs[0][6], self.paths)],
                                     env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout + r.stderr, "")   # cron mails any output
        self.assertEqual(self.token_exchanges(), before + 1)


if __name__ == "__main__":
    unittest.main()


class TimeoutsAgree(unittest.TestCase):
    """One set of timeouts (issue 12): the gateway's stall guard (README's
    default for timeouts.stallSeconds, the same as state/config.c's, which
    tests/unit/test_config.c holds) gives up on a silent non-streamed turn
    before any shipped web server's per-read limit, so the client gets the
    gateway's 504 in its dialect, not the server's page."""

    def test_web_server_limits_exceed_the_stall_guard(self):
        root = os.path.dirname(servers.DEPLOY)
        with open(os.path.join(root, "README.md")) as f:
            m = re.search(r"^\| `timeouts\.stallSeconds` \| (\d+) \|", f.read(), re.M)
        stall = int(m.group(1))
        self.assertGreaterEqual(stall, 600)       # README's 10-minute turns
        limits = {}
        for sub, pat in (("lighttpd", r"^var\.copilot_api_timeout = (\d+)"),
                         ("apache", r"^Define COPILOT_API_TIMEOUT (\d+)")):
            d = os.path.join(servers.DEPLOY, sub)
            for name in sorted(os.listdir(d)):
                if name.endswith(".conf"):
                    with open(os.path.join(d, name)) as f:
                        for v in re.findall(pat, f.read(), re.M):
                            limits[sub + "/" + name] = int(v)
        self.assertGreaterEqual(len(limits), 6)
        for name, limit in limits.items():
            self.assertGreater(limit, stall + 60, name)
