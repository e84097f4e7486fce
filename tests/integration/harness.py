"""Test stack: the fake upstream, the responder under spawn-fcgi, and a real
web server in front, each started from its own config on loopback ports and
stopped by PID.  Nothing here sleeps for a fixed time: every start waits on a
readiness check."""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build", "bin")
FAKE = os.path.join(ROOT, "tests", "fake", "fake_upstream.py")
API_KEY = "sk-test-regular-0123456789"
# make check exports the sanitizer flags the build used: valgrind cannot run
# ASan-instrumented programs, so the valgrind soak tests skip then.
SANITIZED = bool(os.environ.get("GW_SANITIZERS", "").strip())
VALGRIND_SKIP = ("valgrind is not installed" if not shutil.which("valgrind") else
                 "an ASan build cannot run under valgrind" if SANITIZED else None)
ADMIN_KEY = "a" * 64


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get_uuid(s):
    """The reference's getUUID(s): SHA-256, first 16 bytes, version 4, variant 10."""
    b = bytearray(hashlib.sha256(s.encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def wait_until(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    delay = 0.01
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except Exception:  # not ready yet
            pass
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    raise TimeoutError("timed out waiting for " + what)


def stop(proc, sig=signal.SIGTERM, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Fake:
    """The fake GitHub + Copilot upstream (tests/fake)."""

    def __init__(self, workdir):
        self.portfile = os.path.join(workdir, "fake.port")
        self.log = open(os.path.join(workdir, "fake.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--port", "0", "--portfile", self.portfile],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: os.path.getsize(self.portfile) > 0, what="fake upstream")
        with open(self.portfile) as f:
            self.port = int(f.read().strip())
        self.url = "http://127.0.0.1:%d" % self.port

    def call(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def reset(self):
        self.call("POST", "/_fake/reset", {})

    def fault(self, **f):
        self.call("POST", "/_fake/faults", {"faults": [f]})

    def config(self, **c):
        self.call("POST", "/_fake/config", c)

    def requests(self, path=None):
        got = self.call("GET", "/_fake/requests")
        items = got["requests"] if isinstance(got, dict) else got
        return [r for r in items if path is None or r["path"] == path]

    def wait_requests(self, path, count, timeout=10):
        return self.call("GET", "/_fake/wait?path=%s&count=%d&timeout=%s"
                         % (path, count, timeout), timeout=timeout + 5)

    def close(self):
        stop(self.proc)
        self.log.close()


# What every lighttpd of the tests has: loopback, its files under workdir
# named for it, responses streamed as they come.
LIGHTTPD_BASE = """\
server.document-root = "{docroot}"
server.bind = "127.0.0.1"
server.port = {port}
server.pid-file = "{workdir}/{name}.pid"
server.errorlog = "{workdir}/{name}-error.log"
server.max-request-size = 0
server.stream-response-body = 2
server.stream-request-body = 0
"""

LIGHTTPD_CONF = """\
server.modules += ( "mod_fastcgi" )
""" + LIGHTTPD_BASE + """\
fastcgi.server = ( "/" => ((
    "socket" => "{socket}",
    "check-local" => "disable",
    "tcp-fin-propagate" => "enable"
)) )
"""


class Client:
    """HTTP helpers against 127.0.0.1:self.port (a Stack, or any web server
    in front of the responder)."""

    port = None

    def request(self, method, path, body=None, headers=None, key=API_KEY,
                raw=None, timeout=60):
        h = {"content-type": "application/json"}
        if key is not None:
            h["authorization"] = "Bearer " + key
        h.update(headers or {})
        data = raw if raw is not None else (
            None if body is None else json.dumps(body).encode())
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), payload

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def json(self, method, path, body=None, **kw):
        status, headers, payload = self.request(method, path, body, **kw)
        return status, headers, (json.loads(payload) if payload else None)

    def stream(self, path, body, key=API_KEY, headers=None, timeout=60):
        """Opens a streaming POST; returns (response, connection)."""
        h = {"content-type": "application/json", "authorization": "Bearer " + key}
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request("POST", path, body=json.dumps(body).encode(), headers=h)
        return c.getresponse(), c


class Stack(Client):
    """fake + copilot-api.fcgi (spawn-fcgi) + lighttpd, in a private dir.
    fake: an existing Fake to share (several stacks as the hosts of one
    gateway), which close() then leaves running."""

    def __init__(self, config=None, env=None, signed_in=True, threads=4, wrapper=None,
                 fake=None):
        self.workdir = tempfile.mkdtemp(prefix="gw-it-")
        self.home = os.path.join(self.workdir, "home")
        os.makedirs(self.home, mode=0o700)
        self.own_fake = fake is None
        self.fake = fake or Fake(self.workdir)
        cfg = {
            "auth": {"apiKeys": [API_KEY], "adminApiKey": ADMIN_KEY},
            "upstream": {"githubUrl": self.fake.url,
                         "githubApiUrl": self.fake.url,
                         "copilotApiUrl": self.fake.url,
                         "anthropicApiUrl": self.fake.url},
            "timeouts": {"pingSeconds": 1, "stallSeconds": 5},
        }
        for k, v in (config or {}).items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
        self.config = cfg
        with open(os.path.join(self.home, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        self.env = dict(os.environ, COPILOT_API_HOME=self.home,
                        COPILOT_API_THREADS=str(threads))
        self.env.pop("COPILOT_API_ENTERPRISE_URL", None)
        self.env.update(env or {})
        if signed_in:
            self.cli("auth", "login", "--github-token", "gho_integration_test")
        self.wrapper = list(wrapper or [])
        self.socket = os.path.join(self.workdir, "fcgi.sock")
        self.fcgi_log = open(os.path.join(self.workdir, "fcgi.log"), "wb")
        self.fcgi = None
        self.start_fcgi()
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        docroot = os.path.join(self.workdir, "docroot")
        os.makedirs(docroot)
        conf = os.path.join(self.workdir, "lighttpd.conf")
        with open(conf, "w") as f:
            f.write(LIGHTTPD_CONF.format(docroot=docroot, port=self.port,
                                         workdir=self.workdir, name="lighttpd",
                                         socket=self.socket))
        self.httpd = subprocess.Popen(["lighttpd", "-D", "-f", conf],
                                      stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        wait_until(lambda: self.get("/")[0] == 200, timeout=60,
                   what="lighttpd + responder")

    def edit_config(self, update):
        """config.json as update(cfg) leaves it (the responder sees a live
        key within a second)."""
        path = os.path.join(self.home, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        update(cfg)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)

    def reconfigure(self, update):
        """config.json as update(cfg) leaves it, and the responder restarted
        to load it (for keys that name the fake, known only once it runs).
        The Stack is closed if that fails."""
        try:
            self.edit_config(update)
            self.fcgi.send_signal(signal.SIGTERM)
            self.fcgi.wait(timeout=120)
            self.start_fcgi()
        except BaseException:
            self.close()
            raise
        return self

    def start_fcgi(self):
        # spawn-fcgi -n execs the responder in place: its PID is ours to signal.
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.fcgi = subprocess.Popen(
            ["spawn-fcgi", "-n", "-s", self.socket, "-M", "0600", "--"] +
            [w.replace("{workdir}", self.workdir) for w in self.wrapper] +
            [os.path.join(BIN, "copilot-api.fcgi")],
            env=self.env, stdout=self.fcgi_log, stderr=subprocess.STDOUT)
        wait_until(self.fcgi_listening, timeout=60, what="fcgi socket")

    def fcgi_listening(self):
        c = socket.socket(socket.AF_UNIX)
        try:
            c.connect(self.socket)
            return True
        finally:
            c.close()

    def cli(self, *args, check=True, input=None, timeout=60):
        r = subprocess.run([os.path.join(BIN, "copilot-api")] + list(args),
                           env=self.env, capture_output=True, text=True,
                           input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("copilot-api %s failed (%d): %s %s"
                                 % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def usage_rows(self, at_least=0, timeout=20):
        """The usage rows; with at_least, waits until there are that many
        (a row is queued just after the client got its answer, and a
        responder process writes its queue every 200 ms: the rows already
        queued are written first, by a /token-usage call, which waits for
        them)."""
        self.sync_rows()
        rows = self._rows()
        if len(rows) < at_least:
            wait_until(lambda: len(self._rows()) >= at_least, timeout=timeout,
                       what="%d usage rows" % at_least)
            rows = self._rows()
        return rows

    def sync_rows(self):
        """Asks the responder to write the usage rows it has queued (one
        process: all of them)."""
        try:
            self.get("/token-usage?period=day")
        except OSError:
            pass              # a stopped stack: nothing is queued

    def _rows(self):
        import sqlite3
        db = sqlite3.connect(os.path.join(self.home, "copilot-api.db"), timeout=10)
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute(
            "SELECT * FROM token_usage_events ORDER BY id")]
        db.close()
        return rows

    def parked_pair(self, path, send):
        """Runs send() in two threads whose upstream calls to path are held
        by the fake until both arrived, then released: with one thread per
        process, the two ran in different processes.  send's results, in
        completion order.

        One thread per process means COPILOT_API_MAX_THREADS=1 as well as
        threads=1: a process's pool grows while all its threads are busy, so
        otherwise the second request may start a second thread in the
        process holding the first (which one takes it is up to the kernel's
        accept and the scheduler, not the test)."""
        assert (self.env.get("COPILOT_API_THREADS") == "1" and
                self.env.get("COPILOT_API_MAX_THREADS") == "1"), \
            "parked_pair needs threads=1 and COPILOT_API_MAX_THREADS=1"
        self.fake.fault(path=path, kind="hold", name="pair", times=2)
        got = []
        ts = [threading.Thread(target=lambda: got.append(send()))
              for _ in range(2)]
        for t in ts:
            t.start()
        try:
            w = self.fake.call("GET", "/_fake/wait_hold?name=pair&count=2&timeout=20")
            assert w["ok"], w
        finally:
            self.fake.call("POST", "/_fake/release", {"all": True})
            for t in ts:
                t.join(30)
        return got

    def log_text(self):
        self.fcgi_log.flush()
        with open(os.path.join(self.workdir, "fcgi.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        stop(self.httpd)
        stop(self.fcgi)
        self.fcgi_log.close()
        if self.own_fake:
            self.fake.close()
        if os.environ.get("GW_KEEP_TEST_DIRS"):
            sys.stderr.write("kept %s\n" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def claude_code_sandbox(stack, prefix):
    """A fresh HOME and project directory for Claude Code under stack's
    workdir, and the environment that points it at the stack:
    (work, home, project, env)."""
    work = tempfile.mkdtemp(prefix=prefix, dir=stack.workdir)
    home = os.path.join(work, "home")
    proj = os.path.join(work, "project")
    os.makedirs(home)
    os.makedirs(proj)
    env = {"PATH": os.environ["PATH"], "HOME": home,
           "ANTHROPIC_BASE_URL": stack.url, "ANTHROPIC_API_KEY": API_KEY,
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1"}
    return work, home, proj, env


def read_sse(resp):
    """Yields (event, data) pairs from an http.client response as they
    arrive, so tests can act between events."""
    event, data = None, []
    while True:
        line = resp.readline()
        if not line:
            return
        line = line.decode("utf-8").rstrip("\r\n")
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = None, []
        elif line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" ") if line[5:6] == " " else line[5:])
