"""The responder under valgrind behind lighttpd: a few hundred requests of
every kind (streams, errors, a client that leaves), then a clean stop with
no leak and no memory error."""

import os
import re
import shutil
import signal
import unittest

import harness

CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "soak"}]}


@unittest.skipIf(harness.VALGRIND_SKIP, harness.VALGRIND_SKIP)
class Valgrind(unittest.TestCase):
    def test_many_requests_leak_nothing(self):
        s = harness.Stack(threads=4, wrapper=[
            shutil.which("valgrind"), "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--error-exitcode=99", "--child-silent-after-fork=yes",
            "--log-file={workdir}/vg.%p.log"])
        try:
            for i in range(100):
                self.assertEqual(s.json("POST", "/v1/chat/completions", CHAT)[0], 200)
                resp, conn = s.stream("/v1/chat/completions", dict(CHAT, stream=True))
                self.assertEqual(list(harness.read_sse(resp))[-1][1], "[DONE]")
                conn.close()
                self.assertEqual(s.get("/v1/models")[0], 200)
                self.assertEqual(s.request("POST", "/v1/chat/completions",
                                           raw=b"{broken")[0], 400)
                self.assertEqual(s.get("/v1/models", key="wrong")[0], 401)
                if i % 5 == 0:
                    s.fake.fault(path="/chat/completions", kind="status", status=500,
                                 body={"error": {"message": "x"}})
                    self.assertEqual(s.json("POST", "/v1/chat/completions", CHAT)[0], 500)
                    s.fake.fault(path="/chat/completions", kind="drop_after", events=2)
                    resp, conn = s.stream("/v1/chat/completions", dict(CHAT, stream=True))
                    kinds = [e for e, _ in harness.read_sse(resp)]
                    conn.close()
                    self.assertIn("error", kinds)
                    self.assertEqual(s.json("POST", "/v1/embeddings", {
                        "model": "text-embedding-3-small", "input": "x"})[0], 200)
                    # Responses over WebSocket: pooled, reused, broken, refused
                    ws = {"model": "gpt-5.4", "input": "ws %d" % (i % 10), "stream": True}
                    for fault in (None, None, dict(kind="drop_after", events=2, close_code=1011),
                                  dict(method="GET", kind="status", status=503)):
                        if fault:
                            s.fake.fault(path="/responses", **fault)
                        resp, conn = s.stream("/v1/responses", ws)
                        kinds = [e for e, _ in harness.read_sse(resp)]
                        conn.close()
                        self.assertIn(kinds[-1], ("response.completed", "error"))
            s.fcgi.send_signal(signal.SIGTERM)
            s.fcgi.wait(timeout=120)
            self.assertEqual(s.fcgi.returncode, 0, s.log_text()[-3000:])
            text = ""
            for f in os.listdir(s.workdir):
                if re.match(r"vg\.\d+\.log$", f):
                    with open(os.path.join(s.workdir, f)) as fh:
                        text += fh.read()
        finally:
            s.close()
        self.assertIn("ERROR SUMMARY: 0 errors", text, text[-4000:])
        self.assertNotIn("definitely lost: ", text.replace("definitely lost: 0 bytes", ""),
                         text[-4000:])
