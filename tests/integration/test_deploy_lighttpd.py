"""deploy/lighttpd: FastCGI to the spawn-fcgi socket, self-spawned with
bin-path, and mod_cgi -- each started from the shipped file."""

import unittest

import servers
from deploycases import DeployCases


class LighttpdSocket(DeployCases, unittest.TestCase):
    variant = servers.LighttpdSocket


class LighttpdBinPath(DeployCases, unittest.TestCase):
    variant = servers.LighttpdBinPath


class LighttpdCGI(DeployCases, unittest.TestCase):
    variant = servers.LighttpdCGI


if __name__ == "__main__":
    unittest.main()
