"""A private PostgreSQL cluster for the integration tests (issue 15): the
Python side of tests/pg/cluster.sh.  Started on a free loopback port under
the test's own directory, stopped by stop(), at interpreter exit, and by
cluster.sh's watcher if this process is killed.

    with PgCluster(workdir) as pg:
        config["storage"] = {"driver": "postgresql", "url": pg.url}
        ...
        pg.stop(); pg.start()       # the same cluster, same port and data
"""

import atexit
import os
import shutil
import subprocess
import unittest

from harness import ROOT, free_port

CLUSTER_SH = os.path.join(ROOT, "tests", "pg", "cluster.sh")


def server_missing():
    """Why no cluster can be started here, or None."""
    if os.environ.get("PG_BINDIR"):
        if os.access(os.path.join(os.environ["PG_BINDIR"], "initdb"), os.X_OK):
            return None
        return "no initdb in PG_BINDIR"
    for d in sorted(os.listdir("/usr/lib/postgresql")) if os.path.isdir(
            "/usr/lib/postgresql") else []:
        if os.path.exists(os.path.join("/usr/lib/postgresql", d, "bin", "initdb")):
            return None
    if shutil.which("initdb"):
        return None
    return "the PostgreSQL server is not installed (apt-get install postgresql)"


def skip_without_server(cls):
    """Class decorator: skip the tests, loudly, where there is no server."""
    why = server_missing()
    return unittest.skip(why)(cls) if why else cls


class PgCluster:
    def __init__(self, workdir, port=None):
        self.dir = os.path.join(workdir, "pg")
        os.makedirs(self.dir, exist_ok=True)
        # the server runs as postgres when we are root: it must reach DIR
        os.chmod(workdir, 0o755)
        self.port = port or free_port()
        self.running = False
        self.start()
        self.url = subprocess.run(
            ["sh", CLUSTER_SH, "url", self.dir, str(self.port)],
            check=True, capture_output=True, text=True).stdout.strip()
        atexit.register(self.stop)

    def start(self):
        # our pid: the watcher stops the cluster if we die without stop()
        subprocess.run(["sh", CLUSTER_SH, "start", self.dir, str(self.port),
                        str(os.getpid())], check=True, timeout=60)
        self.running = True

    def stop(self):
        if self.running:
            subprocess.run(["sh", CLUSTER_SH, "stop", self.dir], timeout=60)
            self.running = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
