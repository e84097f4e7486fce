"""deploy/apache (mod_proxy_fcgi, mod_fcgid, mod_cgid) and the shared-hosting
cgi-bin/.htaccess -- each started from the shipped file."""

import os
import re
import shutil
import signal
import socket
import unittest

import servers
from harness import API_KEY
from deploycases import DeployCases


APACHE_HANGUP = ("Apache notices a client that left only when a write to it fails, "
                 "and keeps the backend until then (deploy/README.md)")


class ApacheProxyFcgi(DeployCases, unittest.TestCase):
    """mod_proxy_fcgi to the pool, which runs as the socket-activated
    systemd units describe (deploy/systemd/socket-activated)."""
    variant = servers.ApacheProxyFcgi
    hangup_unseen = APACHE_HANGUP

    def test_concurrent_requests(self):
        """More of them here: with enablereuse=on on the ProxyPass (which
        the shipped file leaves out, because the responder closes every
        connection) about 1 in 150 requests got a 503."""
        super().test_concurrent_requests(threads=6, each=150)

    # The responder reads FCGI_STDIN to its end-of-body record before it
    # ends the request: otherwise mod_proxy_fcgi, writing that record after
    # an early answer (a 413), gets EPIPE (AH01075) and answers 503.  The
    # test holds the empty record back until the responder has answered.
    def test_responder_takes_stdin_to_its_end(self):
        c = servers.FcgiConversation(self.d.pool.socket, {
            "REQUEST_METHOD": "POST", "REQUEST_URI": "/v1/chat/completions",
            "SCRIPT_NAME": "/v1/chat/completions", "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": "Bearer " + API_KEY,
        }, b"{}")
        self.addCleanup(c.close)
        # The answer (400: no model) may come before the end of the body,
        # but the request must not end (FCGI_END_REQUEST) before it: a
        # responder that waits shows it within the 2 s grace, a buggy one
        # ends at once.
        while b"\r\n\r\n" not in c.stdout:
            self.assertEqual(c.read(), servers.FCGI_STDOUT)
        self.assertIn(b"Status: 400", c.stdout)
        c.sock.settimeout(2)
        try:
            while True:
                k = c.read()
                self.assertNotIn(k, (servers.FCGI_END, None),
                                 "the request ended before its FCGI_STDIN did")
        except socket.timeout:
            c.f = c.sock.makefile("rb")   # a timed-out reader is unusable
        c.sock.settimeout(30)
        c.end_stdin()
        kinds = []
        while True:
            k = c.read()
            if k is None:
                break
            kinds.append(k)
        self.assertIn(servers.FCGI_END, kinds)

    # A stopping responder leaves the inherited listening socket alone, so
    # systemd's .socket unit can start the next one on it.
    def test_socket_activation_restart_keeps_serving(self):
        self.addCleanup(self.d.ensure_running)
        self.d.pool.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.d.pool.proc.wait(timeout=30), 0)
        self.d.pool.start()     # the same listening socket, as systemd does
        self.d.wait_serving(timeout=10)


class ApacheFcgid(DeployCases, unittest.TestCase):
    variant = servers.ApacheFcgid
    hangup_unseen = APACHE_HANGUP


class ApacheCgid(DeployCases, unittest.TestCase):
    variant = servers.ApacheCgid
    hangup_unseen = APACHE_HANGUP


class ApacheHtaccess(DeployCases, unittest.TestCase):
    """Shared hosting: cgi-bin/copilot-api.cgi + cgi-bin/.htaccess."""
    variant = servers.ApacheHtaccess
    hangup_unseen = APACHE_HANGUP

    def test_data_files_are_not_served(self):
        app = os.path.join(self.d.workdir, "public_html", "copilot")
        servers.write(os.path.join(app, "config.json"), '{"secret": true}')
        status, _, body = self.d.get("/copilot/config.json", key=None)
        self.assertEqual(status, 403, body)

    def test_wrapper_script_with_base_path(self):
        """cgi-bin/README.md's wrapper: the program as copilot-api.bin run by
        a shell script, so the route comes from REQUEST_URI minus
        COPILOT_API_BASE_PATH."""
        readme = servers.read_shipped("cgi-bin", "README.md")
        script = re.search(r"```sh\n(#!/bin/sh\n.*?)```", readme, re.S).group(1)
        script = servers.fill(script, [
            (r"^COPILOT_API_HOME=.*$", "COPILOT_API_HOME=" + self.d.home),
            (r"^COPILOT_API_BASE_PATH=/copilot$", "COPILOT_API_BASE_PATH=/wrapped")])
        app = os.path.join(self.d.workdir, "public_html", "wrapped")
        os.makedirs(app)
        shutil.copy2(os.path.join(app, "..", "copilot", ".htaccess"), app)
        shutil.copy2(os.path.join(servers.CGI_BIN, "copilot-api.cgi"),
                     os.path.join(app, "copilot-api.bin"))
        servers.write(os.path.join(app, "copilot-api.cgi"), script, mode=0o755)
        servers.give_away(app)
        status, _, body = self.d.json("GET", "/wrapped/v1/models")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["object"], "list")
        status, _, body = self.d.json("POST", "/wrapped/v1/chat/completions?beta=true",
                                      {"model": "gpt-4.1", "messages": [
                                          {"role": "user", "content": "wrapped"}]})
        self.assertEqual(status, 200, body)
        self.assertIn("wrapped", body["choices"][0]["message"]["content"])
        status, _, _ = self.d.get("/wrapped/copilot-api.bin", key=None)
        self.assertEqual(status, 403)


if __name__ == "__main__":
    unittest.main()
