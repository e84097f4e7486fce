"""deploy/caddy: reverse_proxy + transport fastcgi to the spawn-fcgi socket,
from the shipped Caddyfile."""

import http.client
import unittest

import servers
from deploycases import STALL, DeployCases


class Caddy(DeployCases, unittest.TestCase):
    variant = servers.Caddy
    hangup_unseen = ("Caddy 2.6 keeps the FastCGI connection open until the answer "
                     "(deploy/README.md)")

    def test_idle_gap_without_keepalives_is_cut(self):
        """Caddy has no idle limit towards FastCGI, so there is nothing for
        keep-alives to beat; what can cut a stream is the transport's
        read_timeout, which is one deadline for the whole response.  Shown
        here: with read_timeout 3 s a stream that is kept busy by
        keep-alives is still cut, which is why the shipped file leaves it
        at 0 (none)."""
        d = self.variant(self.fake, read_timeout=3)
        try:
            self.fake.fault(path="/chat/completions", kind="stall", seconds=STALL, events=1)
            data, pings = [], 0
            try:
                for kind, item in self.open_stream(d=d, timeout=STALL + 20):
                    if kind == "comment":
                        pings += 1
                    else:
                        data.append(item)
            except (http.client.HTTPException, OSError):
                pass
            self.assertTrue(data, "no event before the gap")
            self.assertGreaterEqual(pings, 1, "no keep-alive before the cut")
            self.assertNotIn("[DONE]", data)
        finally:
            d.close()


if __name__ == "__main__":
    unittest.main()
