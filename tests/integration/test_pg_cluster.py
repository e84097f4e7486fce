"""The test PostgreSQL cluster itself (tests/integration/pg.py over
tests/pg/cluster.sh): reachable with its password only, on loopback, and
gone without a trace after stop."""

import os
import shutil
import subprocess
import tempfile
import unittest

from pg import PgCluster, skip_without_server


def psql(url, sql):
    return subprocess.run(["psql", url, "-Atc", sql], capture_output=True,
                          text=True, timeout=20)


def postmaster_alive(dir_):
    pidfile = os.path.join(dir_, "data", "postmaster.pid")
    if not os.path.exists(pidfile):
        return False
    with open(pidfile) as f:
        pid = int(f.readline())
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


@skip_without_server
class PgClusterTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="gw-pgc-")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def test_password_loopback_stop_restart(self):
        with PgCluster(self.work) as pg:
            self.assertTrue(pg.url.startswith("postgresql://gw:"))
            self.assertIn("@127.0.0.1:%d/" % pg.port, pg.url)
            r = psql(pg.url, "SELECT current_user || ' ' || "
                     "current_setting('listen_addresses')")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), "gw 127.0.0.1")
            wrong = pg.url.replace("postgresql://gw:", "postgresql://gw:x")
            r = psql(wrong, "SELECT 1")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("password authentication failed", r.stderr)
            # stopped and started again: the same port, the same data
            self.assertEqual(psql(pg.url, "CREATE TABLE kept (n int)").returncode, 0)
            pg.stop()
            self.assertFalse(postmaster_alive(pg.dir))
            self.assertNotEqual(psql(pg.url, "SELECT 1").returncode, 0)
            pg.start()
            r = psql(pg.url, "SELECT COUNT(*) FROM kept")
            self.assertEqual(r.stdout.strip(), "0", r.stderr)
        self.assertFalse(postmaster_alive(pg.dir))


if __name__ == "__main__":
    unittest.main()
