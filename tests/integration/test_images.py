"""POST /v1/images/generations and /v1/images/edits (1.14.7): the body and
query forwarded as they came to the fake's Codex Images backend with the
codex sign-in; the answer relayed as is; no usage row; a 404 without the
codex provider, a refresh and one retry after a 401."""

import json
import os
import sys
import unittest

import harness
import test_codex

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "reference"))
from corpus import zstd_compress  # noqa: E402

BOUNDARY = "----gwtestboundary7MA4YWxk"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))     # binary, NULs included


def upload(prompt, images):
    out = b""
    fields = [("prompt", None, prompt.encode())] + [
        ("image[]", "in%d.png" % i, data) for i, data in enumerate(images)]
    for name, fname, data in fields:
        disp = 'form-data; name="%s"' % name + ('; filename="%s"' % fname if fname else "")
        out += b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: " + disp.encode()
        out += b"\r\nContent-Type: image/png\r\n\r\n" if fname else b"\r\n\r\n"
        out += data + b"\r\n"
    return out + b"--" + BOUNDARY.encode() + b"--\r\n"


class Images(test_codex.SignedInCase):
    def test_generation_forwarded_as_sent_and_relayed(self):
        rows = len(self.s.usage_rows())
        body = {"model": "gpt-image-1", "prompt": "a lighthouse at dusk", "n": 2,
                "size": "1024x1536"}
        for path in ("/v1/images/generations?trace=1", "/images/generations"):
            status, headers, out = self.s.json("POST", path, body,
                                               headers={"user-agent": "images-test/1"})
            self.assertEqual(status, 200, out)
            self.assertEqual(len(out["data"]), 2)
            self.assertEqual(out["size"], "1024x1536")
            self.assertIn("usage", out)
            self.assertTrue(headers["content-type"].startswith("application/json"))
        ups = self.s.fake.requests("/backend-api/codex/images/generations")
        self.assertEqual(len(ups), 2)
        self.assertEqual(ups[0]["query_string"], "trace=1")
        self.assertEqual(ups[1]["query_string"], "")
        h = ups[0]["headers"]
        self.assertTrue(h["authorization"].startswith("Bearer "))
        self.assertEqual(h["chatgpt-account-id"], "acct-fake-0001")
        self.assertEqual(h["accept"], "application/json")
        self.assertEqual(h["originator"], "copilot-api")
        self.assertEqual(h["user-agent"], "images-test/1")
        self.assertNotIn("openai-beta", h)
        self.assertNotIn("x-api-key", h)
        self.assertEqual(ups[0]["body"], body)
        # none for images, as the reference
        self.assertEqual(len(self.s.usage_rows()), rows)

    def test_edit_upload_forwarded_byte_for_byte(self):
        raw = upload("make the sky green", [PNG, PNG])
        status, _, out = self.s.request(
            "POST", "/v1/images/edits", raw=raw,
            headers={"content-type": "multipart/form-data; boundary=" + BOUNDARY})
        self.assertEqual(status, 200, out)
        got = json.loads(out)
        self.assertEqual(got["usage"]["input_tokens_details"]["image_tokens"], 2 * 323)
        up = self.s.fake.requests("/backend-api/codex/images/edits")[-1]
        self.assertEqual(up["headers"]["content-type"],
                         "multipart/form-data; boundary=" + BOUNDARY)
        self.assertEqual(up["body_bytes"], len(raw))

    def test_compressed_generation_is_decoded_first(self):
        body = {"prompt": "zstd fox"}
        status, _, out = self.s.request(
            "POST", "/v1/images/generations", raw=zstd_compress(json.dumps(body).encode()),
            headers={"content-encoding": "zstd"})
        self.assertEqual(status, 200, out)
        up = self.s.fake.requests("/backend-api/codex/images/generations")[-1]
        self.assertEqual(up["body"], body)
        self.assertNotIn("content-encoding", up["headers"])

    def test_backend_errors_are_relayed_as_they_are(self):
        status, _, out = self.s.json("POST", "/v1/images/generations",
                                     {"prompt": "x", "size": "512x512"})
        self.assertEqual(status, 400)
        self.assertEqual(out["error"]["code"], "invalid_value")
        self.assertEqual(out["error"]["param"], "size")
        status, _, out = self.s.request(
            "POST", "/v1/images/edits", raw=upload("no image", []),
            headers={"content-type": "multipart/form-data; boundary=" + BOUNDARY})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(out)["error"]["param"], "image")

    def test_a_401_refreshes_and_retries_once(self):
        self.s.fake.call("POST", "/_fake/codex", {"revoke_access": True})
        status, _, out = self.s.json("POST", "/v1/images/generations", {"prompt": "again"})
        self.assertEqual(status, 200, out)
        self.assertEqual(
            [r["status"] for r in self.s.fake.requests("/backend-api/codex/images/generations")],
            [401, 200])

    def test_stream_relayed_event_by_event(self):
        """"stream": true: the backend's partial images reach the client
        while it still holds the rest (the reference relays the body as it
        comes)."""
        self.s.fake.fault(path="/backend-api/codex/images/generations", kind="hold",
                          name="img", events=1)
        resp, conn = self.s.stream("/v1/images/generations", {
            "prompt": "a fox in snow", "stream": True, "partial_images": 2})
        try:
            self.assertEqual(resp.status, 200)
            self.assertTrue(resp.getheader("content-type").startswith("text/event-stream"))
            events = harness.read_sse(resp)
            first = next(e for e in events if e[0] != "comment")
            self.assertEqual(first[0], "image_generation.partial_image")
            self.assertEqual(json.loads(first[1])["partial_image_index"], 0)
            self.s.fake.call("POST", "/_fake/release", {"name": "img"})
            rest = [(e, json.loads(d)) for e, d in events if e != "comment"]
        finally:
            conn.close()
        self.assertEqual([e for e, _ in rest],
                         ["image_generation.partial_image", "image_generation.completed"])
        self.assertEqual(rest[-1][1]["usage"]["output_tokens"], 1056)

    def test_stream_cut_short_ends_with_an_error_event(self):
        self.s.fake.fault(path="/backend-api/codex/images/generations", kind="drop_after",
                          events=1)
        resp, conn = self.s.stream("/v1/images/generations", {
            "prompt": "cut", "stream": True, "partial_images": 2})
        try:
            events = [(e, d) for e, d in harness.read_sse(resp) if e != "comment"]
        finally:
            conn.close()
        self.assertEqual(events[0][0], "image_generation.partial_image")
        errs = [json.loads(d) for e, d in events if e == "error"]
        self.assertEqual(len(errs), 1, events)
        self.assertIn("message", errs[0]["error"])

    def test_streamed_edit(self):
        raw = upload("make it a sketch", [PNG])
        raw = raw.replace(b"--" + BOUNDARY.encode() + b"--\r\n",
                          b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; '
                          b'name="stream"\r\n\r\ntrue\r\n--' + BOUNDARY.encode() + b"--\r\n")
        status, headers, out = self.s.request(
            "POST", "/v1/images/edits", raw=raw,
            headers={"content-type": "multipart/form-data; boundary=" + BOUNDARY})
        self.assertEqual(status, 200, out)
        self.assertTrue(headers["content-type"].startswith("text/event-stream"))
        self.assertIn(b"event: image_edit.completed", out)

    def test_key_is_needed(self):
        status, _, _ = self.s.json("POST", "/v1/images/generations", {"prompt": "x"}, key=None)
        self.assertEqual(status, 401)


class ImagesWithoutCodex(unittest.TestCase):
    def test_404_without_the_codex_provider(self):
        s = harness.Stack()
        try:
            for path in ("/v1/images/generations", "/images/edits"):
                status, _, out = s.json("POST", path, {"prompt": "x"})
                self.assertEqual(status, 404)
                self.assertEqual(out["error"]["type"], "invalid_request_error")
                self.assertIn("Provider 'codex' not found or disabled", out["error"]["message"])
            self.assertEqual(s.fake.requests("/backend-api/codex/images/generations"), [])
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()
