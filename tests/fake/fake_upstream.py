#!/usr/bin/env python3
"""Fake GitHub + GitHub Copilot upstream for the gateway's tests (stdlib only).

One process serves both sides on one loopback port:
  GitHub:  /login/device/code, /login/oauth/access_token, /user,
           /copilot_internal/v2/token, /copilot_internal/user
  Copilot: /models, /chat/completions, /embeddings
  Control: /_fake/...  (faults, config, request records, waits, holds)

Run:  python3 fake_upstream.py --port 0 --portfile FILE [--host 127.0.0.1|::1]
See README.md next to this file for the control API.
"""

import argparse
import base64
import copy
import hashlib
import hmac
import json
import math
import os
import random
import re
import select
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

OAUTH_CLIENT_IDS = {
    "Iv1.b507a08c87ecfe98": "vscode",
    "Ov23li8tweQw6odWQebz": "opencode",
}
DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_ERROR_URI = ("https://docs.github.com/developers/apps/authorizing-oauth-apps"
                    "#error-codes-for-the-device-flow")
DEFAULT_ANSWER_TEMPLATE = "You said: {user} (héllo wörld — 日本語 🎉)"
CHUNKING_MODES = ("normal", "awkward", "bytewise")
DEVICE_SCENARIOS = ("success", "slow_down", "expired_token", "access_denied")
DEVICE_STEPS = ("pending", "slow_down", "expired_token", "access_denied", "token")
FAULT_KINDS = ("status", "unauthorized_once", "drop_after", "stall", "hold",
               "delay_headers")
STREAM_FAULTS = ("drop_after", "stall", "hold")
ALLOWED_HOSTS = ("127.0.0.1", "::1")
UNAUTHORIZED_BODY = {"error": {"message": "unauthorized: token expired",
                               "code": "token_expired"}}
BAD_CREDENTIALS_BODY = {"message": "Bad credentials",
                        "documentation_url": "https://docs.github.com/rest",
                        "status": "401"}
DEFAULT_EMBEDDING_DIMS = 1536

DEFAULT_CONFIG = {
    # Stream/body write pattern: normal (one SSE event per write), awkward
    # (seeded pseudo-random split points), bytewise (one byte per write).
    "chunking": "normal",
    "seed": 1234,
    "write_delay": 0.0,          # seconds slept after every body write
    # Copilot token issued by /copilot_internal/v2/token.
    "token_lifetime": 1800,      # expires_at = now + token_lifetime
    "refresh_in": 1500,
    # Device flow script for device codes created after the change.
    "device_pending": 1,         # authorization_pending answers before the outcome
    "device_scenario": "success",
    "device_script": None,       # explicit list of DEVICE_STEPS, overrides the two above
    "device_interval": 1,
    "device_expires_in": 900,
    "login": "fake-user",
    "github_tokens": [],         # extra GitHub tokens accepted besides gho_/ghu_ ones
    # Chat completions content.
    "answer_text": None,         # fixed answer; None → answer_template
    "answer_template": DEFAULT_ANSWER_TEMPLATE,   # "{user}" = last user text
    "reasoning_text": None,      # emitted as delta.reasoning_text before the answer
    "tool_calls": None,          # [{"name", "arguments", "id"?}] when request has tools
    "tool_calls_text": None,     # content emitted before the tool calls
    "finish_reason": None,       # override ("length", "content_filter", ...)
    "usage": None,               # overrides: prompt_tokens, completion_tokens,
                                 # cached_tokens, cache_creation_input_tokens
    "prompt_filter_chunk": False,  # leading choices:[] prompt_filter_results chunk
    "models_extra": [],          # model objects appended to /models
    "models_hide": [],           # model ids removed from /models
    "response_headers": {},      # added to every Copilot-side response
    "endpoints_api": None,       # override endpoints.api (default: this server)
    "user_overrides": {},        # deep-merged into /copilot_internal/user
    "hold_timeout": 60.0,        # a hold not released by then continues anyway
}


def json_bytes(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def estimate_tokens(text):
    # Rough 4-bytes-per-token estimate; deterministic is all tests need.
    if not text:
        return 0
    return max(1, (len(text.encode("utf-8")) + 3) // 4)


def deep_merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


# ---------------------------------------------------------------------------
# Model catalogue (shape of Copilot's GET /models)
# ---------------------------------------------------------------------------

VISION_LIMITS = {
    "max_prompt_image_size": 3145728,
    "max_prompt_images": 1,
    "supported_media_types": ["image/jpeg", "image/png", "image/webp", "image/gif"],
}


def _model(mid, name, vendor, version, *, ctx, prompt, output, supports,
           endpoints, picker=True, category="versatile", premium=False,
           multiplier=0, family=None, mtype="chat", tokenizer="o200k_base",
           vision=False, preview=False, chat_default=False):
    limits = {"max_context_window_tokens": ctx, "max_prompt_tokens": prompt,
              "max_output_tokens": output}
    if vision:
        limits["vision"] = copy.deepcopy(VISION_LIMITS)
    entry = {
        "billing": {"is_premium": premium, "multiplier": multiplier},
        "capabilities": {
            "family": family or mid,
            "limits": limits,
            "object": "model_capabilities",
            "supports": supports,
            "tokenizer": tokenizer,
            "type": mtype,
        },
        "id": mid,
        "is_chat_default": chat_default,
        "is_chat_fallback": chat_default,
        "model_picker_category": category,
        "model_picker_enabled": picker,
        "name": name,
        "object": "model",
        "policy": {"state": "enabled",
                   "terms": "Enable access to the latest %s model from %s." % (name, vendor)},
        "preview": preview,
        "vendor": vendor,
        "version": version,
    }
    if endpoints is not None:
        entry["supported_endpoints"] = endpoints
    if not picker:
        del entry["model_picker_category"]
        del entry["policy"]
    return entry


def default_models():
    return [
        _model("gpt-4.1", "GPT-4.1", "Azure OpenAI", "gpt-4.1-2025-04-14",
               ctx=128000, prompt=128000, output=16384, vision=True, chat_default=True,
               supports={"parallel_tool_calls": True, "streaming": True,
                         "structured_outputs": True, "tool_calls": True, "vision": True},
               endpoints=["/chat/completions"]),
        _model("gpt-5-mini", "GPT-5 mini", "Azure OpenAI", "gpt-5-mini",
               ctx=264000, prompt=128000, output=64000, vision=True, category="lightweight",
               supports={"parallel_tool_calls": True, "reasoning_effort": ["low", "medium", "high"],
                         "streaming": True, "structured_outputs": True, "tool_calls": True,
                         "vision": True},
               endpoints=["/chat/completions", "/responses"]),
        _model("gpt-5.4", "GPT-5.4", "OpenAI", "gpt-5.4",
               ctx=400000, prompt=272000, output=128000, vision=True, category="powerful",
               premium=True, multiplier=1,
               supports={"parallel_tool_calls": True,
                         "reasoning_effort": ["low", "medium", "high", "xhigh"],
                         "streaming": True, "structured_outputs": True, "tool_calls": True,
                         "vision": True},
               endpoints=["/responses", "ws:/responses"]),
        _model("claude-sonnet-4.6", "Claude Sonnet 4.6", "Anthropic", "claude-sonnet-4.6",
               ctx=200000, prompt=128000, output=32000, vision=True, premium=True, multiplier=1,
               supports={"adaptive_thinking": True, "max_thinking_budget": 32000,
                         "min_thinking_budget": 1024, "parallel_tool_calls": True,
                         "reasoning_effort": ["low", "medium", "high"], "streaming": True,
                         "tool_calls": True, "vision": True},
               endpoints=["/v1/messages", "/chat/completions"]),
        _model("claude-opus-4.7", "Claude Opus 4.7", "Anthropic", "claude-opus-4.7",
               ctx=1000000, prompt=936000, output=64000, vision=True, category="powerful",
               premium=True, multiplier=3,
               supports={"adaptive_thinking": True, "max_thinking_budget": 64000,
                         "min_thinking_budget": 1024, "parallel_tool_calls": True,
                         "reasoning_effort": ["low", "medium", "high", "xhigh"],
                         "streaming": True, "tool_calls": True, "vision": True},
               endpoints=["/v1/messages", "/chat/completions"]),
        _model("gemini-2.5-pro", "Gemini 2.5 Pro", "Google", "gemini-2.5-pro",
               ctx=128000, prompt=128000, output=64000, vision=True, category="powerful",
               premium=True, multiplier=1,
               supports={"max_thinking_budget": 32768, "min_thinking_budget": 128,
                         "parallel_tool_calls": True, "streaming": True,
                         "tool_calls": True, "vision": True},
               endpoints=["/chat/completions"]),
        _model("gpt-4o-mini", "GPT-4o mini", "Azure OpenAI", "gpt-4o-mini-2024-07-18",
               ctx=128000, prompt=64000, output=4096, picker=False,
               family="gpt-4o-mini",
               supports={"parallel_tool_calls": True, "streaming": True, "tool_calls": True},
               endpoints=["/chat/completions"]),
        # Real embedding entries carry no supported_endpoints and no output limit.
        {
            "billing": {"is_premium": False, "multiplier": 0},
            "capabilities": {
                "family": "text-embedding-3-small",
                "limits": {"max_inputs": 512},
                "object": "model_capabilities",
                "supports": {"dimensions": True},
                "tokenizer": "cl100k_base",
                "type": "embeddings",
            },
            "id": "text-embedding-3-small",
            "is_chat_default": False,
            "is_chat_fallback": False,
            "model_picker_enabled": False,
            "name": "Embedding V3 small",
            "object": "model",
            "preview": False,
            "vendor": "Azure OpenAI",
            "version": "text-embedding-3-small",
        },
    ]


def model_supports(model, endpoint):
    if "supported_endpoints" in model:
        return endpoint in model["supported_endpoints"]
    mtype = model.get("capabilities", {}).get("type")
    return (endpoint == "/chat/completions" and mtype == "chat") or \
           (endpoint == "/embeddings" and mtype == "embeddings")


# ---------------------------------------------------------------------------
# Write planning: how a response body is cut into TCP writes
# ---------------------------------------------------------------------------

def plan_writes(events, mode, rng):
    """Split the concatenated events into the byte strings written one by one."""
    events = [e for e in events if e]
    data = b"".join(events)
    if not data:
        return []
    if mode == "normal":
        return events
    if mode == "bytewise":
        return [data[i:i + 1] for i in range(len(data))]
    return _awkward_split(events, data, rng)


def _awkward_split(events, data, rng):
    starts = []
    pos = 0
    for e in events:
        starts.append(pos)
        pos += len(e)
    forced = set()
    first = events[0]
    i = first.find(b"data:")
    if i >= 0:
        forced.add(i + 3)                      # "dat|a:"
    i = first.find(b"\n\n")
    if i >= 0:
        forced.add(i + 1)                      # between the two newlines
    forced.add(len(first) // 2)                # inside the first JSON
    utf8_events = set()
    for n, e in enumerate(events):
        for j, byte in enumerate(e):
            if byte >= 0xC0:                   # lead byte of a multi-byte sequence
                forced.add(starts[n] + j + 1)
                utf8_events.add(n)
                break
    cuts = set()
    step_max = max(2, (len(data) // len(events)) * 5 // 2)
    p = 0
    while True:
        p += rng.randint(1, step_max)
        if p >= len(data):
            break
        cuts.add(p)
    # Make sure at least one write carries two whole events.
    merge = [m for m in range(1, len(events) - 1)
             if m not in utf8_events and m + 1 not in utf8_events]
    if merge:
        m = rng.choice(merge)
        lo, hi = starts[m], starts[m + 1] + len(events[m + 1])
        cuts = {c for c in cuts if not lo < c < hi}
    cuts |= {c for c in forced if 0 < c < len(data)}
    points = sorted(cuts)
    return [data[a:b] for a, b in zip([0] + points, points + [len(data)])]


# ---------------------------------------------------------------------------
# Shared state
# ---------------------------------------------------------------------------

class FakeState:
    """Everything the handlers share; one lock (the condition) guards it all."""

    def __init__(self, base_url):
        self.cond = threading.Condition()
        self.base_url = base_url
        self.secret = os.urandom(16)
        self.copilot_tokens = {}   # token -> {expires_at, revoked, github_token, issued_at}
        self.github_tokens = {}    # token -> {client_id, revoked}
        self.revoked_github = set()
        self.token_counter = 0
        self.github_counter = 0
        self.record_seq = 0
        self.holding = {}          # hold name -> number of streams parked there
        self.shutting_down = False
        self.reset()

    def reset(self, tokens=False):
        with self.cond:
            self.config = copy.deepcopy(DEFAULT_CONFIG)
            self.faults = []
            self.fault_seq = 0
            self.records = []
            self.device_codes = {}
            self.device_counter = 0
            self.disconnects = 0
            self.stream_counter = 0
            # Parked streams must not outlive a reset: release them all.
            self.releases = {name: n for name, n in self.holding.items() if n > 0}
            if tokens:
                self.copilot_tokens.clear()
                self.github_tokens.clear()
                self.revoked_github.clear()
            self.cond.notify_all()

    def cfg(self, key):
        with self.cond:
            return copy.deepcopy(self.config[key])

    # -- tokens ------------------------------------------------------------

    def github_token_valid(self, token):
        with self.cond:
            if not token or token in self.revoked_github:
                return False
            return (token.startswith(("gho_", "ghu_")) or token in self.github_tokens
                    or token in self.config["github_tokens"])

    def issue_github_token(self, client_id):
        with self.cond:
            self.github_counter += 1
            digest = hashlib.sha256(self.secret + b"gh%d" % self.github_counter).hexdigest()
            token = ("gho_fake%04d" % self.github_counter + digest)[:40]
            self.github_tokens[token] = {"client_id": client_id, "revoked": False}
            return token

    def issue_copilot_token(self, github_token):
        with self.cond:
            self.token_counter += 1
            now = int(time.time())
            expires_at = now + int(self.config["token_lifetime"])
            prefix = ("tid=fake-%d;ol=;exp=%d;sku=plus_monthly_subscriber_quota;"
                      "proxy-ep=proxy.individual.githubcopilot.com;st=dotcom;chat=1;cit=1;"
                      "malfil=1;editor_preview_features=1;agent_mode=1;ccr=1;8kp=1"
                      % (self.token_counter, expires_at))
            sig = hmac.new(self.secret, prefix.encode(), hashlib.sha256).hexdigest()
            token = prefix + ":" + sig
            self.copilot_tokens[token] = {"expires_at": expires_at, "revoked": False,
                                          "github_token": github_token, "issued_at": now,
                                          "n": self.token_counter}
            return token, expires_at, int(self.config["refresh_in"])

    def copilot_token_valid(self, token):
        with self.cond:
            info = self.copilot_tokens.get(token or "")
            if info is not None:
                return not info["revoked"] and time.time() < info["expires_at"]
            # The opencode OAuth app's GitHub token is used directly as bearer.
            gh = self.github_tokens.get(token or "")
            return (gh is not None and gh["client_id"] == "Ov23li8tweQw6odWQebz"
                    and not gh["revoked"] and token not in self.revoked_github)

    def revoke(self, github=False):
        with self.cond:
            n = 0
            for info in self.copilot_tokens.values():
                if not info["revoked"]:
                    info["revoked"] = True
                    n += 1
            if github:
                for token, info in self.github_tokens.items():
                    info["revoked"] = True
                    self.revoked_github.add(token)
                for token in self.config["github_tokens"]:
                    self.revoked_github.add(token)
            return n

    # -- faults ------------------------------------------------------------

    def add_faults(self, faults):
        with self.cond:
            ids = []
            for f in faults:
                self.fault_seq += 1
                f = dict(f)
                f["id"] = self.fault_seq
                times = f.get("times", 1)
                f["remaining"] = None if (times is None or f.get("persistent")) else int(times)
                f["hits"] = 0
                self.faults.append(f)
                ids.append(f["id"])
            return ids

    def take_fault(self, method, path, body):
        with self.cond:
            for f in self.faults:
                if f["remaining"] is not None and f["remaining"] <= 0:
                    continue
                if f["path"] not in (path, "*"):
                    continue
                if f.get("method") and f["method"].upper() != method:
                    continue
                if f.get("stream") is not None:
                    streaming = isinstance(body, dict) and bool(body.get("stream"))
                    if streaming != bool(f["stream"]):
                        continue
                if f.get("model") is not None:
                    if not isinstance(body, dict) or body.get("model") != f["model"]:
                        continue
                if f["remaining"] is not None:
                    f["remaining"] -= 1
                f["hits"] += 1
                return dict(f)
            return None

    # -- records -----------------------------------------------------------

    def add_record(self, record):
        with self.cond:
            self.record_seq += 1
            record["seq"] = self.record_seq
            self.records.append(record)
            self.cond.notify_all()
            return record

    def update_record(self, record, **fields):
        with self.cond:
            record.update(fields)
            self.cond.notify_all()

    def note_disconnect(self, record):
        with self.cond:
            if record is not None and not record.get("client_disconnected"):
                record["client_disconnected"] = True
                self.disconnects += 1
            self.cond.notify_all()

    def next_stream_rng(self):
        with self.cond:
            self.stream_counter += 1
            return random.Random("%s:%d" % (self.config["seed"], self.stream_counter))

    def wait_for(self, predicate, timeout):
        """Block until predicate() (called under the lock) is true; False on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0 or self.shutting_down:
                    return False
                self.cond.wait(min(left, 0.5))
            return True

    def shutdown(self):
        with self.cond:
            self.shutting_down = True
            self.cond.notify_all()


# ---------------------------------------------------------------------------
# Request / response objects
# ---------------------------------------------------------------------------

class Request:
    def __init__(self, state, method, path, query, headers, raw_body, body, record):
        self.state = state
        self.method = method
        self.path = path
        self.query = query          # {name: last value}
        self.headers = headers      # {lower-case name: value}
        self.raw_body = raw_body
        self.body = body            # parsed JSON, dict for forms, else text
        self.record = record

    @property
    def base_url(self):
        return self.state.cfg("endpoints_api") or self.state.base_url

    def params(self):
        """Body fields for endpoints that accept JSON or form bodies (GitHub)."""
        return self.body if isinstance(self.body, dict) else {}

    def auth_token(self, schemes):
        value = self.headers.get("authorization", "")
        parts = value.split(None, 1)
        if len(parts) == 2 and parts[0].lower() in schemes:
            return parts[1].strip()
        return None

    def qfloat(self, name, default):
        try:
            return float(self.query.get(name, default))
        except ValueError:
            return default


class Response:
    def __init__(self, status, body=b"", headers=None, events=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.events = events        # list of bytes → chunked stream


def json_response(status, obj, headers=None):
    h = {"Content-Type": "application/json; charset=utf-8"}
    h.update(headers or {})
    return Response(status, json_bytes(obj), h)


def sse_response(events, headers=None):
    h = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    h.update(headers or {})
    return Response(200, headers=h, events=events)


def sse_event(data, event=None):
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False,
                                                         separators=(",", ":"))
    head = ("event: %s\n" % event) if event else ""
    return (head + "data: " + text + "\n\n").encode("utf-8")


def openai_error(status, message, code=None, etype="invalid_request_error", param=None):
    return json_response(status, {"error": {"message": message, "type": etype,
                                            "param": param, "code": code}})


def github_response(req, status, obj):
    """GitHub's OAuth endpoints answer JSON only when asked; form-encoded otherwise."""
    if "json" in req.headers.get("accept", ""):
        return json_response(status, obj)
    body = urllib.parse.urlencode({k: str(v) for k, v in obj.items()}).encode()
    return Response(status, body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


# ---------------------------------------------------------------------------
# GitHub side
# ---------------------------------------------------------------------------

def build_device_script(cfg):
    if cfg["device_script"]:
        return list(cfg["device_script"])
    pending = ["pending"] * int(cfg["device_pending"])
    scenario = cfg["device_scenario"]
    if scenario == "slow_down":
        return ["slow_down"] + pending + ["token"]
    if scenario in ("expired_token", "access_denied"):
        return pending + [scenario]
    return pending + ["token"]


def handle_device_code(req):
    params = req.params()
    client_id = params.get("client_id")
    if client_id not in OAUTH_CLIENT_IDS:
        return github_response(req, 400, {
            "error": "unauthorized_client",
            "error_description": "The client_id is not valid for the device flow.",
            "error_uri": DEVICE_ERROR_URI})
    st = req.state
    with st.cond:
        st.device_counter += 1
        n = st.device_counter
        cfg = st.config
        device_code = hashlib.sha1(st.secret + b"dc%d" % n).hexdigest()
        letters = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "".join(letters[(n * 7 + i * 3) % len(letters)] for i in range(4)) + \
            "-%04d" % (n % 10000)
        st.device_codes[device_code] = {
            "client_id": client_id, "scope": params.get("scope", ""),
            "script": build_device_script(cfg), "created": time.time(),
            "expires_in": int(cfg["device_expires_in"]),
            "interval": int(cfg["device_interval"]), "token": None,
        }
        out = {"device_code": device_code, "user_code": user_code,
               "verification_uri": "https://github.com/login/device",
               "expires_in": int(cfg["device_expires_in"]),
               "interval": int(cfg["device_interval"])}
    return github_response(req, 200, out)


def _device_error(code, description, **extra):
    body = {"error": code, "error_description": description, "error_uri": DEVICE_ERROR_URI}
    body.update(extra)
    return body


def handle_access_token(req):
    params = req.params()
    st = req.state
    if params.get("grant_type") != DEVICE_GRANT_TYPE:
        return github_response(req, 200, _device_error(
            "unsupported_grant_type", "The grant type must be %s." % DEVICE_GRANT_TYPE))
    with st.cond:
        dev = st.device_codes.get(params.get("device_code"))
        if dev is None:
            body = _device_error("incorrect_device_code", "The device_code provided is not valid.")
        elif params.get("client_id") != dev["client_id"]:
            body = _device_error("incorrect_client_credentials",
                                 "The client_id and/or client_secret passed are incorrect.")
        elif time.time() > dev["created"] + dev["expires_in"]:
            body = _device_error("expired_token", "The `device_code` has expired.")
        else:
            step = dev["script"].pop(0) if len(dev["script"]) > 1 else dev["script"][0]
            body = None
    if body is not None:
        return github_response(req, 200, body)
    if step == "pending":
        body = _device_error("authorization_pending", "The authorization request is still pending.")
    elif step == "slow_down":
        body = _device_error("slow_down",
                             "Too many requests have been made in the same timeframe.",
                             interval=dev["interval"] + 5)
    elif step == "expired_token":
        body = _device_error("expired_token", "The `device_code` has expired.")
    elif step == "access_denied":
        body = _device_error("access_denied", "The authorization request was denied.")
    else:
        with st.cond:
            if dev["token"] is None:
                dev["token"] = st.issue_github_token(dev["client_id"])
            token = dev["token"]
        body = {"access_token": token, "token_type": "bearer", "scope": dev["scope"] or "read:user"}
    return github_response(req, 200, body)


def require_github_token(fn):
    def wrapped(req):
        token = req.auth_token(("token", "bearer"))
        if not req.state.github_token_valid(token):
            return json_response(401, BAD_CREDENTIALS_BODY)
        return fn(req, token)
    wrapped.__name__ = fn.__name__
    return wrapped


@require_github_token
def handle_user(req, token):
    login = req.state.cfg("login")
    return json_response(200, {
        "login": login, "id": 1000001, "node_id": "U_kgDOAA9CQQ",
        "avatar_url": "https://avatars.githubusercontent.com/u/1000001?v=4",
        "gravatar_id": "", "url": "https://api.github.com/users/" + login,
        "html_url": "https://github.com/" + login, "type": "User",
        "user_view_type": "public", "site_admin": False, "name": "Fake User",
        "company": None, "blog": "", "location": None, "email": None,
        "hireable": None, "bio": None, "twitter_username": None,
        "public_repos": 3, "public_gists": 0, "followers": 1, "following": 0,
        "created_at": "2020-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
    })


def _endpoints(base):
    return {"api": base, "origin-tracker": base + "/origin-tracker",
            "proxy": base, "telemetry": base + "/telemetry"}


@require_github_token
def handle_copilot_token(req, token):
    copilot, expires_at, refresh_in = req.state.issue_copilot_token(token)
    return json_response(200, {
        "agent_mode_auto_approval": True, "annotations_enabled": False,
        "azure_only": False, "blackbird_clientside_indexing": False,
        "chat_enabled": True, "chat_jetbrains_enabled": True,
        "code_quote_enabled": True, "code_review_enabled": True, "codesearch": True,
        "copilotignore_enabled": False, "endpoints": _endpoints(req.base_url),
        "expires_at": expires_at, "individual": True, "limited_user_quotas": None,
        "limited_user_reset_date": None, "prompt_8k": True,
        "public_suggestions": "disabled", "refresh_in": refresh_in,
        "sku": "plus_monthly_subscriber_quota", "snippy_load_test_enabled": False,
        "telemetry": "disabled", "token": copilot,
        "tracking_id": hashlib.md5(token.encode()).hexdigest(),
        "vsc_electron_fetcher_v2": False, "xcode": True, "xcode_chat": False,
    })


def _quota(quota_id, entitlement, remaining, unlimited):
    pct = 100.0 if unlimited or not entitlement else round(remaining * 100.0 / entitlement, 1)
    return {"entitlement": entitlement, "overage_count": 0, "overage_permitted": False,
            "percent_remaining": pct, "quota_id": quota_id,
            "quota_remaining": float(remaining), "remaining": remaining,
            "unlimited": unlimited, "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                                                   time.gmtime())}


@require_github_token
def handle_copilot_user(req, token):
    now = time.gmtime()
    year, month = (now.tm_year + 1, 1) if now.tm_mon == 12 else (now.tm_year, now.tm_mon + 1)
    reset = "%04d-%02d-01" % (year, month)
    body = {
        "login": req.state.cfg("login"),
        "access_type_sku": "plus_monthly_subscriber_quota",
        "analytics_tracking_id": hashlib.md5(b"analytics" + token.encode()).hexdigest(),
        "assigned_date": "2025-01-15T10:00:00+00:00",
        "can_signup_for_limited": False,
        "chat_enabled": True,
        "copilot_plan": "individual_pro",
        "organization_login_list": [],
        "organization_list": [],
        "quota_reset_date": reset,
        "quota_reset_date_utc": reset + "T00:00:00.000Z",
        "quota_snapshots": {
            "chat": _quota("chat", 0, 0, True),
            "completions": _quota("completions", 0, 0, True),
            "premium_interactions": _quota("premium_interactions", 1500, 1234, False),
        },
        "endpoints": _endpoints(req.base_url),
    }
    deep_merge(body, req.state.cfg("user_overrides"))
    return json_response(200, body)


# ---------------------------------------------------------------------------
# Copilot side
# ---------------------------------------------------------------------------

def require_copilot_token(fn):
    def wrapped(req):
        token = req.auth_token(("bearer", "token"))
        if not req.state.copilot_token_valid(token):
            return json_response(401, UNAUTHORIZED_BODY)
        resp = fn(req)
        resp.headers.setdefault("x-request-id",
                                req.headers.get("x-request-id") or str(uuid.uuid4()))
        resp.headers.setdefault("x-github-request-id",
                                "FAKE:%06X" % (req.record["seq"] if req.record else 0))
        for name, value in req.state.cfg("response_headers").items():
            resp.headers[name] = str(value)
        return resp
    wrapped.__name__ = fn.__name__
    return wrapped


def visible_models(state):
    hide = set(state.cfg("models_hide"))
    models = [m for m in default_models() if m["id"] not in hide]
    return models + state.cfg("models_extra")


def find_model(state, model_id):
    for m in visible_models(state):
        if m.get("id") == model_id:
            return m
    return None


@require_copilot_token
def handle_models(req):
    return json_response(200, {"object": "list", "data": visible_models(req.state)})


def _check_model(req, endpoint):
    """Return (model, None) or (None, error response) like Copilot does."""
    body = req.body
    if not isinstance(body, dict):
        return None, openai_error(400, "Request body must be a JSON object.", "invalid_request_body")
    model = find_model(req.state, body.get("model"))
    if model is None:
        return None, openai_error(400, "The requested model is not supported.",
                                  "model_not_supported", param="model")
    if not model_supports(model, endpoint):
        return None, openai_error(400, "model %s is not accessible via the %s endpoint"
                                  % (model["id"], endpoint), "unsupported_api_for_model")
    return model, None


def message_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content
                         if isinstance(p, dict) and p.get("type") == "text")
    return ""


def answer_for(cfg, messages):
    if cfg["answer_text"] is not None:
        return cfg["answer_text"]
    user = ""
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            user = message_text(m.get("content"))
            break
    return cfg["answer_template"].replace("{user}", user)


def scripted_tool_calls(cfg, body):
    """Tool calls only when the request offers tools and is not a tool-result turn."""
    messages = body.get("messages") or []
    if not cfg["tool_calls"] or not body.get("tools"):
        return None
    if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool":
        return None
    calls = []
    for i, tc in enumerate(cfg["tool_calls"]):
        args = tc.get("arguments", {})
        if not isinstance(args, str):
            args = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
        calls.append({"id": tc.get("id") or "call_fake_%d" % i, "name": tc["name"],
                      "arguments": args})
    return calls


def chat_usage(cfg, body, completion_tokens):
    prompt = 3
    for m in body.get("messages") or []:
        if isinstance(m, dict):
            prompt += 4 + estimate_tokens(message_text(m.get("content")))
    if body.get("tools"):
        prompt += estimate_tokens(json.dumps(body["tools"]))
    over = cfg["usage"] or {}
    prompt = int(over.get("prompt_tokens", prompt))
    completion = int(over.get("completion_tokens", completion_tokens))
    details = {"audio_tokens": 0, "cached_tokens": int(over.get("cached_tokens", 0))}
    if "cache_creation_input_tokens" in over:
        details["cache_creation_input_tokens"] = int(over["cache_creation_input_tokens"])
    return {"completion_tokens": completion,
            "completion_tokens_details": {"accepted_prediction_tokens": 0, "audio_tokens": 0,
                                          "reasoning_tokens": 0, "rejected_prediction_tokens": 0},
            "prompt_tokens": prompt, "prompt_tokens_details": details,
            "total_tokens": prompt + completion}


def split_words(text):
    return re.findall(r"\S+\s*|\s+", text)


def split_n(text, n):
    size = max(1, math.ceil(len(text) / n))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


PROMPT_FILTER = [{"content_filter_results": {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"}}, "prompt_index": 0}]


@require_copilot_token
def handle_chat_completions(req):
    _, err = _check_model(req, "/chat/completions")
    if err:
        return err
    body = req.body
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return openai_error(400, "messages: field is required and must be a non-empty array",
                            "invalid_request_body", param="messages")
    with req.state.cond:
        cfg = copy.deepcopy(req.state.config)
    answer = answer_for(cfg, messages)
    calls = scripted_tool_calls(cfg, body)
    if calls is not None:
        answer = cfg["tool_calls_text"] or ""
    reasoning = cfg["reasoning_text"]
    finish = cfg["finish_reason"] or ("tool_calls" if calls else "stop")
    cid = "chatcmpl-" + uuid.uuid4().hex[:29]
    created = int(time.time())
    model = body["model"]
    if body.get("stream"):
        return _chat_stream(cfg, body, cid, created, model, answer, reasoning, calls, finish)
    message = {"content": answer if (answer or not calls) else None, "refusal": None,
               "role": "assistant"}
    if reasoning:
        message["reasoning_text"] = reasoning
        message["reasoning_opaque"] = "opaque-" + hashlib.sha1(reasoning.encode()).hexdigest()
    if calls:
        message["tool_calls"] = [{"function": {"arguments": c["arguments"], "name": c["name"]},
                                  "id": c["id"], "type": "function"} for c in calls]
    completion = len(split_words(answer)) + sum(estimate_tokens(c["arguments"]) for c in calls or [])
    return json_response(200, {
        "choices": [{"finish_reason": finish, "index": 0, "logprobs": None, "message": message}],
        "created": created, "id": cid, "model": model, "object": "chat.completion",
        "prompt_filter_results": PROMPT_FILTER, "system_fingerprint": "fp_fake",
        "usage": chat_usage(cfg, body, completion),
    })


def _chat_stream(cfg, body, cid, created, model, answer, reasoning, calls, finish):
    def chunk(delta, finish_reason=None):
        return sse_event({"choices": [{"delta": delta, "finish_reason": finish_reason,
                                       "index": 0, "logprobs": None}],
                          "created": created, "id": cid, "model": model,
                          "object": "chat.completion.chunk", "system_fingerprint": "fp_fake"})

    events = []
    if cfg["prompt_filter_chunk"]:
        events.append(sse_event({"choices": [], "created": 0, "id": "",
                                 "prompt_filter_results": PROMPT_FILTER}))
    events.append(chunk({"content": "", "role": "assistant"}))
    pieces = 0
    if reasoning:
        for piece in split_words(reasoning):
            events.append(chunk({"content": None, "reasoning_text": piece}))
        events.append(chunk({"content": "", "reasoning_opaque":
                             "opaque-" + hashlib.sha1(reasoning.encode()).hexdigest()}))
    for piece in split_words(answer):
        events.append(chunk({"content": piece}))
        pieces += 1
    for i, call in enumerate(calls or []):
        events.append(chunk({"content": None, "tool_calls": [{
            "function": {"arguments": "", "name": call["name"]},
            "id": call["id"], "index": i, "type": "function"}]}))
        for frag in split_n(call["arguments"], 3):
            events.append(chunk({"content": None, "tool_calls": [{
                "function": {"arguments": frag}, "index": i}]}))
            pieces += 1
    events.append(chunk({}, finish))
    events.append(sse_event({"choices": [], "created": created, "id": cid, "model": model,
                             "object": "chat.completion.chunk", "system_fingerprint": "fp_fake",
                             "usage": chat_usage(cfg, body, pieces)}))
    events.append(sse_event("[DONE]"))
    return sse_response(events)


def embed(text, dims):
    """Deterministic unit vector derived from the text."""
    rng = random.Random(hashlib.sha256(text.encode("utf-8")).digest())
    vec = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [round(x / norm, 8) for x in vec]


@require_copilot_token
def handle_embeddings(req):
    model, err = _check_model(req, "/embeddings")
    if err:
        return err
    body = req.body
    inp = body.get("input")
    if isinstance(inp, str):
        inputs = [inp]
    elif isinstance(inp, list) and inp and all(isinstance(x, str) for x in inp):
        inputs = inp
    elif isinstance(inp, list) and inp and all(isinstance(x, int) for x in inp):
        inputs = [" ".join(map(str, inp))]      # one pre-tokenised input
    elif isinstance(inp, list) and inp and all(isinstance(x, list) for x in inp):
        inputs = [" ".join(map(str, x)) for x in inp]
    else:
        return openai_error(400, "input: must be a string or a non-empty array",
                            "invalid_request_body", param="input")
    max_inputs = model["capabilities"].get("limits", {}).get("max_inputs", 2048)
    if len(inputs) > max_inputs:
        return openai_error(400, "input: too many inputs (max %d)" % max_inputs,
                            "invalid_request_body", param="input")
    dims = body.get("dimensions", DEFAULT_EMBEDDING_DIMS)
    if not isinstance(dims, int) or isinstance(dims, bool) or not 1 <= dims <= 3072:
        return openai_error(400, "dimensions: must be an integer in [1, 3072]",
                            "invalid_request_body", param="dimensions")
    b64 = body.get("encoding_format") == "base64"
    data = []
    for i, text in enumerate(inputs):
        vec = embed(text, dims)
        if b64:
            vec = base64.b64encode(struct.pack("<%df" % dims, *vec)).decode()
        data.append({"object": "embedding", "embedding": vec, "index": i})
    tokens = sum(estimate_tokens(t) for t in inputs)
    return json_response(200, {"object": "list", "data": data, "model": model["id"],
                               "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


# ---------------------------------------------------------------------------
# Control API (/_fake/...)
# ---------------------------------------------------------------------------

def _bad(message):
    return json_response(400, {"ok": False, "error": message})


def validate_fault(f):
    if not isinstance(f, dict):
        return "each fault must be an object"
    if not isinstance(f.get("path"), str) or not f["path"]:
        return "fault.path is required (exact path or \"*\")"
    kind = f.get("kind")
    if kind not in FAULT_KINDS:
        return "fault.kind must be one of %s" % ", ".join(FAULT_KINDS)
    times = f.get("times", 1)
    if times is not None and (not isinstance(times, int) or times < 1):
        return "fault.times must be a positive integer or null (persistent)"
    if kind == "status" and not isinstance(f.get("status"), int):
        return "status fault needs an integer \"status\""
    if kind in ("stall", "delay_headers") and not isinstance(f.get("seconds"), (int, float)):
        return "%s fault needs numeric \"seconds\"" % kind
    if kind == "stall" and f.get("then", "continue") not in ("continue", "close"):
        return "stall.then must be \"continue\" or \"close\""
    for key in ("events", "bytes"):
        if key in f and (not isinstance(f[key], int) or f[key] < 0):
            return "fault.%s must be a non-negative integer" % key
    if "headers" in f and not isinstance(f["headers"], dict):
        return "fault.headers must be an object"
    return None


def ctl_faults_post(req):
    body = req.body
    faults = body.get("faults") if isinstance(body, dict) and "faults" in body else body
    if isinstance(faults, dict):
        faults = [faults]
    if not isinstance(faults, list):
        return _bad("body must be a fault, a list of faults, or {\"faults\": [...]}")
    for f in faults:
        problem = validate_fault(f)
        if problem:
            return _bad(problem)
    return json_response(200, {"ok": True, "ids": req.state.add_faults(faults)})


def ctl_faults_get(req):
    with req.state.cond:
        return json_response(200, {"faults": copy.deepcopy(req.state.faults)})


def ctl_faults_delete(req):
    with req.state.cond:
        req.state.faults = []
    return json_response(200, {"ok": True})


def ctl_reset(req):
    tokens = isinstance(req.body, dict) and bool(req.body.get("tokens"))
    req.state.reset(tokens=tokens)
    return json_response(200, {"ok": True})


def validate_config(changes):
    if not isinstance(changes, dict):
        return "config body must be an object"
    for key, value in changes.items():
        if key not in DEFAULT_CONFIG:
            return "unknown config key %r (known: %s)" % (key, ", ".join(sorted(DEFAULT_CONFIG)))
        if key == "chunking" and value not in CHUNKING_MODES:
            return "chunking must be one of %s" % ", ".join(CHUNKING_MODES)
        if key == "device_scenario" and value not in DEVICE_SCENARIOS:
            return "device_scenario must be one of %s" % ", ".join(DEVICE_SCENARIOS)
        if key == "device_script" and value is not None and (
                not isinstance(value, list) or not value
                or any(s not in DEVICE_STEPS for s in value)):
            return "device_script must be null or a non-empty list of %s" % ", ".join(DEVICE_STEPS)
        if key in ("write_delay", "token_lifetime", "refresh_in", "device_pending",
                   "device_interval", "device_expires_in", "hold_timeout") and (
                not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
            return "%s must be a non-negative number" % key
        if key == "tool_calls" and value is not None and (
                not isinstance(value, list)
                or any(not isinstance(t, dict) or not isinstance(t.get("name"), str)
                       for t in value)):
            return "tool_calls must be null or a list of {name, arguments, id?}"
        if key in ("models_extra", "models_hide", "github_tokens") and not isinstance(value, list):
            return "%s must be a list" % key
        if key in ("response_headers", "user_overrides") and not isinstance(value, dict):
            return "%s must be an object" % key
        if key == "usage" and value is not None and not isinstance(value, dict):
            return "usage must be null or an object"
    return None


def ctl_config_post(req):
    problem = validate_config(req.body)
    if problem:
        return _bad(problem)
    with req.state.cond:
        req.state.config.update(copy.deepcopy(req.body))
        return json_response(200, {"ok": True, "config": req.state.config})


def ctl_config_get(req):
    with req.state.cond:
        return json_response(200, {"config": req.state.config})


def ctl_revoke(req):
    github = isinstance(req.body, dict) and bool(req.body.get("github"))
    return json_response(200, {"ok": True, "revoked": req.state.revoke(github=github)})


def ctl_tokens(req):
    st = req.state
    with st.cond:
        copilot = [dict(info, token=t) for t, info in st.copilot_tokens.items()]
        github = [dict(info, token=t) for t, info in st.github_tokens.items()]
    copilot.sort(key=lambda x: x["n"])
    return json_response(200, {"copilot": copilot, "github": github})


def _matches(rec, path, method):
    return (path is None or rec["path"] == path) and (method is None or rec["method"] == method)


def ctl_requests_get(req):
    path, method = req.query.get("path"), req.query.get("method")
    with req.state.cond:
        recs = [r for r in req.state.records if _matches(r, path, method)]
        return json_response(200, {"requests": recs})


def ctl_requests_delete(req):
    with req.state.cond:
        req.state.records = []
    return json_response(200, {"ok": True})


def ctl_wait(req):
    path, method = req.query.get("path"), req.query.get("method")
    count = int(req.qfloat("count", 1))
    completed = req.query.get("completed") in ("1", "true")
    st = req.state

    def seen():
        return [r for r in st.records if _matches(r, path, method)
                and (not completed or r.get("finished"))]

    ok = st.wait_for(lambda: len(seen()) >= count, req.qfloat("timeout", 10.0))
    with st.cond:
        n = len(seen())
    return json_response(200 if ok else 408, {"ok": ok, "count": n})


def ctl_wait_disconnect(req):
    path = req.query.get("path")
    count = int(req.qfloat("count", 1))
    st = req.state

    def gone():
        return [r for r in st.records if r.get("client_disconnected") and _matches(r, path, None)]

    ok = st.wait_for(lambda: len(gone()) >= count, req.qfloat("timeout", 10.0))
    with st.cond:
        recs = copy.deepcopy(gone())
    return json_response(200 if ok else 408, {"ok": ok, "disconnects": len(recs),
                                              "requests": recs})


def ctl_wait_hold(req):
    name = req.query.get("name", "default")
    count = int(req.qfloat("count", 1))
    st = req.state
    ok = st.wait_for(lambda: st.holding.get(name, 0) >= count, req.qfloat("timeout", 10.0))
    with st.cond:
        n = st.holding.get(name, 0)
    return json_response(200 if ok else 408, {"ok": ok, "holding": n})


def ctl_release(req):
    body = req.body if isinstance(req.body, dict) else {}
    st = req.state
    with st.cond:
        if body.get("all"):
            names = [n for n, c in st.holding.items() if c > 0]
            for n in names:
                st.releases[n] = st.releases.get(n, 0) + st.holding[n]
        else:
            name = body.get("name", "default")
            st.releases[name] = st.releases.get(name, 0) + int(body.get("count", 1))
        st.cond.notify_all()
        return json_response(200, {"ok": True, "holding": dict(st.holding),
                                   "pending_releases": dict(st.releases)})


def ctl_health(req):
    return json_response(200, {"ok": True, "base_url": req.state.base_url})


# ---------------------------------------------------------------------------
# Route table: (method, path) -> handler(Request) -> Response
# ---------------------------------------------------------------------------

ROUTES = {
    ("POST", "/login/device/code"): handle_device_code,
    ("POST", "/login/oauth/access_token"): handle_access_token,
    ("GET", "/user"): handle_user,
    ("GET", "/copilot_internal/v2/token"): handle_copilot_token,
    ("GET", "/copilot_internal/user"): handle_copilot_user,
    ("GET", "/models"): handle_models,
    ("POST", "/chat/completions"): handle_chat_completions,
    ("POST", "/embeddings"): handle_embeddings,
    # control API
    ("GET", "/_fake/health"): ctl_health,
    ("POST", "/_fake/reset"): ctl_reset,
    ("GET", "/_fake/config"): ctl_config_get,
    ("POST", "/_fake/config"): ctl_config_post,
    ("GET", "/_fake/faults"): ctl_faults_get,
    ("POST", "/_fake/faults"): ctl_faults_post,
    ("DELETE", "/_fake/faults"): ctl_faults_delete,
    ("POST", "/_fake/revoke_tokens"): ctl_revoke,
    ("GET", "/_fake/tokens"): ctl_tokens,
    ("GET", "/_fake/requests"): ctl_requests_get,
    ("DELETE", "/_fake/requests"): ctl_requests_delete,
    ("GET", "/_fake/wait"): ctl_wait,
    ("GET", "/_fake/wait_disconnect"): ctl_wait_disconnect,
    ("GET", "/_fake/wait_hold"): ctl_wait_hold,
    ("POST", "/_fake/release"): ctl_release,
}


# ---------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------

CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-upstream/1"

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        # Each write must leave as its own segment, not coalesced by Nagle.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass                            # one line per request is written by _log

    def _log(self, method, path, status, note=""):
        sys.stderr.write("fake_upstream: %s %s %s%s\n" % (method, path, status, note))
        sys.stderr.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = lambda self: self._dispatch()

    # -- request side --------------------------------------------------------

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    @staticmethod
    def _parse_body(raw, ctype):
        if not raw:
            return None
        text = raw.decode("utf-8", errors="replace")
        if "json" in ctype or text.lstrip()[:1] in ("{", "["):
            try:
                return json.loads(text)
            except ValueError:
                return text
        if "x-www-form-urlencoded" in ctype:
            return {k: v[-1] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}
        return text

    def _dispatch(self):
        state = self.server.state
        started = time.time()
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        try:
            raw = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send_simple(json_response(400, {"error": "bad request body framing"}))
            return
        header_list = [[k, v] for k, v in self.headers.items()]
        headers = {}
        for k, v in header_list:
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        body = self._parse_body(raw, headers.get("content-type", ""))
        control = path.startswith("/_fake/")
        record = None
        if not control:
            record = state.add_record({
                "time": started, "method": self.command, "path": path, "query": query,
                "query_string": split.query, "headers": headers, "header_list": header_list,
                "body": body, "body_bytes": len(raw), "status": None, "stream": False,
                "fault": None, "writes": 0, "finished": False, "completed": False,
                "client_disconnected": False, "dropped": False})
        req = Request(state, self.command, path, query, headers, raw, body, record)
        handler = ROUTES.get((self.command, path))

        if control:
            resp = self._call(handler, req)
            self._send_simple(resp)
            self._log(self.command, path, resp.status)
            return

        fault = state.take_fault(self.command, path, body)
        kind = fault["kind"] if fault else None
        if fault:
            state.update_record(record, fault=kind)
        if kind == "delay_headers":
            if self._pause(lambda: False, float(fault["seconds"])) == "disconnected":
                state.note_disconnect(record)
                state.update_record(record, finished=True)
                self.close_connection = True
                self._log(self.command, path, "-", " fault=delay_headers client_disconnected")
                return
        if kind == "status":
            resp = self._status_fault_response(fault)
        elif kind == "unauthorized_once":
            resp = json_response(401, UNAUTHORIZED_BODY)
        else:
            resp = self._call(handler, req)
        state.update_record(record, status=resp.status, stream=resp.events is not None)
        self._send(resp, fault if kind in STREAM_FAULTS else None, record)
        state.update_record(record, finished=True, duration=round(time.time() - started, 4))
        note = (" stream" if resp.events is not None else "") + \
            (" fault=%s" % kind if kind else "") + \
            (" client_disconnected" if record["client_disconnected"] else "")
        self._log(self.command, path, resp.status, note)

    def _call(self, handler, req):
        if handler is None:
            return json_response(404, {"message": "Not Found",
                                       "documentation_url": "https://docs.github.com/rest"})
        try:
            return handler(req)
        except Exception:                              # report, never kill the server
            traceback.print_exc()
            return json_response(500, {"error": {"message": "fake upstream handler crashed",
                                                 "type": "error"}})

    @staticmethod
    def _status_fault_response(fault):
        body = fault.get("body", {"error": {"message": "fake upstream error", "type": "error"}})
        headers = dict(fault.get("headers") or {})
        if isinstance(body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            resp = Response(fault["status"], body.encode("utf-8"), headers)
        else:
            resp = json_response(fault["status"], body, headers)
        resp.headers.update({k: str(v) for k, v in headers.items()})
        return resp

    # -- response side -------------------------------------------------------

    def _send_head(self, resp, stream):
        self.send_response(resp.status)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if stream:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()

    def _send_simple(self, resp):
        try:
            self._send_head(resp, False)
            self.wfile.write(resp.body)
        except CLIENT_GONE:
            self.close_connection = True

    def _send(self, resp, fault, record):
        """Write status, headers and body, applying a stream fault if any."""
        state = self.server.state
        stream = resp.events is not None
        pieces = resp.events if stream else [resp.body]
        with state.cond:
            mode = state.config["chunking"]
            delay = float(state.config["write_delay"])
            hold_timeout = float(state.config["hold_timeout"])
        rng = state.next_stream_rng()
        kind = fault["kind"] if fault else None
        k = 0
        if kind and stream:
            k = max(0, min(int(fault.get("events", 1)), len(pieces)))
        # Records are updated before the client can observe the outcome, so a
        # test that has seen the end of a response can trust its record.
        def done():
            state.update_record(record, completed=True, finished=True)

        def dropped():
            state.update_record(record, dropped=True, finished=True)

        try:
            if not stream and not resp.body and not kind:
                done()
            self._send_head(resp, stream)
            self._write(pieces[:k], stream, mode, rng, delay, record)
            if kind == "drop_after":
                extra = fault.get("bytes")
                if extra is None:
                    extra = 0 if stream else len(resp.body) // 2
                if k < len(pieces) and extra > 0:
                    self._write([pieces[k][:extra]], stream, mode, rng, delay, record)
                dropped()
                self._abort(bool(fault.get("reset")))
                return
            if kind == "stall":
                if self._pause(lambda: False, float(fault["seconds"])) == "disconnected":
                    raise BrokenPipeError("client went away during stall")
                if fault.get("then") == "close":
                    dropped()
                    self._abort(bool(fault.get("reset")))
                    return
            if kind == "hold":
                if self._hold(fault.get("name", "default"), hold_timeout) == "disconnected":
                    raise BrokenPipeError("client went away during hold")
            self._write(pieces[k:], stream, mode, rng, delay, record,
                        before_last=None if stream else done)
            if stream:
                done()
                self.wfile.write(b"0\r\n\r\n")
            else:
                done()                  # idempotent; covers an empty body
        except CLIENT_GONE:
            state.update_record(record, completed=False, finished=True)
            state.note_disconnect(record)
            self.close_connection = True

    def _write(self, pieces, stream, mode, rng, delay, record, before_last=None):
        writes = plan_writes(pieces, mode, rng)
        for i, piece in enumerate(writes):
            if before_last is not None and i == len(writes) - 1:
                before_last()
            if stream:
                # Header, data and trailer in one send: one chunk per write.
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            record["writes"] += 1
            if delay:
                time.sleep(delay)

    def _abort(self, reset):
        """Close the TCP connection mid-response (FIN, or RST when reset is set)."""
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _peer_closed(self):
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _pause(self, done, seconds):
        """Wait until done() (under the state lock) or timeout, watching the client."""
        state = self.server.state
        deadline = time.monotonic() + seconds
        while True:
            with state.cond:
                if done():
                    return "done"
                if state.shutting_down:
                    return "timeout"
                left = deadline - time.monotonic()
                if left <= 0:
                    return "timeout"
                state.cond.wait(min(left, 0.05))
                if done():
                    return "done"
            if self._peer_closed():
                return "disconnected"

    def _hold(self, name, timeout):
        state = self.server.state
        with state.cond:
            state.holding[name] = state.holding.get(name, 0) + 1
            state.cond.notify_all()

        def released():
            if state.releases.get(name, 0) > 0:
                state.releases[name] -= 1
                return True
            return False

        try:
            outcome = self._pause(released, timeout)
            if outcome == "timeout":
                sys.stderr.write("fake_upstream: hold %r not released after %.1fs, continuing\n"
                                 % (name, timeout))
            return outcome
        finally:
            with state.cond:
                state.holding[name] -= 1
                state.cond.notify_all()


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    # Benchmarks open 32+ connections at once: the default backlog (5) resets them.
    request_queue_size = 256
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, host, port):
        if host not in ALLOWED_HOSTS:
            raise ValueError("refusing to bind %r: only %s allowed" % (host, ", ".join(ALLOWED_HOSTS)))
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), FakeHandler)
        bound = self.socket.getsockname()[1]
        shown = "[%s]" % host if ":" in host else host
        self.state = FakeState("http://%s:%d" % (shown, bound))

    def server_bind(self):
        # Skip HTTPServer's getfqdn(): a reverse DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def write_portfile(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake GitHub + Copilot upstream for tests.")
    ap.add_argument("--host", default="127.0.0.1", choices=ALLOWED_HOSTS)
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--portfile", help="write the bound port here once listening")
    ap.add_argument("--chunking", choices=CHUNKING_MODES, help="initial chunking mode")
    ap.add_argument("--seed", type=int, help="initial seed for awkward chunking")
    args = ap.parse_args(argv)

    server = FakeServer(args.host, args.port)
    if args.chunking:
        DEFAULT_CONFIG["chunking"] = args.chunking
    if args.seed is not None:
        DEFAULT_CONFIG["seed"] = args.seed
    server.state.reset()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    port = server.server_address[1]
    if args.portfile:
        write_portfile(args.portfile, port)
    sys.stderr.write("fake_upstream: listening on %s\n" % server.state.base_url)
    sys.stderr.flush()
    while not stop.wait(0.1):
        pass
    server.state.shutdown()
    server.shutdown()
    server.server_close()
    sys.stderr.write("fake_upstream: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
