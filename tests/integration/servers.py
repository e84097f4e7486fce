"""Real web servers in front of the responder, started from the files we
ship (deploy/, cgi-bin/.htaccess) with only ports, paths and timeouts
substituted, in the foreground on loopback ports, stopped by PID.

Each Deployment is the operator's setup in miniature: a data directory
signed in to the fake upstream, the responder (run from the systemd unit's
command line, by systemd-style socket activation, or by the web server
itself), and the web server's own minimal main config that includes the
shipped file.  As root, every server and responder runs as `nobody`, the
way a real web server drops privileges; the data directory then belongs to
`nobody`, as the READMEs tell operators to arrange."""

import http.client
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import harness
from harness import API_KEY, BIN, ROOT, stop, wait_until

DEPLOY = os.path.join(ROOT, "deploy")
CGI_BIN = os.path.join(ROOT, "cgi-bin")
APACHE_MODULES = "/usr/lib/apache2/modules"

# As root, run servers and responders unprivileged (Apache refuses to serve
# as root anyway).
RUN_AS = pwd.getpwnam("nobody") if os.geteuid() == 0 else None


def have(*programs):
    return all(shutil.which(p) or os.path.exists(os.path.join("/usr/sbin", p))
               for p in programs)


def popen(argv, log, env=None, **kw):
    if RUN_AS is not None:
        kw.update(user=RUN_AS.pw_uid, group=RUN_AS.pw_gid, extra_groups=[])
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            env=env, **kw)


def give_away(path):
    """Makes path (recursively) belong to the unprivileged run user."""
    if RUN_AS is None:
        return
    for d, dirs, files in os.walk(path):
        os.chown(d, RUN_AS.pw_uid, RUN_AS.pw_gid)
        for f in files:
            os.chown(os.path.join(d, f), RUN_AS.pw_uid, RUN_AS.pw_gid)


# --- substitution into the shipped files ------------------------------------

def fill(text, subs):
    """Applies (regex, replacement) pairs; each must match at least once, so
    a renamed setting in a shipped file fails loudly instead of silently
    testing the defaults."""
    for pattern, repl in subs:
        text, n = re.subn(pattern, lambda m: repl, text, flags=re.M)
        if n == 0:
            raise AssertionError("shipped file has no %r" % pattern)
    return text


def lighttpd_var(name, value):
    v = value if isinstance(value, int) else '"%s"' % value
    return (r"^var\.%s\s*=.*$" % re.escape(name), "var.%s = %s" % (name, v))


def apache_define(name, value):
    return (r"^Define\s+%s\s+.*$" % re.escape(name), "Define %s %s" % (name, value))


def read_shipped(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


# --- systemd units and the cron line -----------------------------------------

def unit_settings(text):
    """{section: [(key, value)]} of a systemd unit (no line continuations)."""
    out, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out.setdefault(section, [])
        else:
            k, _, v = line.partition("=")
            out[section].append((k.strip(), v.strip()))
    return out


def unit_value(units, section, key):
    vals = [v for k, v in units.get(section, []) if k == key]
    if len(vals) != 1:
        raise AssertionError("expected one %s= in [%s], got %r" % (key, section, vals))
    return vals[0]


def unit_environment(units):
    env = {}
    for k, v in units.get("Service", []):
        if k == "Environment":
            for item in shlex.split(v):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def install(workdir):
    """Copies the programs into workdir/install/{bin,libexec,cgi-bin}, as
    `make install` or an upload would (and reachable for an unprivileged
    server wherever the build tree lives).  Returns that directory."""
    top = os.path.join(workdir, "install")
    if not os.path.isdir(top):
        for sub, src, names in (("bin", BIN, ("copilot-api", "copilot-refresh")),
                                ("libexec", BIN, ("copilot-api.fcgi",)),
                                ("cgi-bin", CGI_BIN, ("copilot-api.cgi",))):
            os.makedirs(os.path.join(top, sub))
            for n in names:
                shutil.copy2(os.path.join(src, n), os.path.join(top, sub, n))
        # share/errors as `make install` puts it (links followed)
        shutil.copytree(os.path.join(ROOT, "share", "errors"),
                        os.path.join(top, "share", "copilot-api", "errors"))
    return top


def installed_paths(workdir, home):
    """The paths an install uses in our files, mapped to this test's."""
    top = install(workdir)
    return [
        ("/usr/local/libexec/copilot-api/copilot-api.fcgi",
         os.path.join(top, "libexec", "copilot-api.fcgi")),
        ("/usr/local/bin/copilot-refresh", os.path.join(top, "bin", "copilot-refresh")),
        ("/usr/local/share/copilot-api", os.path.join(top, "share", "copilot-api")),
        ("/usr/bin/spawn-fcgi", shutil.which("spawn-fcgi") or "/usr/bin/spawn-fcgi"),
        ("/run/copilot-api", os.path.join(workdir, "run")),
        ("/var/lib/copilot-api", home),
    ]


def errors_dir(workdir):
    """share/errors as installed, with the trailing slash the configs use."""
    return os.path.join(install(workdir), "share", "copilot-api", "errors") + "/"


def localize(s, paths):
    for a, b in paths:
        s = s.replace(a, b)
    return s


class Pool:
    """The responder pool as the shipped systemd units run it: under
    spawn-fcgi (deploy/systemd/copilot-api.service), or with the listening
    socket on fd 0 the way socket activation hands it over
    (deploy/systemd/socket-activated/)."""

    def __init__(self, workdir, home, activation="spawn-fcgi"):
        self.workdir, self.home = workdir, home
        paths = installed_paths(workdir, home)
        rundir = os.path.join(workdir, "run")
        os.makedirs(rundir, exist_ok=True)
        os.chmod(rundir, 0o755)
        give_away(rundir)
        self.log = open(os.path.join(workdir, "responder.log"), "ab")
        if activation == "spawn-fcgi":
            units = unit_settings(read_shipped("deploy", "systemd", "copilot-api.service"))
        else:
            units = unit_settings(read_shipped("deploy", "systemd", "socket-activated",
                                               "copilot-api.service"))
            sock_units = unit_settings(read_shipped("deploy", "systemd", "socket-activated",
                                                    "copilot-api.socket"))
            assert unit_value(units, "Service", "StandardInput") == "socket"
        self.env = dict(os.environ)
        self.env.pop("COPILOT_API_ENTERPRISE_URL", None)
        for k, v in unit_environment(units).items():
            self.env[k] = localize(v, paths)
        self.argv = [localize(a, paths) for a in
                     shlex.split(unit_value(units, "Service", "ExecStart"))]
        self.listener = None
        if activation == "spawn-fcgi":
            self.socket = self.argv[self.argv.index("-s") + 1]
        else:
            self.socket = localize(unit_value(sock_units, "Socket", "ListenStream"), paths)
            self.mode = int(unit_value(sock_units, "Socket", "SocketMode"), 8)
        self.activation = activation
        self.proc = None
        self.start()

    def start(self, fresh_socket=False):
        """Starts the responder; with socket activation the listening
        socket is kept from the last run (as systemd keeps it across
        service restarts) unless fresh_socket."""
        before = self.readiness()
        if fresh_socket and self.listener is not None:
            self.listener.close()
            self.listener = None
            os.unlink(self.socket)
        if self.activation == "spawn-fcgi":
            if os.path.exists(self.socket):
                os.unlink(self.socket)
            self.proc = popen(self.argv, self.log, env=self.env)
        else:
            if self.listener is None:
                # systemd's part: bind, chmod, listen; the socket outlives
                # the service, so it is created once.
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind(self.socket)
                os.chmod(self.socket, self.mode)
                if RUN_AS is not None:
                    os.chown(self.socket, RUN_AS.pw_uid, RUN_AS.pw_gid)
                s.listen(1024)
                self.listener = s
            self.proc = popen(self.argv, self.log, env=self.env,
                              stdin=self.listener.fileno())
        wait_until(lambda: self.ready(before), what="the responder pool on " + self.socket)

    def stop_all(self):
        """Every responder gone: the process stopped, and with socket
        activation the listening socket too (the .socket unit stopped)."""
        stop(self.proc)
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            os.unlink(self.socket)

    def restart(self, fresh_socket=False):
        stop(self.proc)
        self.start(fresh_socket=fresh_socket)

    def ready(self, before):
        if self.proc.poll() is not None:
            raise AssertionError("responder exited with %s:\n%s"
                                 % (self.proc.returncode, self.log_text()[-2000:]))
        return self.readiness() > before and os.path.exists(self.socket)

    def readiness(self):
        return self.log_text().count("FastCGI responder ready")

    def log_text(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        stop(self.proc)
        if self.listener is not None:
            self.listener.close()
        self.log.close()


# --- the data directory ------------------------------------------------------

def make_home(workdir, fake, config=None, name="home"):
    """A data directory whose config.json points upstream.* at the fake,
    signed in; short keep-alive interval so idle gaps are testable."""
    home = os.path.join(workdir, name)
    os.makedirs(home, mode=0o700)
    cfg = {
        "auth": {"apiKeys": [API_KEY], "adminApiKey": harness.ADMIN_KEY},
        "upstream": {"githubUrl": fake.url, "githubApiUrl": fake.url,
                     "copilotApiUrl": fake.url},
        "timeouts": {"pingSeconds": 1, "stallSeconds": 30},
    }
    for k, v in (config or {}).items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k].update(v)
        else:
            cfg[k] = v
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    env = dict(os.environ, COPILOT_API_HOME=home)
    env.pop("COPILOT_API_ENTERPRISE_URL", None)
    r = subprocess.run([os.path.join(BIN, "copilot-api"), "auth", "login",
                        "--github-token", "gho_deploy_test"],
                       env=env, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("auth login failed: %s %s" % (r.stdout, r.stderr))
    give_away(home)
    return home


# --- deployments -------------------------------------------------------------

class Deployment(harness.Client):
    """A web server from our shipped files in front of the responder.

    timeout: the server's idle limit towards the responder, in seconds.
    prefix: where the API lives (/copilot for the shared-hosting layout)."""

    programs = ()
    prefix = ""
    external_pool = False       # the responder runs beside the server (Pool)
    no_responder_status = 503   # what the server answers with the Pool gone
    activation = "spawn-fcgi"

    def __init__(self, fake, timeout=900, config=None):
        self.fake = fake
        self.timeout = timeout
        self.workdir = tempfile.mkdtemp(prefix="gw-deploy-")
        os.chmod(self.workdir, 0o755)
        self.home = make_home(self.workdir, fake, config)
        self.port = harness.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.server = None
        self.pool = None
        self.server_log = open(os.path.join(self.workdir, "server.log"), "ab")
        try:
            if self.external_pool:
                self.pool = Pool(self.workdir, self.home, self.activation)
            self.configure()
            give_away(self.workdir)
            self.start_server()
        except BaseException:
            self.close()
            raise

    # subclasses: configure() writes the configs, command() is the server's
    # foreground command line; reload()/graceful_stop() as the server does.
    def configure(self):
        raise NotImplementedError

    def command(self):
        raise NotImplementedError

    def server_env(self):
        return dict(os.environ)

    def start_server(self):
        self.server = popen(self.command(), self.server_log, env=self.server_env())
        self.wait_serving()

    def ensure_running(self):
        """After a test that stopped things: the server and the pool up and
        serving again, so one failure does not cascade through the class."""
        if self.server.poll() is not None:
            wait_until(lambda: not self.accepting(), what="the old server to go")
            self.start_server()
        if self.pool is not None and not self.serving():
            self.pool.restart(fresh_socket=True)
        self.wait_serving()

    def serving(self):
        try:
            return self.get(self.prefix + "/v1/models", timeout=10)[0] == 200
        except OSError:
            return False

    def accepting(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
            return True
        except OSError:
            return False

    def wait_serving(self, timeout=30):
        class Died(BaseException):
            """not an Exception: wait_until must not retry past it"""

        def ok():
            if self.server.poll() is not None:
                raise Died("%s exited with %s:\n%s" % (
                    type(self).__name__, self.server.returncode, self.logs()))
            return self.serving()
        try:
            wait_until(ok, timeout=timeout, what=type(self).__name__ + " serving")
        except Died as e:
            raise AssertionError(str(e)) from None

    def graceful_stop(self):
        raise NotImplementedError

    def reload(self):
        raise NotImplementedError

    def signal_and_wait_for(self, sig, logname, marker):
        """Sends sig to the server and returns once its log says it acted."""
        path = os.path.join(self.workdir, logname)

        def count():
            if not os.path.exists(path):
                return 0
            with open(path, "rb") as f:
                return f.read().count(marker.encode())
        before = count()
        self.server.send_signal(sig)
        wait_until(lambda: count() > before, what="%r in %s" % (marker, logname))

    def path(self, p):
        return self.prefix + p

    def logs(self):
        out = []
        for name in sorted(os.listdir(self.workdir)):
            if name.endswith(".log"):
                with open(os.path.join(self.workdir, name), "rb") as f:
                    out.append("== %s\n%s" % (name, f.read()[-4000:].decode("utf-8", "replace")))
        return "\n".join(out)

    def close(self):
        if self.server is not None:
            stop(self.server)
        if self.pool is not None:
            self.pool.close()
        self.server_log.close()
        if os.environ.get("GW_KEEP_TEST_DIRS"):
            sys.stderr.write("kept %s\n" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


# --- lighttpd ----------------------------------------------------------------

LIGHTTPD_HOST = """\
# The host's own lighttpd.conf (test stand-in); the shipped file is included.
server.document-root = "{workdir}/docroot"
server.bind = "127.0.0.1"
server.port = {port}
server.pid-file = "{workdir}/lighttpd.pid"
server.errorlog = "{workdir}/lighttpd-error.log"
server.upload-dirs = ( "{workdir}/tmp" )
include "{site}"
"""


class Lighttpd(Deployment):
    programs = ("lighttpd", "spawn-fcgi")
    shipped = None

    def substitutions(self):
        raise NotImplementedError

    def configure(self):
        for d in ("docroot", "tmp"):
            os.makedirs(os.path.join(self.workdir, d), exist_ok=True)
        site = write(os.path.join(self.workdir, "copilot-api.conf"),
                     fill(read_shipped("deploy", "lighttpd", self.shipped),
                          self.substitutions()))
        self.conf = write(os.path.join(self.workdir, "lighttpd.conf"),
                          LIGHTTPD_HOST.format(workdir=self.workdir, port=self.port,
                                               site=site))
        r = subprocess.run(["lighttpd", "-tt", "-f", self.conf], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise AssertionError("lighttpd -tt: %s %s" % (r.stdout, r.stderr))

    def command(self):
        return ["lighttpd", "-D", "-f", self.conf]

    def graceful_stop(self):
        # SIGINT: stop listening, finish the requests in flight, exit.
        self.signal_and_wait_for(signal.SIGINT, "lighttpd-error.log",
                                 "graceful shutdown started")

    def reload(self):
        # SIGUSR1 (Debian's `systemctl reload lighttpd`): graceful restart.
        self.signal_and_wait_for(signal.SIGUSR1, "lighttpd-error.log",
                                 "graceful shutdown started")


class LighttpdSocket(Lighttpd):
    """deploy/lighttpd/copilot-api-socket.conf + the systemd unit's
    spawn-fcgi command line."""
    shipped = "copilot-api-socket.conf"
    external_pool = True

    def substitutions(self):
        return [lighttpd_var("copilot_api_socket", self.pool.socket),
                lighttpd_var("copilot_api_timeout", self.timeout),
                lighttpd_var("copilot_api_errors", errors_dir(self.workdir))]


class LighttpdBinPath(Lighttpd):
    """deploy/lighttpd/copilot-api-bin-path.conf: lighttpd runs the
    responder itself."""
    shipped = "copilot-api-bin-path.conf"
    programs = ("lighttpd",)

    def substitutions(self):
        rundir = os.path.join(self.workdir, "run")
        os.makedirs(rundir, exist_ok=True)
        return [lighttpd_var("copilot_api_responder",
                             os.path.join(install(self.workdir), "libexec", "copilot-api.fcgi")),
                lighttpd_var("copilot_api_home", self.home),
                lighttpd_var("copilot_api_rundir", rundir),
                lighttpd_var("copilot_api_timeout", self.timeout)]


class LighttpdCGI(Lighttpd):
    """deploy/lighttpd/copilot-api-cgi.conf: mod_cgi runs
    cgi-bin/copilot-api.cgi once per request."""
    shipped = "copilot-api-cgi.conf"
    programs = ("lighttpd",)

    def substitutions(self):
        cgi = os.path.join(install(self.workdir), "cgi-bin", "copilot-api.cgi")
        return [lighttpd_var("copilot_api_cgi", cgi),
                lighttpd_var("copilot_api_home", self.home),
                lighttpd_var("copilot_api_timeout", self.timeout)]


# --- Apache httpd ------------------------------------------------------------

APACHE_HOST = """\
# The host's own apache2.conf (test stand-in); the shipped file is included.
ServerRoot "{workdir}"
ServerName 127.0.0.1
PidFile {workdir}/httpd.pid
DefaultRuntimeDir {workdir}/run
ErrorLog {workdir}/apache-error.log
LogLevel warn
Listen 127.0.0.1:{port}
Timeout {timeout}
GracefulShutdownTimeout 30
{modules}
{extra}
Include {site}
"""


def apache_host_conf(workdir, port, modules, site, extra="", timeout=300):
    """Writes workdir/apache2.conf (APACHE_HOST loading modules, including
    site) and its run directory; returns its path once `apache2 -t`
    accepts it."""
    os.makedirs(os.path.join(workdir, "run"), exist_ok=True)
    mods = "\n".join("LoadModule %s_module %s/mod_%s.so" % (m, APACHE_MODULES, m)
                     for m in modules)
    conf = write(os.path.join(workdir, "apache2.conf"), APACHE_HOST.format(
        workdir=workdir, port=port, modules=mods, site=site, extra=extra,
        timeout=timeout))
    r = subprocess.run(["apache2", "-t", "-f", conf], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("apache2 -t: %s %s" % (r.stdout, r.stderr))
    return conf


class Apache(Deployment):
    programs = ("apache2",)
    shipped = None
    modules = ("mpm_event", "authz_core", "env")

    def substitutions(self):
        raise NotImplementedError

    def host_extra(self):
        return ""

    def site_text(self):
        return fill(read_shipped("deploy", "apache", self.shipped), self.substitutions())

    def configure(self):
        site = write(os.path.join(self.workdir, "copilot-api.conf"), self.site_text())
        self.conf = apache_host_conf(self.workdir, self.port, self.modules, site,
                                     self.host_extra(), self.host_timeout())

    def host_timeout(self):
        return 300          # Debian's apache2.conf

    def command(self):
        return ["apache2", "-f", self.conf, "-DFOREGROUND"]

    def graceful_stop(self):
        # SIGWINCH (apachectl graceful-stop): children finish their requests.
        self.signal_and_wait_for(signal.SIGWINCH, "apache-error.log",
                                 "shutting down gracefully")

    def reload(self):
        # SIGUSR1 (apachectl graceful, Debian's `systemctl reload apache2`).
        self.signal_and_wait_for(signal.SIGUSR1, "apache-error.log", "SIGUSR1 received")


class ApacheProxyFcgi(Apache):
    """deploy/apache/copilot-api-proxy-fcgi.conf + the socket-activated
    systemd units."""
    shipped = "copilot-api-proxy-fcgi.conf"
    modules = Apache.modules + ("alias", "rewrite", "proxy", "proxy_fcgi")
    external_pool = True
    activation = "socket"

    def substitutions(self):
        return [apache_define("COPILOT_API_SOCKET", self.pool.socket),
                apache_define("COPILOT_API_TIMEOUT", self.timeout),
                apache_define("COPILOT_API_ERRORS", errors_dir(self.workdir).rstrip("/"))]


class ApacheFcgid(Apache):
    """deploy/apache/copilot-api-fcgid.conf: mod_fcgid runs the responder."""
    shipped = "copilot-api-fcgid.conf"
    modules = Apache.modules + ("alias", "rewrite", "fcgid")

    def substitutions(self):
        return [apache_define("COPILOT_API_RESPONDER", os.path.join(
                    install(self.workdir), "libexec", "copilot-api.fcgi")),
                apache_define("COPILOT_API_HOME", self.home),
                apache_define("COPILOT_API_TIMEOUT", self.timeout)]

    def host_extra(self):
        d = os.path.join(self.workdir, "fcgid")
        os.makedirs(d, exist_ok=True)
        return "FcgidIPCDir %s\nFcgidProcessTableFile %s/table\n" % (d, d)


class ApacheCgid(Apache):
    """deploy/apache/copilot-api-cgid.conf: mod_cgid runs the program once
    per request."""
    shipped = "copilot-api-cgid.conf"
    modules = Apache.modules + ("alias", "rewrite", "cgid")

    def substitutions(self):
        return [apache_define("COPILOT_API_RESPONDER", os.path.join(
                    install(self.workdir), "cgi-bin", "copilot-api.cgi")),
                apache_define("COPILOT_API_HOME", self.home),
                apache_define("COPILOT_API_TIMEOUT", self.timeout)]

    def host_extra(self):
        return "ScriptSock %s/run/cgid.sock\n" % self.workdir


class ApacheHtaccess(Apache):
    """Shared hosting: cgi-bin/copilot-api.cgi and cgi-bin/.htaccess uploaded
    into public_html/copilot/ on a host that runs mod_cgid with
    AllowOverride All.  The host's Timeout is the idle limit there."""
    modules = Apache.modules + ("alias", "rewrite", "cgid", "mime", "dir")
    prefix = "/copilot"

    def site_text(self):
        docroot = os.path.join(self.workdir, "public_html")
        app = os.path.join(docroot, "copilot")
        os.makedirs(app)
        shutil.copy2(os.path.join(CGI_BIN, "copilot-api.cgi"), app)
        write(os.path.join(app, ".htaccess"), fill(
            read_shipped("cgi-bin", ".htaccess"),
            [(r"^(\s*)SetEnv COPILOT_API_HOME .*$", "SetEnv COPILOT_API_HOME " + self.home)]))
        return ('TypesConfig %s\nDocumentRoot "%s"\n<Directory "%s">\n    AllowOverride All\n'
                '    Require all granted\n</Directory>\nScriptSock %s/run/cgid.sock\n'
                % ("/etc/mime.types" if os.path.exists("/etc/mime.types") else "/dev/null",
                   docroot, docroot, self.workdir))

    def host_timeout(self):
        return self.timeout


# --- Caddy -------------------------------------------------------------------

CADDY_HOST = """\
# The host's own Caddyfile (test stand-in); the shipped file is imported.
{{
	admin unix/{workdir}/caddy-admin.sock
	auto_https off
	default_bind 127.0.0.1
	storage file_system {workdir}/caddy-data
}}
import {site}
"""


class Caddy(Deployment):
    """deploy/caddy/Caddyfile, values from its {$ENV:default} placeholders,
    + the systemd unit's spawn-fcgi command line.  Caddy has no idle limit
    towards FastCGI (`timeout` does not apply); read_timeout, when given,
    sets the shipped file's whole-response deadline."""
    programs = ("caddy", "spawn-fcgi")
    external_pool = True
    no_responder_status = 502   # reverse_proxy's dial failure

    def __init__(self, fake, timeout=900, config=None, read_timeout=None):
        self.read_timeout = read_timeout
        super().__init__(fake, timeout=timeout, config=config)

    def configure(self):
        for d in ("caddy-home", "caddy-data"):
            os.makedirs(os.path.join(self.workdir, d))
        # Imported unchanged (a copy, readable by the unprivileged server).
        site = write(os.path.join(self.workdir, "copilot-api.caddy"),
                     read_shipped("deploy", "caddy", "Caddyfile"))
        self.conf = write(os.path.join(self.workdir, "Caddyfile"), CADDY_HOST.format(
            workdir=self.workdir, site=site))

    def server_env(self):
        h = os.path.join(self.workdir, "caddy-home")
        return dict(os.environ, HOME=h, XDG_DATA_HOME=h, XDG_CONFIG_HOME=h,
                    COPILOT_API_SITE="http://127.0.0.1:%d" % self.port,
                    COPILOT_API_SOCKET=self.pool.socket,
                    COPILOT_API_READ_TIMEOUT="%ds" % (self.read_timeout or 0))

    def command(self):
        return ["caddy", "run", "--config", self.conf, "--adapter", "caddyfile"]

    def graceful_stop(self):
        # SIGTERM (systemctl stop caddy): Caddy finishes active requests.
        self.signal_and_wait_for(signal.SIGTERM, "server.log", "shutting down")

    def reload(self):
        # `caddy reload` (systemctl reload caddy) through the admin socket.
        r = subprocess.run(["caddy", "reload", "--force", "--config", self.conf,
                            "--adapter", "caddyfile", "--address",
                            "unix/%s/caddy-admin.sock" % self.workdir],
                           env=self.server_env(), capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise AssertionError("caddy reload: %s %s" % (r.stdout, r.stderr))


# --- raw uploads -------------------------------------------------------------

def send_request(port, path, body, pause=0.3):
    """POSTs the JSON body with the test key on a plain socket and leaves
    the answer unread: the open socket, for a client that leaves.  The
    request follows the connect after pause seconds, as over a network:
    lighttpd watches a connection for the client's close only when its
    first read after accept() did not already hold the whole request (or
    once the answer has started; deploy/README.md)."""
    raw = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    time.sleep(pause)
    s.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n" % (path, port, API_KEY, len(raw))).encode() + raw)
    return s


def post_large(port, path, body, headers):
    """POSTs body while reading the answer at the same time, the way a
    browser or SDK does: a server that answers early (413) and stops
    reading must not leave the client stuck in its upload.  Returns
    (status, headers, payload)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = ["POST %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port,
            "Content-Length: %d" % len(body), "Connection: close"]
    head += ["%s: %s" % kv for kv in headers.items()]
    s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())

    def send():
        try:
            s.sendall(body)
        except OSError:
            pass  # the server stopped reading after it answered
    t = threading.Thread(target=send, daemon=True)
    t.start()
    try:
        r = http.client.HTTPResponse(s)
        r.begin()
        payload = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), payload
    finally:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
        t.join(30)


# --- FastCGI, spoken directly to the responder --------------------------------

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def fcgi_record(rtype, content=b"", request_id=1):
    pad = -len(content) % 8
    return (bytes([1, rtype, request_id >> 8, request_id & 255,
                   len(content) >> 8, len(content) & 255, pad, 0])
            + content + b"\0" * pad)


def fcgi_params(params):
    out = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else (n | 0x80000000).to_bytes(4, "big")
        out += k + v
    return out


def fcgi_read_record(f):
    head = f.read(8)
    if len(head) < 8:
        return None, b""
    n = (head[4] << 8) | head[5]
    content = f.read(n)
    f.read(head[6])
    return head[1], content


class FcgiConversation:
    """One FastCGI request as a web server sends it, over the responder's
    socket, with the end of FCGI_STDIN (the empty record) under the test's
    control."""

    def __init__(self, path, params, body):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.f = self.sock.makefile("rb")
        p = dict(params, CONTENT_LENGTH=str(len(body)))
        self.sock.sendall(fcgi_record(FCGI_BEGIN, bytes([0, 1, 0, 0, 0, 0, 0, 0]))
                          + fcgi_record(FCGI_PARAMS, fcgi_params(p))
                          + fcgi_record(FCGI_PARAMS)
                          + (fcgi_record(FCGI_STDIN, body) if body else b""))
        self.stdout = b""

    def end_stdin(self):
        self.sock.sendall(fcgi_record(FCGI_STDIN))

    def read(self):
        """The next record type (stdout collected), None at EOF."""
        rtype, content = fcgi_read_record(self.f)
        if rtype == FCGI_STDOUT:
            self.stdout += content
        return rtype

    def close(self):
        self.f.close()
        self.sock.close()


def fcgi_chat(sock_path, body):
    """POST /v1/chat/completions with the test key as a web server sends it
    to the responder's socket, stdin ended: the FcgiConversation."""
    c = FcgiConversation(sock_path, {
        "REQUEST_METHOD": "POST", "REQUEST_URI": "/v1/chat/completions",
        "SCRIPT_NAME": "/v1/chat/completions", "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "HTTP_AUTHORIZATION": "Bearer " + API_KEY,
    }, json.dumps(body).encode())
    c.end_stdin()
    return c


VARIANTS = [LighttpdSocket, LighttpdBinPath, LighttpdCGI, ApacheProxyFcgi,
            ApacheFcgid, ApacheCgid, ApacheHtaccess, Caddy]
