"""`copilot-api start` options kept from the original: --claude-code (the
model picks on a terminal, driven through a pty, and the ready command),
--show-token (tokens printed when fetched or refreshed, and only then), and
--proxy-env (the environment's proxies used only when asked)."""

import http.server
import json
import os
import pty
import re
import select
import shutil
import socket
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import harness
import servers
from harness import API_KEY, BIN

CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "options"}]}


class Start:
    """`copilot-api start` on a fresh port, stdout+stderr collected."""

    def __init__(self, test, home, *args, tty=False, env=None, ignore=()):
        """ignore: signals start inherits as ignored, as from a shell
        without job control (SIGINT for `cmd &`) or nohup (SIGHUP)."""
        self.port = harness.free_port()
        e = dict(os.environ, COPILOT_API_HOME=home)
        e.pop("COPILOT_API_ENTERPRISE_URL", None)
        e.update(env or {})
        argv = [os.path.join(BIN, "copilot-api"), "start", "--port", str(self.port)] + list(args)
        self.out = b""
        pre = (lambda: [signal.signal(n, signal.SIG_IGN) for n in ignore]) \
            if ignore else None
        if tty:
            self.fd, slave = pty.openpty()
            self.proc = subprocess.Popen(argv, env=e, stdin=slave, stdout=slave,
                                         stderr=slave, close_fds=True, preexec_fn=pre)
            os.close(slave)
            test.addCleanup(os.close, self.fd)
        else:
            self.fd, w = os.pipe()
            self.proc = subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL, stdout=w,
                                         stderr=w, preexec_fn=pre)
            os.close(w)
            test.addCleanup(os.close, self.fd)
        test.addCleanup(harness.stop, self.proc, signal.SIGKILL)
        test.addCleanup(self.interrupt)
        self.client = harness.Client()
        self.client.port = self.port

    def read_until(self, pattern, timeout=30):
        """Output so far once it matches pattern (a regex)."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r in:\n%s" % (pattern, self.text()))
            if select.select([self.fd], [], [], min(left, 0.5))[0]:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:          # the pty's other side is gone
                    chunk = b""
                if not chunk and self.proc.poll() is not None:
                    raise AssertionError("start exited (%s) without %r:\n%s"
                                         % (self.proc.returncode, pattern, self.text()))
                self.out += chunk
        return self.text()

    def text(self):
        return self.out.decode("utf-8", "replace").replace("\r\n", "\n")

    def send(self, line):
        os.write(self.fd, (line + "\n").encode())

    def serving(self):
        self.read_until(r"serving on http://")
        harness.wait_until(lambda: self.client.get("/v1/models")[0] == 200,
                           what="start serving")

    def interrupt(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=60)


@unittest.skipUnless(servers.have("lighttpd", "spawn-fcgi"), "needs lighttpd and spawn-fcgi")
class StartOptions(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gw-opts-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.fake = harness.Fake(self.tmp)
        self.addCleanup(self.fake.close)
        self.home = servers.make_home(self.tmp, self.fake)
        if servers.RUN_AS is not None:       # start runs as us, not nobody
            for d, _, files in os.walk(self.home):
                os.chown(d, os.getuid(), os.getgid())
                for f in files:
                    os.chown(os.path.join(d, f), os.getuid(), os.getgid())

    def model_ids(self):
        with urllib.request.urlopen(self.fake.url + "/models", timeout=10) as r:
            return [m["id"] for m in json.load(r)["data"]]

    # ---- --claude-code ----------------------------------------------------

    def pick(self, shell):
        s = Start(self, self.home, "--claude-code", tty=True, env={"SHELL": shell})
        out = s.read_until(r"Select a model to use with Claude Code:[\s\S]*Number or model id")
        ids = re.findall(r"^\s+\d+\) (\S+)$", out, re.M)
        self.assertTrue(ids, out)
        self.assertEqual(sorted(ids), sorted(set(ids)))
        s.send("0")                                   # out of range: asked again
        s.read_until(r"No such model[\s\S]*Number or model id[^\n]*$")
        s.send("2")                                   # by number
        s.read_until(r"Select a small model[\s\S]*Number or model id[^\n]*$")
        s.send(ids[-1])                               # by id
        out = s.read_until(r"&& claude\n|; claude\n")
        command = out[out.index("Claude Code command"):].splitlines()[1]
        return s, ids, command

    def test_claude_code_sh(self):
        s, ids, command = self.pick("/bin/bash")
        self.assertTrue(command.startswith("export ANTHROPIC_BASE_URL=http://127.0.0.1:%d " % s.port),
                        command)
        self.assertTrue(command.endswith(" && claude"), command)
        env = dict(kv.split("=", 1) for kv in command[len("export "):-len(" && claude")].split())
        self.assertEqual(env["ANTHROPIC_AUTH_TOKEN"], API_KEY)
        self.assertEqual(env["ANTHROPIC_MODEL"], ids[1])
        self.assertEqual(env["ANTHROPIC_DEFAULT_SONNET_MODEL"], ids[1])
        self.assertEqual(env["ANTHROPIC_DEFAULT_HAIKU_MODEL"], ids[-1])
        self.assertEqual(env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"], "1")
        self.assertEqual(env["CLAUDE_PLUGIN_ENABLE_QUESTION_RULES"], "true")
        # ... and then the gateway serves with the command's settings.
        s.serving()
        status, _, body = s.client.json("POST", "/v1/messages", {
            "model": env["ANTHROPIC_MODEL"], "max_tokens": 32,
            "messages": [{"role": "user", "content": "hi"}]},
            key=env["ANTHROPIC_AUTH_TOKEN"])
        self.assertEqual(status, 200, body)

    def test_claude_code_fish(self):
        _, ids, command = self.pick("/usr/bin/fish")
        self.assertIn("set -gx ANTHROPIC_MODEL %s; " % ids[1], command)
        self.assertIn("set -gx ANTHROPIC_DEFAULT_HAIKU_MODEL %s; " % ids[-1], command)
        self.assertTrue(command.endswith("; claude"), command)

    def test_sigint_at_the_picker_stops_start_even_when_inherited_ignored(self):
        # Started with SIGINT ignored (a background job of a shell without
        # job control, e.g. `make check &` in a script): the same SIGINT
        # that stops a serving start must stop it while it asks, before
        # its children exist (it was dropped, and the test waited 60 s).
        s = Start(self, self.home, "--claude-code", tty=True,
                  env={"SHELL": "/bin/bash"}, ignore=(signal.SIGINT,))
        s.read_until(r"Select a model to use with Claude Code:[\s\S]*Number or model id")
        s.proc.send_signal(signal.SIGINT)
        self.assertEqual(s.proc.wait(timeout=10), -signal.SIGINT)

    def test_sighup_ignored_at_start_stays_ignored_while_serving(self):
        # nohup: a hangup neither stops start before it serves nor after.
        s = Start(self, self.home, ignore=(signal.SIGHUP, signal.SIGINT))
        s.serving()
        s.proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        self.assertIsNone(s.proc.poll(), s.text())
        self.assertEqual(s.client.get("/v1/models")[0], 200)
        s.interrupt()                                 # SIGINT still stops it
        s.read_until(r"Stopped\.")
        self.assertEqual(s.proc.returncode, 0, s.text())

    def test_claude_code_without_a_terminal_does_not_ask(self):
        s = Start(self, self.home, "--claude-code")
        s.serving()
        self.assertIn("no terminal to pick the models on", s.text())
        self.assertNotIn("Select a model", s.text())

    # ---- --show-token -----------------------------------------------------

    def copilot_tokens(self):
        return [t["token"] for t in self.fake.call("GET", "/_fake/tokens")["copilot"]]

    def test_show_token(self):
        self.fake.call("POST", "/_fake/revoke_tokens", {})   # start must fetch one
        s = Start(self, self.home, "--show-token")
        s.serving()
        out = s.read_until(r"Copilot token: \S+\n")
        self.assertIn("GitHub token: gho_deploy_test\n", out)
        printed = re.findall(r"Copilot token: (\S+)", out)
        self.assertEqual(printed, self.copilot_tokens()[-1:])
        # A request on the current token prints nothing ...
        status, _, body = s.client.json("POST", "/v1/chat/completions", CHAT)
        self.assertEqual(status, 200, body)
        time.sleep(0.5)
        s.read_until(r"serving on")
        self.assertEqual(re.findall(r"Copilot token: (\S+)", s.text()), printed)
        # ... a refresh (Copilot rejected the token) prints the new one.
        self.fake.call("POST", "/_fake/revoke_tokens", {})
        status, _, body = s.client.json("POST", "/v1/chat/completions", CHAT)
        self.assertEqual(status, 200, body)
        out = s.read_until(r"(Copilot token: \S+\n[\s\S]*){2}")
        now = re.findall(r"Copilot token: (\S+)", out)
        self.assertEqual(len(now), 2, out)
        self.assertEqual(now[1], self.copilot_tokens()[-1])
        self.assertNotEqual(now[0], now[1])

    def test_no_show_token_prints_no_token(self):
        self.fake.call("POST", "/_fake/revoke_tokens", {})
        s = Start(self, self.home)
        s.serving()
        status, _, _ = s.client.json("POST", "/v1/chat/completions", CHAT)
        self.assertEqual(status, 200)
        s.interrupt()
        s.read_until(r"Stopped\.")
        out = s.text()
        self.assertNotIn("gho_deploy_test", out)
        for t in self.copilot_tokens():
            self.assertNotIn(t, out)


class RecordingProxy(http.server.ThreadingHTTPServer):
    """A forward HTTP proxy on loopback that records each request line and
    relays it (buffered) to the origin."""

    def __init__(self):
        self.seen = []

        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def relay(self):
                outer.seen.append("%s %s" % (self.command, self.path))
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else None
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("host", "proxy-connection", "connection",
                                             "content-length")}
                req = urllib.request.Request(self.path, data=body, method=self.command,
                                             headers=hdrs)
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                try:
                    r = opener.open(req, timeout=30)
                except urllib.error.HTTPError as err:
                    r = err
                data = r.read()
                self.send_response(r.status if hasattr(r, "status") else r.code)
                for k, v in r.headers.items():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = relay

            def do_CONNECT(self):
                """A tunnel (the Responses WebSocket asks for one)."""
                outer.seen.append("CONNECT %s" % self.path)
                host, port = self.path.rsplit(":", 1)
                up = socket.create_connection((host, int(port)), timeout=30)
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                a, b = self.connection, up
                try:
                    while True:
                        r, _, _ = select.select([a, b], [], [], 30)
                        if not r:
                            break
                        data = r[0].recv(65536)
                        if not data:
                            break
                        (b if r[0] is a else a).sendall(data)
                finally:
                    up.close()
                    self.close_connection = True

            def log_message(self, *a):
                pass

        super().__init__(("127.0.0.1", 0), H)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class ProxyEnv(unittest.TestCase):
    """http_proxy in the responder's environment, with and without
    COPILOT_API_PROXY_ENV=1 (what `start --proxy-env` sets)."""

    def run_stack(self, ask):
        proxy = RecordingProxy()
        self.addCleanup(proxy.server_close)
        self.addCleanup(proxy.shutdown)
        env = {"http_proxy": "http://127.0.0.1:%d" % proxy.server_address[1],
               "no_proxy": ""}
        if ask:
            env["COPILOT_API_PROXY_ENV"] = "1"
        s = harness.Stack(env=env)
        self.addCleanup(s.close)
        status, _, body = s.json("POST", "/v1/chat/completions", CHAT)
        self.assertEqual(status, 200, body)
        return proxy.seen, s

    def test_proxy_used_when_asked(self):
        seen, s = self.run_stack(True)
        self.assertIn("POST %s/chat/completions" % s.fake.url, seen)

    def test_the_responses_websocket_tunnels_through_the_proxy(self):
        seen, s = self.run_stack(True)
        resp, conn = s.stream("/v1/responses", {"model": "gpt-5.4", "input": "via proxy",
                                                "stream": True})
        names = [n for n, _ in harness.read_sse(resp) if n != "comment"]
        conn.close()
        self.assertEqual(names[-1], "response.completed")
        self.assertIn("CONNECT %s" % s.fake.url.split("//", 1)[1], seen)
        self.assertEqual([r["method"] for r in s.fake.requests("/responses")], ["GET", "WS"])

    def test_proxy_ignored_otherwise(self):
        seen, s = self.run_stack(False)
        self.assertEqual(seen, [])
        self.assertTrue(s.fake.requests("/chat/completions"))


if __name__ == "__main__":
    unittest.main()
