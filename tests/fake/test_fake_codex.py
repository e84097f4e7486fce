#!/usr/bin/env python3
"""Self-test of the fake's Codex side: the OAuth authorize/token endpoints
(PKCE S256, refresh rotation, expired and revoked grants) and the Codex
backend /backend-api/codex/responses.

Run: python3 -m unittest discover -s tests/fake -p 'test_*.py'
"""

import base64
import hashlib
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_fake_upstream import FakeTestCase  # noqa: E402
from test_fake_native import sse_events  # noqa: E402

CLIENT = "app_EMoamEEZ73f0CkXaXp7hrann"
REDIRECT = "http://localhost:1455/auth/callback"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(jwt):
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class CodexSide(FakeTestCase):
    def authorize(self, verifier="v" * 43, state="st1"):
        q = urllib.parse.urlencode({
            "response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT,
            "scope": "openid profile email offline_access", "state": state,
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256"})
        status, headers, _ = self.call("GET", "/oauth/authorize?" + q)
        self.assertEqual(status, 302)
        loc = urllib.parse.urlsplit(headers["location"])
        self.assertEqual(loc.scheme + "://" + loc.netloc + loc.path, REDIRECT)
        got = dict(urllib.parse.parse_qsl(loc.query))
        self.assertEqual(got["state"], state)
        return got["code"]

    def token(self, fields):
        return self.call("POST", "/oauth/token", urllib.parse.urlencode(fields).encode(), FORM)

    def login(self):
        code = self.authorize()
        status, _, got = self.token({"grant_type": "authorization_code", "client_id": CLIENT,
                                     "code": code, "code_verifier": "v" * 43,
                                     "redirect_uri": REDIRECT})
        self.assertEqual(status, 200, got)
        return got

    def test_code_exchange_checks_pkce_and_gives_a_jwt_with_the_account(self):
        code = self.authorize()
        status, _, got = self.token({"grant_type": "authorization_code", "client_id": CLIENT,
                                     "code": code, "code_verifier": "w" * 43,
                                     "redirect_uri": REDIRECT})
        self.assertEqual((status, got["error"]["code"]), (400, "invalid_grant"))
        tok = self.login()
        self.assertEqual(claims(tok["access_token"])["https://api.openai.com/auth"]
                         ["chatgpt_account_id"], "acct-fake-0001")
        self.assertGreater(tok["expires_in"], 0)
        self.assertTrue(tok["refresh_token"].startswith("rt_"))

    def test_refresh_rotates_and_reports_reuse_expiry_revocation(self):
        tok = self.login()
        fields = {"grant_type": "refresh_token", "client_id": CLIENT,
                  "refresh_token": tok["refresh_token"]}
        status, _, new = self.token(fields)
        self.assertEqual(status, 200, new)
        self.assertNotEqual(new["refresh_token"], tok["refresh_token"])
        status, _, got = self.token(fields)
        self.assertEqual((status, got["error"]["code"]), (401, "refresh_token_reused"))
        self.ctl("POST", "/_fake/codex", {"refresh": "expired"})
        status, _, got = self.token(dict(fields, refresh_token=new["refresh_token"]))
        self.assertEqual((status, got["error"]["code"]), (401, "refresh_token_expired"))
        self.ctl("POST", "/_fake/codex", {"refresh": "revoked"})
        status, _, got = self.token(dict(fields, refresh_token=new["refresh_token"]))
        self.assertEqual((status, got["error"]["code"]), (401, "refresh_token_invalidated"))

    def test_backend_wants_token_account_and_store_false(self):
        tok = self.login()
        h = {"Authorization": "Bearer " + tok["access_token"],
             "chatgpt-account-id": "acct-fake-0001"}
        body = {"model": "gpt-5.4", "input": "hello there", "store": False, "stream": True}
        status, _, got = self.call("POST", "/backend-api/codex/responses", body, h)
        self.assertEqual(status, 200, got)
        self.assertIn(b"response.done", got)
        status, _, got = self.call("POST", "/backend-api/codex/responses",
                                   dict(body, stream=False), h)
        self.assertEqual((status, got["detail"]), (400, "Stream must be set to true"))
        status, _, got = self.call("POST", "/backend-api/codex/responses",
                                   dict(body, store=True), h)
        self.assertEqual(status, 400)
        status, _, got = self.call("POST", "/backend-api/codex/responses", dict(body, input=[
            {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]), h)
        self.assertEqual((status, got["detail"]), (400, "System messages are not allowed"))
        status, _, got = self.call("POST", "/backend-api/codex/responses", body,
                                   dict(h, **{"chatgpt-account-id": "other"}))
        self.assertEqual(status, 403)
        self.ctl("POST", "/_fake/codex", {"revoke_access": True})
        status, _, got = self.call("POST", "/backend-api/codex/responses", body, h)
        self.assertEqual(status, 401)
        self.assertIn("signing in again", got["detail"])

    def test_backend_models_list(self):
        tok = self.login()
        h = {"Authorization": "Bearer " + tok["access_token"],
             "chatgpt-account-id": "acct-fake-0001"}
        status, headers, got = self.call("GET", "/backend-api/codex/models?client_version=1.0.0",
                                         None, h)
        self.assertEqual(status, 200, got)
        self.assertEqual(headers["etag"], '"fake-models-1"')
        self.assertEqual([m["slug"] for m in got["models"]],
                         ["gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-5.3-codex-spark"])
        self.assertEqual(got["models"][0]["supported_reasoning_levels"][0]["effort"], "low")
        status, _, got = self.call("GET", "/backend-api/codex/models", None,
                                   dict(h, **{"chatgpt-account-id": "other"}))
        self.assertEqual(status, 403)
        status, _, got = self.call("GET", "/backend-api/codex/models")
        self.assertEqual(status, 401)

    def test_backend_stream_has_rate_limits_and_response_done(self):
        tok = self.login()
        h = {"Authorization": "Bearer " + tok["access_token"],
             "chatgpt-account-id": "acct-fake-0001"}
        body = {"model": "gpt-5.4", "input": "hello", "store": False, "stream": True}
        status, _, raw = self.call("POST", "/backend-api/codex/responses", body, h)
        self.assertEqual(status, 200)
        names = [n for n, _ in sse_events(raw)]
        self.assertEqual(names[0], "codex.rate_limits")
        self.assertEqual(names[-1], "response.done")
        self.assertNotIn("response.completed", names)
        self.ctl("POST", "/_fake/config", {"codex_untyped_stream": True})
        status, headers, raw = self.call("POST", "/backend-api/codex/responses", body, h)
        self.assertEqual(status, 200)
        self.assertNotIn("content-type", headers)
        self.assertEqual([n for n, _ in sse_events(raw)][-1], "response.done")
        self.ctl("POST", "/_fake/config", {"codex_completed_event": True})
        status, headers, raw = self.call("POST", "/backend-api/codex/responses", body, h)
        events = sse_events(raw)
        self.assertEqual(events[-1][0], "response.completed")
        self.assertEqual(events[-1][1]["type"], "response.completed")

    def test_images_generations_answer_openai_images_shapes(self):
        tok = self.login()
        h = {"Authorization": "Bearer " + tok["access_token"],
             "chatgpt-account-id": "acct-fake-0001"}
        path = "/backend-api/codex/images/generations"
        status, _, got = self.call("POST", path, {"prompt": "a red fox", "n": 2,
                                                  "size": "1536x1024"}, h)
        self.assertEqual(status, 200, got)
        self.assertEqual(len(got["data"]), 2)
        self.assertTrue(base64.b64decode(got["data"][0]["b64_json"]).startswith(b"\x89PNG"))
        self.assertEqual((got["size"], got["output_format"]), ("1536x1024", "png"))
        self.assertEqual(got["usage"]["input_tokens_details"]["text_tokens"], 3)
        self.assertEqual(got["usage"]["total_tokens"],
                         got["usage"]["input_tokens"] + got["usage"]["output_tokens"])
        status, _, got = self.call("POST", path, {"n": 1}, h)
        self.assertEqual((status, got["error"]["param"]), (400, "prompt"))
        status, _, got = self.call("POST", path, {"prompt": "x", "size": "512x512"}, h)
        self.assertEqual((status, got["error"]["code"]), (400, "invalid_value"))
        status, _, got = self.call("POST", path, {"prompt": "x", "n": 11}, h)
        self.assertEqual((status, got["error"]["param"]), (400, "n"))
        status, _, _ = self.call("POST", path, {"prompt": "x"},
                                 dict(h, Authorization="Bearer nope"))
        self.assertEqual(status, 401)

    def test_images_generations_stream_partial_images(self):
        tok = self.login()
        h = {"Authorization": "Bearer " + tok["access_token"],
             "chatgpt-account-id": "acct-fake-0001"}
        path = "/backend-api/codex/images/generations"
        status, headers, raw = self.call("POST", path, {"prompt": "a red fox", "stream": True,
                                                        "partial_images": 2}, h)
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/event-stream"))
        events = sse_events(raw)
        self.assertEqual([e for e, _ in events],
                         ["image_generation.partial_image"] * 2 + ["image_generation.completed"])
        self.assertEqual([d.get("partial_image_index") for _, d in events], [0, 1, None])
        self.assertEqual(events[-1][1]["usage"]["output_tokens"], 1056)
        self.assertTrue(base64.b64decode(events[-1][1]["b64_json"]).startswith(b"\x89PNG"))
        status, _, got = self.call("POST", path, {"prompt": "x", "stream": True,
                                                  "partial_images": 4}, h)
        self.assertEqual((status, got["error"]["param"]), (400, "partial_images"))

    def test_alpha_search_answers_results(self):
        tok = self.login()
        h = {"Authorization": "Bearer " + tok["access_token"],
             "chatgpt-account-id": "acct-fake-0001"}
        path = "/backend-api/codex/alpha/search?q=bun"
        body = {"id": "search-request-id", "model": "gpt-5.6-sol", "input": [
            {"type": "message", "role": "user",
             "content": [{"type": "input_text", "text": "search query"}]},
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "searching"}]}],
            "commands": {"open": [{"ref_id": "turn0search0"}]},
            "settings": {"allowed_callers": ["direct"]}, "max_output_tokens": 10000}
        status, _, got = self.call("POST", path, body, h)
        self.assertEqual((status, got), (200, {"results": [{"title": "search query"}]}))
        status, _, got = self.call("POST", path, {"input": "x"}, h)
        self.assertEqual(status, 400)
        status, _, _ = self.call("POST", path, body, dict(h, Authorization="Bearer nope"))
        self.assertEqual(status, 401)

    def test_images_edits_want_a_multipart_upload(self):
        tok = self.login()
        h = {"Authorization": "Bearer " + tok["access_token"],
             "chatgpt-account-id": "acct-fake-0001",
             "Content-Type": "multipart/form-data; boundary=XyZ"}
        path = "/backend-api/codex/images/edits"

        def form(*parts):
            out = b""
            for name, fname, data in parts:
                disp = 'form-data; name="%s"' % name + (
                    '; filename="%s"' % fname if fname else "")
                out += b"--XyZ\r\nContent-Disposition: " + disp.encode() + b"\r\n"
                if fname:
                    out += b"Content-Type: image/png\r\n"
                out += b"\r\n" + data + b"\r\n"
            return out + b"--XyZ--\r\n"
        png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUl"
                               "EQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
        status, _, got = self.call("POST", path, form(
            ("prompt", None, b"make it blue"), ("image[]", "a.png", png),
            ("image[]", "b.png", png)), h)
        self.assertEqual(status, 200, got)
        self.assertEqual(got["usage"]["input_tokens_details"]["image_tokens"], 2 * 323)
        status, _, got = self.call("POST", path, form(("prompt", None, b"x")), h)
        self.assertEqual((status, got["error"]["param"]), (400, "image"))
        status, _, got = self.call("POST", path, {"prompt": "x"},
                                   dict(h, **{"Content-Type": "application/json"}))
        self.assertEqual((status, got["error"]["code"]), (400, "invalid_content_type"))


if __name__ == "__main__":
    unittest.main()
