#!/usr/bin/env python3
"""Fake GitHub + GitHub Copilot upstream for the gateway's tests (stdlib only).

One process serves both sides on one loopback port:
  GitHub:  /login/device/code, /login/oauth/access_token, /user,
           /copilot_internal/v2/token, /copilot_internal/user
  Copilot: /models, /chat/completions, /embeddings, /v1/messages (native
           Anthropic Messages), /responses (OpenAI Responses)
  Control: /_fake/...  (faults, config, request records, waits, holds)

Run:  python3 fake_upstream.py --port 0 --portfile FILE [--host 127.0.0.1|::1]
See README.md next to this file for the control API.
"""

import argparse
import base64
import copy
import email.parser
import email.policy
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
CODEX_ACCOUNT_ID = "acct-fake-0001"
DEFAULT_REASONING_TEMPLATE = "Thinking about: {user}"
DEFAULT_TOOL_RESULT_TEMPLATE = "Tool said: {result}"
DEFAULT_REASONING_TOKENS = 32     # billed per Responses reasoning item unless overridden
RESPONSES_MIN_OUTPUT_TOKENS = 16  # OpenAI rejects a smaller max_output_tokens

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
    "reasoning_text": None,      # chat: delta.reasoning_text; native endpoints: the
                                 # thinking / summary text (a list = several summary parts)
    "reasoning_template": DEFAULT_REASONING_TEMPLATE,  # used when reasoning_text is None
    "tool_calls": None,          # [{"name", "arguments", "id"?}] when request has tools
    "tool_calls_text": None,     # content emitted before the tool calls
    "finish_reason": None,       # override ("length", "content_filter", ...)
    "usage": None,               # overrides: prompt_tokens, completion_tokens,
                                 # cached_tokens, cache_creation_input_tokens,
                                 # cache_write_tokens (/responses' cache write)
    "copilot_usage": None,       # Copilot's charge of a model call, e.g.
                                 # {"total_nano_aiu": 150000000}: beside the
                                 # usage (chat body / usage chunk, messages body /
                                 # message_delta, responses body / terminal event);
                                 # never on a provider-key call
    "prompt_filter_chunk": False,  # leading choices:[] prompt_filter_results chunk
    "refusal": None,             # chat and /responses: the model refuses with this text
                                 # (message.refusal / a refusal part; no tool calls)
    "omit_done": False,          # chat stream: end cleanly without the data: [DONE] line
    # /v1/messages and /responses content.
    "tool_result_template": DEFAULT_TOOL_RESULT_TEMPLATE,  # "{result}" = tool outputs
    "stop_reason": None,         # /v1/messages stop_reason override
    "redacted_thinking": False,  # /v1/messages: add a redacted_thinking block when thinking
    "messages_delta_usage": "full",  # message_delta usage: "full" or "output_only"
    "item_id_quirk": False,      # /responses ids: True/"differ" (new id per event), "missing"
    "incomplete_reason": None,   # /responses: force status incomplete with this reason
    "response_failed": None,     # /responses: true or {code, message} → status failed
    "stream_error": None,        # both: true or {type|code, message} → error event mid-stream
                                 # (/responses: "at": "start" makes it the only event,
                                 # "status_code" is added to it)
    "compaction": False,         # /responses: compaction item when context_management asks
    "web_search_queries": None,  # /responses web_search tool: the queries run (None: the
                                 # last user text's first words; [] = the model did not search)
    "web_search_results": None,  # ... and the pages found, [{"url", "title"}] (None: two
                                 # pages per query on the allowed domain or example.org)
    "validate_history": True,    # reject history real upstreams reject (unpaired tool
                                 # calls, foreign thinking signatures, unverifiable items)
    "models_extra": [],          # model objects appended to /models
    "models_hide": [],           # model ids removed from /models
    "response_headers": {},      # added to every Copilot-side response
    "endpoints_api": None,       # override endpoints.api (default: this server)
    "ws_fragment": 0,            # WebSocket /responses: split each message into frames of N bytes
    "ws_refuse": None,           # WebSocket /responses: answer the upgrade with this HTTP status
    "ws_quota_snapshots": None,  # WebSocket /responses: copilot_quota_snapshots on response.completed
    "user_overrides": {},        # deep-merged into /copilot_internal/user
    "users": {},                 # several GitHub users (issue 15): GitHub token ->
                                 # {"login", "plan", "premium_remaining",
                                 # "premium_entitlement", "premium_unlimited",
                                 # "models_hide", "revoked"}; /user, /copilot_internal/user,
                                 # /models and model calls answer as that user; a
                                 # token not listed is the default user ("login")
    "hold_timeout": 60.0,        # a hold not released by then continues anyway
    # Codex (OAuth + backend).
    "codex_token_lifetime": 864000,  # expires_in of issued access tokens (s)
    "codex_account_id": CODEX_ACCOUNT_ID,  # the JWT claim; None = no claim
    "codex_primary_used": 42,    # codex.rate_limits primary used_percent
    "codex_untyped_stream": False,  # backend stream sent without a Content-Type
    "codex_completed_event": False,  # backend stream ends with response.completed
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
        self.codex_counter = 0
        self.codex_codes = {}      # code -> {challenge, redirect_uri}
        self.codex_access = {}     # access token -> {account_id, revoked, expires_at}
        self.codex_refresh = {}    # refresh token -> {state: valid|used|expired|revoked}
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
                self.codex_codes.clear()
                self.codex_access.clear()
                self.codex_refresh.clear()
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
            if self.config["users"].get(token, {}).get("revoked"):
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

    def user(self, github_token):
        """The users entry of a GitHub token (a copy), or {} for the default user."""
        with self.cond:
            return copy.deepcopy(self.config["users"].get(github_token or "", {}))

    def github_of_copilot(self, token):
        """The GitHub token a Copilot token was issued for (opencode: itself)."""
        with self.cond:
            info = self.copilot_tokens.get(token or "")
            return info["github_token"] if info is not None else token

    def login_of(self, github_token):
        return self.user(github_token).get("login") or self.cfg("login")

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

    def take_fault(self, method, path, body, explicit=False, login=None):
        """explicit: only a fault that names this method (the WebSocket side);
        login: the GitHub user the request's token belongs to (a fault with a
        "login" hits only that user's requests)."""
        with self.cond:
            for f in self.faults:
                if f["remaining"] is not None and f["remaining"] <= 0:
                    continue
                if f.get("login") is not None and f["login"] != login:
                    continue
                if f["path"] not in (path, "*"):
                    continue
                if explicit and not f.get("method"):
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

    def user(self):
        """The users entry of the GitHub user behind the Copilot bearer ({}: default)."""
        return self.state.user(self.state.github_of_copilot(self.auth_token(("bearer", "token"))))

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
    login = req.state.login_of(token)
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
    user = req.state.user(token)
    premium = _quota("premium_interactions", user.get("premium_entitlement", 1500),
                     user.get("premium_remaining", 1234),
                     bool(user.get("premium_unlimited", False)))
    body = {
        "login": req.state.login_of(token),
        "access_type_sku": "plus_monthly_subscriber_quota",
        "analytics_tracking_id": hashlib.md5(b"analytics" + token.encode()).hexdigest(),
        "assigned_date": "2025-01-15T10:00:00+00:00",
        "can_signup_for_limited": False,
        "chat_enabled": True,
        "copilot_plan": user.get("plan", "individual_pro"),
        "organization_login_list": [],
        "organization_list": [],
        "quota_reset_date": reset,
        "quota_reset_date_utc": reset + "T00:00:00.000Z",
        "quota_snapshots": {
            "chat": _quota("chat", 0, 0, True),
            "completions": _quota("completions", 0, 0, True),
            "premium_interactions": premium,
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


def visible_models(state, user=None):
    hide = set(state.cfg("models_hide")) | set((user or {}).get("models_hide", []))
    models = [m for m in default_models() if m["id"] not in hide]
    return models + state.cfg("models_extra")


def find_model(state, model_id, user=None):
    for m in visible_models(state, user):
        if m.get("id") == model_id:
            return m
    return None


@require_copilot_token
def handle_models(req):
    return json_response(200, {"object": "list", "data": visible_models(req.state, req.user())})


def _check_model(req, endpoint):
    """Return (model, None) or (None, error response) like Copilot does."""
    body = req.body
    if not isinstance(body, dict):
        return None, openai_error(400, "Request body must be a JSON object.", "invalid_request_body")
    model = find_model(req.state, body.get("model"), req.user())
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
    # A tool turn (trailing role:"tool" messages) is acknowledged like the
    # native endpoints do, so end-to-end tests can see the result arrived.
    results = []
    for m in reversed(messages):
        if not (isinstance(m, dict) and m.get("role") == "tool"):
            break
        results.insert(0, message_text(m.get("content")))
    if results:
        return cfg["tool_result_template"].replace("{result}", " | ".join(results))
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


def copilot_usage_only(cfg, req):
    """copilot_usage is Copilot's: a provider-key call never gets it."""
    if provider_key_scheme(req) is not None:
        cfg["copilot_usage"] = None


def copilot_usage(cfg):
    """The copilot_usage member to spread beside a usage, or nothing."""
    return {"copilot_usage": cfg["copilot_usage"]} if cfg["copilot_usage"] is not None else {}


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
    """Exactly n pieces (fewer only when the text is shorter than n characters)."""
    n = max(1, min(n, len(text)))
    q, r = divmod(len(text), n)
    pieces, pos = [], 0
    for i in range(n):
        size = q + (1 if i < r else 0)
        pieces.append(text[pos:pos + size])
        pos += size
    return pieces


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
    return chat_answer(req)


def chat_answer(req):
    """The Chat Completions answer once the caller's model check passed."""
    body = req.body
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return openai_error(400, "messages: field is required and must be a non-empty array",
                            "invalid_request_body", param="messages")
    with req.state.cond:
        cfg = copy.deepcopy(req.state.config)
    copilot_usage_only(cfg, req)
    answer = answer_for(cfg, messages)
    calls = scripted_tool_calls(cfg, body)
    refusal = cfg["refusal"]
    if refusal is not None:
        answer, calls = "", None
    if calls is not None:
        answer = cfg["tool_calls_text"] or ""
    reasoning = cfg["reasoning_text"]
    if isinstance(reasoning, list):
        reasoning = "\n\n".join(reasoning)
    finish = cfg["finish_reason"] or ("tool_calls" if calls else "stop")
    cid = "chatcmpl-" + uuid.uuid4().hex[:29]
    created = int(time.time())
    model = body["model"]
    if body.get("stream"):
        return _chat_stream(cfg, body, cid, created, model, answer, reasoning, calls, finish)
    message = {"content": answer if (answer or not calls) else None, "refusal": refusal,
               "role": "assistant"}
    if refusal is not None:
        message["content"] = None
    if reasoning:
        message["reasoning_text"] = reasoning
        message["reasoning_opaque"] = "opaque-" + hashlib.sha1(reasoning.encode()).hexdigest()
    if calls:
        message["tool_calls"] = [{"function": {"arguments": c["arguments"], "name": c["name"]},
                                  "id": c["id"], "type": "function"} for c in calls]
    completion = len(split_words(answer or refusal or "")) + sum(estimate_tokens(c["arguments"]) for c in calls or [])
    return json_response(200, {
        "choices": [{"finish_reason": finish, "index": 0, "logprobs": None, "message": message}],
        "created": created, "id": cid, "model": model, "object": "chat.completion",
        "prompt_filter_results": PROMPT_FILTER, "system_fingerprint": "fp_fake",
        "usage": chat_usage(cfg, body, completion), **copilot_usage(cfg),
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
    refusal = cfg["refusal"]
    if refusal is not None:   # OpenAI: content null throughout, the text in delta.refusal
        events.append(chunk({"content": None, "refusal": "", "role": "assistant"}))
    else:
        events.append(chunk({"content": "", "role": "assistant"}))
    pieces = 0
    for piece in split_words(refusal or ""):
        events.append(chunk({"content": None, "refusal": piece}))
        pieces += 1
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
                             "usage": chat_usage(cfg, body, pieces), **copilot_usage(cfg)}))
    if not cfg["omit_done"]:
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
# Shared by the native endpoints (/v1/messages, /responses)
# ---------------------------------------------------------------------------

TEXT_PART_TYPES = ("text", "input_text", "output_text")


def content_text(content):
    """A string, or the text parts of a block/part list joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content
                         if isinstance(p, dict) and p.get("type") in TEXT_PART_TYPES
                         and isinstance(p.get("text"), str))
    return ""


def text_tokens(text):
    """Output tokens of streamed text: one per word piece, as the stream sends them."""
    return len(split_words(text)) if text else 0


def first_words(text, n):
    return "".join(split_words(text)[:max(0, n)])


def input_estimate(*parts):
    """Prompt-token estimate over strings and JSON values."""
    n = 3
    for p in parts:
        if p is None:
            continue
        n += estimate_tokens(p if isinstance(p, str) else
                             json.dumps(p, ensure_ascii=False, separators=(",", ":")))
    return n


def reasoning_parts(cfg, user):
    """Thinking / summary text: config reasoning_text (string or list) or the template."""
    rt = cfg["reasoning_text"]
    if isinstance(rt, list):
        return [str(x) for x in rt]
    if isinstance(rt, str):
        return [rt]
    return [cfg["reasoning_template"].replace("{user}", user)]


def native_answer(cfg, user, results):
    """answer_text, else the tool-result acknowledgement on a tool turn, else the template."""
    if cfg["answer_text"] is not None:
        return cfg["answer_text"]
    if results is not None:
        return cfg["tool_result_template"].replace("{result}", " | ".join(results))
    return cfg["answer_template"].replace("{user}", user)


def config_calls(cfg, prefix):
    calls = []
    for i, tc in enumerate(cfg["tool_calls"] or []):
        args = tc.get("arguments", {})
        if not isinstance(args, str):
            args = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
        calls.append({"id": tc.get("id") or "%s%d" % (prefix, i), "name": tc["name"],
                      "arguments": args})
    return calls


def opaque(*parts, n=96):
    """Deterministic base64 blob standing in for signatures and encrypted content."""
    seed = "\x00".join(str(p) for p in parts).encode("utf-8")
    raw = b""
    while len(raw) * 4 < n * 3 + 4:
        raw += hashlib.sha256(seed + raw).digest()
    return base64.b64encode(raw).decode()[:n]


def new_id(prefix, hex_chars=48):
    return prefix + os.urandom(hex_chars // 2).hex()


def stream_error_value(cfg, defaults):
    """The configured mid-stream error merged over the endpoint's defaults, or None."""
    value = cfg["stream_error"]
    if not value:
        return None
    out = dict(defaults)
    if isinstance(value, dict):
        out.update({k: v for k, v in value.items() if v is not None})
    return out


def cut_index(kinds, fallback):
    """Where a stream breaks off: after half its text deltas, else after the first start."""
    deltas = [i for i, k in enumerate(kinds) if k == "text"]
    if deltas:
        return deltas[(len(deltas) - 1) // 2] + 1
    starts = [i for i, k in enumerate(kinds) if k == "start"]
    return starts[0] + 1 if starts else fallback


# ---------------------------------------------------------------------------
# Copilot native Anthropic Messages (POST /v1/messages)
# ---------------------------------------------------------------------------

def anthropic_error(status, message, etype="invalid_request_error"):
    return json_response(status, {"type": "error", "error": {"type": etype, "message": message}})


def claude_version(model_id):
    m = re.match(r"^claude-[a-z]+-(\d+)\.(\d+)", model_id or "")
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _blocks(message):
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _check_anthropic_messages(messages):
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return "messages.%d: Input should be a valid dictionary" % i
        role = m.get("role")
        if role == "system":
            return ("messages.%d.role: Unexpected role \"system\". The Messages API accepts a "
                    "top-level `system` parameter, not \"system\" as an input message role." % i)
        if role not in ("user", "assistant"):
            return "messages.%d.role: Input should be 'user' or 'assistant'" % i
        content = m.get("content")
        final_assistant = role == "assistant" and i == len(messages) - 1
        if not isinstance(content, (str, list)):
            return "messages.%d.content: Input should be a valid string or list" % i
        if not content and not final_assistant:
            return ("messages.%d: all messages must have non-empty content except for the "
                    "optional final assistant message" % i)
        for j, b in enumerate(content if isinstance(content, list) else []):
            if not isinstance(b, dict) or not isinstance(b.get("type"), str):
                return "messages.%d.content.%d: Input should be a content block object" % (i, j)
            kind = b["type"]
            if kind == "text" and not isinstance(b.get("text"), str):
                return "messages.%d.content.%d.text: Field required" % (i, j)
            if kind == "text" and not b["text"]:
                return "messages: text content blocks must be non-empty"
            if kind == "tool_use" and role != "assistant":
                return "messages.%d.content.%d: tool_use blocks are only allowed in assistant messages" % (i, j)
            if kind == "tool_result" and role != "user":
                return "messages.%d.content.%d: tool_result blocks are only allowed in user messages" % (i, j)
            if kind == "tool_use" and not (isinstance(b.get("id"), str) and isinstance(b.get("name"), str)):
                return "messages.%d.content.%d.tool_use: id and name are required" % (i, j)
            if kind == "tool_use" and not isinstance(b.get("input"), dict):
                return "messages.%d.content.%d.tool_use.input: Input should be a valid dictionary" % (i, j)
            if kind == "tool_result" and not isinstance(b.get("tool_use_id"), str):
                return "messages.%d.content.%d.tool_result.tool_use_id: Field required" % (i, j)
    return None


def _check_history(messages):
    """Anthropic's rules: each tool_use is answered in the very next user message, each
    tool_result answers a tool_use of the message right before it, and thinking blocks
    carry a Claude signature (GPT "enc@id" carriers must have been filtered out)."""
    for i, m in enumerate(messages):
        if m["role"] == "assistant":
            for j, b in enumerate(_blocks(m)):
                sig = b.get("signature")
                if b["type"] == "thinking" and (not isinstance(sig, str) or not sig or "@" in sig):
                    return "messages.%d.content.%d: Invalid `signature` in `thinking` block" % (i, j)
            uses = [b["id"] for b in _blocks(m) if b["type"] == "tool_use"]
            nxt = messages[i + 1] if i + 1 < len(messages) else None
            got = {b["tool_use_id"] for b in _blocks(nxt) if b["type"] == "tool_result"} \
                if nxt is not None and nxt["role"] == "user" else set()
            missing = [u for u in uses if u not in got]
            if missing:
                return ("messages.%d: `tool_use` ids were found without `tool_result` blocks "
                        "immediately after: %s. Each `tool_use` block must have a corresponding "
                        "`tool_result` block in the next message." % (i, ", ".join(missing)))
        else:
            prev = messages[i - 1] if i > 0 else None
            uses = {b["id"] for b in _blocks(prev) if b["type"] == "tool_use"} \
                if prev is not None and prev["role"] == "assistant" else set()
            for j, b in enumerate(_blocks(m)):
                if b["type"] == "tool_result" and b["tool_use_id"] not in uses:
                    return ("messages.%d.content.%d: unexpected `tool_use_id` found in "
                            "`tool_result` blocks: %s. Each `tool_result` block must have a "
                            "corresponding `tool_use` block in the previous message."
                            % (i, j, b["tool_use_id"]))
    return None


def validate_messages_request(body, model, cfg):
    """Anthropic-side validation; returns the error message or None."""
    if "max_tokens" not in body:
        return "max_tokens: Field required"
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return "max_tokens: Input should be a valid integer"
    if max_tokens < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    limit = model.get("capabilities", {}).get("limits", {}).get("max_output_tokens")
    if isinstance(limit, int) and max_tokens > limit:
        return ("max_tokens: %d > %d, which is the maximum allowed number of output tokens "
                "for %s" % (max_tokens, limit, model["id"]))
    if "messages" not in body:
        return "messages: Field required"
    messages = body["messages"]
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    if not messages:
        return "messages: at least one message is required"
    problem = _check_anthropic_messages(messages)
    if problem:
        return problem
    # Copilot's Messages endpoint refuses Anthropic's top-level
    # cache_control and the per-tool eager_input_streaming that Zed sends
    # (the reference strips both since 1.11, commit e7569ac).
    if "cache_control" in body:
        return "cache_control: Extra inputs are not permitted"
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        return "system: Input should be a valid string or list"
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for k, t in enumerate(tools):
            if not isinstance(t, dict) or not isinstance(t.get("name"), str):
                return "tools.%d.name: Field required" % k
            if t.get("type") in (None, "custom") and not isinstance(t.get("input_schema"), dict):
                return "tools.%d.custom.input_schema: Field required" % k
            if "eager_input_streaming" in t:
                return "tools.%d.custom.eager_input_streaming: Extra inputs are not permitted" % k
    choice = body.get("tool_choice")
    if choice is not None and (not isinstance(choice, dict)
                               or choice.get("type") not in ("auto", "any", "tool", "none")):
        return "tool_choice: Input tag found using 'type' does not match 'auto', 'any', 'tool', 'none'"
    if isinstance(choice, dict) and choice["type"] == "tool" and not isinstance(choice.get("name"), str):
        return "tool_choice.tool.name: Field required"
    thinking = body.get("thinking")
    if thinking is not None:
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if kind not in ("enabled", "disabled", "adaptive"):
            return ("thinking: Input tag '%s' found using 'type' does not match any of the "
                    "expected tags: 'adaptive', 'disabled', 'enabled'" % kind)
        supports = model.get("capabilities", {}).get("supports", {})
        if kind == "enabled":
            if claude_version(model["id"]) >= (4, 7):
                return ("thinking.type.enabled is not supported for this model. Use "
                        "thinking.type.adaptive and output_config.effort to control "
                        "thinking behavior.")
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
                return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            if budget >= max_tokens:
                return "`max_tokens` must be greater than `thinking.budget_tokens`."
        if kind == "adaptive" and not supports.get("adaptive_thinking"):
            return "thinking.type.adaptive is not supported for this model."
        if thinking.get("display") not in (None, "summarized", "omitted"):
            return "thinking.display: Input should be 'summarized' or 'omitted'"
        if kind != "disabled" and isinstance(choice, dict) and choice["type"] in ("any", "tool"):
            return "Thinking may not be enabled when tool_choice forces tool use."
    if cfg["validate_history"]:
        return _check_history(messages)
    return None


def anthropic_usage(cfg, body, output_tokens):
    over = cfg["usage"] or {}
    cache_read = int(over.get("cache_read_input_tokens", over.get("cached_tokens", 0)))
    cache_creation = int(over.get("cache_creation_input_tokens", 0))
    if "input_tokens" in over:
        inp = int(over["input_tokens"])
    elif "prompt_tokens" in over:
        # OpenAI-style total: Anthropic's input_tokens excludes both cache counts.
        inp = max(0, int(over["prompt_tokens"]) - cache_read - cache_creation)
    else:
        inp = input_estimate(body.get("system"), body.get("messages"), body.get("tools"))
    out = int(over.get("output_tokens", over.get("completion_tokens", output_tokens)))
    return {"input_tokens": inp, "cache_creation_input_tokens": cache_creation,
            "cache_read_input_tokens": cache_read, "output_tokens": out}


def messages_plan(cfg, body, model):
    """Decide the whole Anthropic answer once; stream and non-stream render the same plan."""
    messages = body["messages"]
    last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
    user = content_text(last_user["content"]) if last_user else ""
    last = messages[-1]
    results = None
    if last["role"] == "user":
        found = [b for b in _blocks(last) if b["type"] == "tool_result"]
        if found:
            results = [content_text(b.get("content")) for b in found]
    tools = body.get("tools") or []
    choice = body.get("tool_choice") if isinstance(body.get("tool_choice"), dict) else {}
    calls = None
    if tools and results is None and choice.get("type", "auto") != "none":
        calls = config_calls(cfg, "toolu_fake_")
        if not calls and choice.get("type") in ("any", "tool"):
            name = choice["name"] if choice["type"] == "tool" else tools[0]["name"]
            calls = [{"id": "toolu_fake_0", "name": name, "arguments": "{}"}]
        calls = calls or None
    answer = (cfg["tool_calls_text"] or "") if calls else native_answer(cfg, user, results)

    thinking = None
    spec = body.get("thinking") or {}
    if spec.get("type") in ("enabled", "adaptive"):
        # Opus 4.7 and later omit the thinking text unless asked for a summary.
        display = spec.get("display") or \
            ("omitted" if claude_version(model["id"]) >= (4, 7) else "summarized")
        full = "\n\n".join(reasoning_parts(cfg, user))
        thinking = {"full": full, "text": full if display == "summarized" else ""}

    stop_reason = "tool_use" if calls else "end_turn"
    stop_sequence = None
    if not calls:
        hits = [(answer.find(s), s) for s in body.get("stop_sequences") or []
                if isinstance(s, str) and s and s in answer]
        if hits:
            pos, stop_sequence = min(hits)
            answer = answer[:pos]
            stop_reason = "stop_sequence"

    think_tokens = text_tokens(thinking["full"]) if thinking else 0
    total = think_tokens + text_tokens(answer) + \
        sum(estimate_tokens(c["arguments"]) for c in calls or [])
    budget = body["max_tokens"]
    if total > budget:
        stop_reason, stop_sequence, calls = "max_tokens", None, None
        if thinking and think_tokens >= budget:
            thinking["text"] = first_words(thinking["text"], budget)
        answer = first_words(answer, budget - think_tokens)
        total = budget
    if thinking:
        thinking["signature"] = opaque("thinking", thinking["text"], user)
    if cfg["stop_reason"] is not None:
        stop_reason = cfg["stop_reason"]
    return {
        "id": "msg_fake" + os.urandom(12).hex(), "model": body["model"],
        "thinking": thinking,
        "redacted": opaque("redacted", user, n=128) if thinking and cfg["redacted_thinking"] else None,
        "answer": answer, "calls": calls,
        "stop_reason": stop_reason, "stop_sequence": stop_sequence,
        "usage": anthropic_usage(cfg, body, total),
    }


def _tool_input(arguments):
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def messages_result(plan):
    content = []
    if plan["thinking"]:
        content.append({"type": "thinking", "thinking": plan["thinking"]["text"],
                        "signature": plan["thinking"]["signature"]})
    if plan["redacted"]:
        content.append({"type": "redacted_thinking", "data": plan["redacted"]})
    if plan["answer"]:
        content.append({"type": "text", "text": plan["answer"]})
    for c in plan["calls"] or []:
        content.append({"type": "tool_use", "id": c["id"], "name": c["name"],
                        "input": _tool_input(c["arguments"])})
    return {"id": plan["id"], "type": "message", "role": "assistant", "model": plan["model"],
            "content": content, "stop_reason": plan["stop_reason"],
            "stop_sequence": plan["stop_sequence"], "usage": plan["usage"]}


def messages_stream_events(cfg, plan):
    evs = []        # [event name, data, kind]; kind marks text deltas and block starts
    usage = plan["usage"]
    start_usage = dict(usage, output_tokens=min(1, usage["output_tokens"]))
    evs.append(["message_start", {"type": "message_start", "message": {
        "id": plan["id"], "type": "message", "role": "assistant", "model": plan["model"],
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}}, None])
    index = [0]

    def start(block):
        evs.append(["content_block_start", {"type": "content_block_start", "index": index[0],
                                            "content_block": block}, "start"])
        if index[0] == 0:       # Anthropic pings right after the first block opens
            evs.append(["ping", {"type": "ping"}, None])

    def delta(d, kind=None):
        evs.append(["content_block_delta", {"type": "content_block_delta", "index": index[0],
                                            "delta": d}, kind])

    def stop():
        evs.append(["content_block_stop", {"type": "content_block_stop", "index": index[0]}, None])
        index[0] += 1

    if plan["thinking"]:
        start({"type": "thinking", "thinking": ""})
        for piece in split_words(plan["thinking"]["text"]):
            delta({"type": "thinking_delta", "thinking": piece})
        delta({"type": "signature_delta", "signature": plan["thinking"]["signature"]})
        stop()
    if plan["redacted"]:
        start({"type": "redacted_thinking", "data": plan["redacted"]})
        stop()
    if plan["answer"]:
        start({"type": "text", "text": ""})
        for piece in split_words(plan["answer"]):
            delta({"type": "text_delta", "text": piece}, "text")
        stop()
    for c in plan["calls"] or []:
        start({"type": "tool_use", "id": c["id"], "name": c["name"], "input": {}})
        delta({"type": "input_json_delta", "partial_json": ""})
        for frag in split_n(c["arguments"], 3):
            delta({"type": "input_json_delta", "partial_json": frag})
        stop()
    if index[0] == 0:
        evs.insert(1, ["ping", {"type": "ping"}, None])

    error = stream_error_value(cfg, {"type": "overloaded_error", "message": "Overloaded"})
    if error is not None:
        evs = evs[:cut_index([e[2] for e in evs], len(evs))]
        evs.append(["error", {"type": "error", "error": {"type": error["type"],
                                                         "message": error["message"]}}, None])
    else:
        final = usage if cfg["messages_delta_usage"] == "full" else \
            {"output_tokens": usage["output_tokens"]}
        evs.append(["message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": plan["stop_reason"],
                                                "stop_sequence": plan["stop_sequence"]},
                                      "usage": final, **copilot_usage(cfg)}, None])
        evs.append(["message_stop", {"type": "message_stop"}, None])
    return [sse_event(data, event=name) for name, data, _ in evs]


def handle_messages(req):
    # A third-party provider's key instead of a Copilot bearer: any model.
    if provider_key_scheme(req) is not None:
        return messages_answer(req, provider_model)
    return copilot_messages(req)


@require_copilot_token
def copilot_messages(req):
    return messages_answer(req, find_model)


def messages_answer(req, lookup):
    body = req.body
    if not isinstance(body, dict):
        return anthropic_error(400, "Request body must be a JSON object.")
    if not isinstance(body.get("model"), str):
        return anthropic_error(400, "model: Field required")
    model = lookup(req.state, body["model"])
    if model is None:
        return anthropic_error(400, "The requested model is not supported.")
    if not model_supports(model, "/v1/messages"):
        return anthropic_error(400, "model %s is not accessible via the /v1/messages endpoint"
                               % model["id"])
    with req.state.cond:
        cfg = copy.deepcopy(req.state.config)
    problem = validate_messages_request(body, model, cfg)
    if problem:
        return anthropic_error(400, problem)
    copilot_usage_only(cfg, req)
    plan = messages_plan(cfg, body, model)
    if body.get("stream"):
        return sse_response(messages_stream_events(cfg, plan))
    return json_response(200, dict(messages_result(plan), **copilot_usage(cfg)))


# ---------------------------------------------------------------------------
# Copilot OpenAI Responses (POST /responses)
# ---------------------------------------------------------------------------

def _is_user_message(item):
    return item.get("role") == "user" and item.get("type", "message") == "message"


def validate_responses_request(body, cfg):
    """Returns (message, param, code) like OpenAI's 400s, or None."""
    if "input" not in body:
        return "Missing required parameter: 'input'.", "input", "missing_required_parameter"
    inp = body["input"]
    if not isinstance(inp, (str, list)):
        return ("Invalid type for 'input': expected one of a string or array of input items.",
                "input", "invalid_type")
    for i, item in enumerate(inp if isinstance(inp, list) else []):
        if not isinstance(item, dict):
            return ("Invalid type for 'input[%d]': expected an input item object." % i,
                    "input[%d]" % i, "invalid_type")
    mot = body.get("max_output_tokens")
    if mot is not None and (not isinstance(mot, int) or isinstance(mot, bool)
                            or mot < RESPONSES_MIN_OUTPUT_TOKENS):
        return ("Invalid 'max_output_tokens': integer below minimum value. Expected a value "
                ">= %d, but got %s instead." % (RESPONSES_MIN_OUTPUT_TOKENS, json.dumps(mot)),
                "max_output_tokens", "integer_below_min_value")
    include = body.get("include")
    if include is not None and (not isinstance(include, list)
                                or not all(isinstance(x, str) for x in include)):
        return "Invalid type for 'include': expected an array of strings.", "include", "invalid_type"
    if cfg["validate_history"] and isinstance(inp, list) and not body.get("previous_response_id"):
        calls = {it.get("call_id") for it in inp if it.get("type") == "function_call"}
        for it in inp:
            if it.get("type") == "function_call_output" and it.get("call_id") not in calls:
                return ("No tool call found for function call output with call_id %s."
                        % it.get("call_id"), "input", None)
            # Without store, reasoning and compaction items live only in encrypted_content.
            if it.get("type") in ("reasoning", "compaction") and not body.get("store") and (
                    not it.get("encrypted_content")
                    or (it["type"] == "reasoning" and not str(it.get("id", "")).startswith("rs_"))):
                return ("Item with id '%s' not found. Items are not persisted when `store` is "
                        "set to false. Try again with `store` set to true, or remove this item "
                        "from your input." % it.get("id", ""), "input", None)
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    search = web_search_tool(tools)
    problem = validate_web_search_tool(search) if search is not None else None
    if problem:
        return problem[0], problem[1], "invalid_type"
    return None

WEB_SEARCH_TOOL_TYPES = ("web_search", "web_search_preview", "web_search_2025_08_26")


def web_search_tool(tools):
    """The request's hosted web_search tool, or None."""
    return next((t for t in tools if isinstance(t, dict)
                 and t.get("type") in WEB_SEARCH_TOOL_TYPES), None)


def validate_web_search_tool(tool):
    filters = tool.get("filters")
    if filters is None:
        return None
    if not isinstance(filters, dict):
        return "Invalid type for 'tools[0].filters': expected an object.", "tools[0].filters"
    for key in ("allowed_domains", "blocked_domains"):
        v = filters.get(key)
        if v is not None and (not isinstance(v, list) or any(not isinstance(d, str) for d in v)):
            return ("Invalid type for 'tools[0].filters.%s': expected an array of strings." % key,
                    "tools[0].filters.%s" % key)
    return None


def _on_domain(url, domains):
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


def web_search_plan(cfg, tool, user):
    """(queries, pages): what the hosted search ran and found, honouring the
    tool's allowed/blocked domain filters."""
    filters = tool.get("filters") or {}
    allowed = filters.get("allowed_domains") or []
    blocked = filters.get("blocked_domains") or []
    queries = cfg["web_search_queries"]
    if queries is None:
        words = user.split()[:8]
        queries = [" ".join(words)] if words else []
    pages = cfg["web_search_results"]
    if pages is None:
        host = allowed[0] if allowed else "example.org"
        pages = []
        for q in queries:
            slug = "-".join("".join(c if c.isalnum() else " " for c in q.lower()).split()) or "q"
            pages += [{"url": "https://%s/%s" % (host, slug), "title": "%s - overview" % q},
                      {"url": "https://%s/%s/details" % (host, slug), "title": "%s - details" % q}]
    pages = [p for p in pages if (not allowed or _on_domain(p["url"], allowed))
             and not _on_domain(p["url"], blocked)] if queries else []
    return queries, pages


def cite(answer, pages):
    """The answer with one markdown link per page and its url_citation annotations."""
    annotations = []
    if pages:
        answer += "\n\nSources:"
    for p in pages:
        title = p.get("title") or p["url"]
        answer += " "
        start = len(answer)
        answer += "[%s](%s)" % (title, p["url"])
        annotations.append({"type": "url_citation", "start_index": start,
                            "end_index": len(answer), "title": title, "url": p["url"]})
    return answer, annotations


def responses_plan(cfg, body, model):
    """Decide the whole Responses answer: final output items, status, usage."""
    inp = body["input"]
    items = [{"type": "message", "role": "user", "content": inp}] if isinstance(inp, str) else inp
    last_user = max((i for i, it in enumerate(items) if _is_user_message(it)), default=-1)
    user = content_text(items[last_user].get("content")) if last_user >= 0 else ""
    outputs = [it for it in items[last_user + 1:] if it.get("type") == "function_call_output"]
    results = [content_text(o.get("output")) for o in outputs] or None

    tools = body.get("tools") or []
    choice = body.get("tool_choice", "auto")
    calls = None
    if tools and results is None and choice != "none":
        calls = config_calls(cfg, "call_fake_")
        forced = choice == "required" or (isinstance(choice, dict) and choice.get("type") == "function")
        if not calls and forced:
            name = choice.get("name") if isinstance(choice, dict) else \
                next((t.get("name") for t in tools if isinstance(t, dict) and t.get("name")), "tool")
            calls = [{"id": "call_fake_0", "name": name, "arguments": "{}"}]
        calls = calls or None
    if cfg["refusal"] is not None:
        calls = None
    answer = (cfg["tool_calls_text"] or "") if calls else native_answer(cfg, user, results)
    if cfg["refusal"] is not None:
        answer = cfg["refusal"]
    search = web_search_tool(tools) if choice != "none" and not calls else None
    queries, pages, annotations = [], [], []
    if search is not None and cfg["refusal"] is None:
        queries, pages = web_search_plan(cfg, search, user)
        answer, annotations = cite(answer, pages)

    req_reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    supports = model.get("capabilities", {}).get("supports", {})
    # Reasoning models always reason (and bill for it); summaries only when asked.
    has_reasoning = cfg["reasoning_text"] is not None or (
        "reasoning_effort" in supports and req_reasoning.get("effort") != "none")
    summary = []
    if cfg["reasoning_text"] is not None or req_reasoning.get("summary") in ("auto", "concise", "detailed"):
        summary = reasoning_parts(cfg, user)
    encrypted = "reasoning.encrypted_content" in (body.get("include") or [])
    cm = body.get("context_management")
    compaction = bool(cfg["compaction"]) and isinstance(cm, list) and \
        any(isinstance(x, dict) and x.get("type") == "compaction" for x in cm)

    over = cfg["usage"] or {}
    reasoning_tokens = int(over.get("reasoning_tokens", DEFAULT_REASONING_TOKENS)) if has_reasoning else 0
    produced = reasoning_tokens + text_tokens(answer) + \
        sum(estimate_tokens(c["arguments"]) for c in calls or [])
    status, reason, truncated = "completed", None, False
    mot = body.get("max_output_tokens")
    if isinstance(mot, int) and produced > mot:
        status, reason, truncated = "incomplete", "max_output_tokens", True
        answer = first_words(answer, mot - reasoning_tokens)
        annotations = [a for a in annotations if a["end_index"] <= len(answer)]
        calls = None
        produced = mot
    if cfg["incomplete_reason"] and status == "completed":
        status, reason = "incomplete", cfg["incomplete_reason"]

    output = []
    if compaction:
        output.append({"id": new_id("cmp_"), "type": "compaction",
                       "encrypted_content": opaque("compaction", user, n=160)})
    if has_reasoning:
        item = {"id": new_id("rs_"), "type": "reasoning",
                "summary": [{"type": "summary_text", "text": t} for t in summary]}
        if encrypted:
            item["encrypted_content"] = opaque("reasoning", "\n".join(summary), user, n=160)
        output.append(item)
    for q in queries:
        action = {"type": "search", "query": q}
        if "web_search_call.action.sources" in (body.get("include") or []):
            action["sources"] = [{"type": "url", "url": p["url"]} for p in pages]
        output.append({"id": new_id("ws_"), "type": "web_search_call", "status": "completed",
                       "action": action})
    if answer or not (calls or truncated):
        output.append({"id": new_id("msg_"), "type": "message",
                       "status": "completed" if status == "completed" else "incomplete",
                       "content": [{"type": "refusal", "refusal": answer}
                                   if cfg["refusal"] is not None else
                                   {"type": "output_text", "annotations": annotations,
                                    "logprobs": [],
                                    "text": answer}],
                       "role": "assistant"})
    for c in calls or []:
        output.append({"id": new_id("fc_"), "type": "function_call", "status": "completed",
                       "arguments": c["arguments"], "call_id": c["id"], "name": c["name"]})

    cached = int(over.get("cached_tokens", over.get("cache_read_input_tokens", 0)))
    input_tokens = int(over.get("input_tokens", over.get(
        "prompt_tokens", input_estimate(body.get("instructions"), inp, body.get("tools")))))
    output_tokens = int(over.get("output_tokens", over.get("completion_tokens", produced)))
    details = {"cached_tokens": cached}
    if "cache_write_tokens" in over:
        details["cache_write_tokens"] = int(over["cache_write_tokens"])
    usage = {"input_tokens": input_tokens, "input_tokens_details": details,
             "output_tokens": output_tokens,
             "output_tokens_details": {"reasoning_tokens": min(reasoning_tokens, output_tokens)},
             "total_tokens": input_tokens + output_tokens}

    failed = None
    if cfg["response_failed"]:
        failed = {"code": "server_error", "message": "The model failed to generate a response."}
        if isinstance(cfg["response_failed"], dict):
            failed.update(cfg["response_failed"])
    return {"id": new_id("resp_"), "created_at": int(time.time()), "body": body,
            "status": status, "reason": reason, "output": output, "usage": usage,
            "failed": failed, "reasoning_echo": {
                "effort": req_reasoning.get("effort", "medium" if has_reasoning else None),
                "summary": req_reasoning.get("summary")}}


def response_object(plan, status, output, usage, error=None, incomplete=None):
    body = plan["body"]
    return {
        "id": plan["id"], "object": "response", "created_at": plan["created_at"],
        "status": status, "background": False, "error": error,
        "incomplete_details": incomplete, "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"), "max_tool_calls": None,
        "model": body["model"], "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": plan["reasoning_echo"], "safety_identifier": None,
        "service_tier": "default", "store": body.get("store", False),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
        "top_logprobs": 0, "top_p": body.get("top_p", 1.0), "truncation": "disabled",
        "usage": usage, "user": None, "metadata": body.get("metadata") or {},
    }


def responses_result(plan):
    if plan["failed"]:
        return response_object(plan, "failed", [], None, error=plan["failed"])
    incomplete = {"reason": plan["reason"]} if plan["status"] == "incomplete" else None
    return response_object(plan, plan["status"], plan["output"], plan["usage"],
                           incomplete=incomplete)


def responses_stream_events(cfg, plan):
    quirk = cfg["item_id_quirk"]
    evs = []        # [data without sequence_number, kind]

    def add(etype, kind=None, **fields):
        evs.append([dict({"type": etype}, **fields), kind])

    def ref(item, fresh=True):
        """The id an event carries: Copilot's quirk gives every event its own id."""
        if quirk in (True, "differ") and fresh:
            return item["id"].split("_", 1)[0] + "_" + os.urandom(24).hex()
        return item["id"]

    def with_ref(fields, item):
        if quirk == "missing":
            return fields
        return dict({"item_id": ref(item)}, **fields)

    skeleton = response_object(plan, "in_progress", [], None)
    add("response.created", response=skeleton)
    add("response.in_progress", response=skeleton)
    final = []
    for oi, item in enumerate(plan["output"]):
        kind = item["type"]
        if kind == "compaction":
            added = dict(item)
        elif kind == "reasoning":
            added = {"id": item["id"], "type": "reasoning", "summary": []}
        elif kind == "web_search_call":
            added = {"id": item["id"], "type": "web_search_call", "status": "in_progress"}
        elif kind == "message":
            added = {"id": item["id"], "type": "message", "status": "in_progress",
                     "content": [], "role": "assistant"}
        else:
            added = dict(item, status="in_progress", arguments="")
        added["id"] = ref(item)
        if quirk == "missing":
            del added["id"]
        add("response.output_item.added", "start", output_index=oi, item=added)
        if kind == "reasoning":
            for si, part in enumerate(item["summary"]):
                text = part["text"]
                add("response.reasoning_summary_part.added", **with_ref(
                    {"output_index": oi, "summary_index": si,
                     "part": {"type": "summary_text", "text": ""}}, item))
                for piece in split_words(text):
                    add("response.reasoning_summary_text.delta", **with_ref(
                        {"output_index": oi, "summary_index": si, "delta": piece}, item))
                add("response.reasoning_summary_text.done", **with_ref(
                    {"output_index": oi, "summary_index": si, "text": text}, item))
                add("response.reasoning_summary_part.done", **with_ref(
                    {"output_index": oi, "summary_index": si,
                     "part": {"type": "summary_text", "text": text}}, item))
        elif kind == "message":
            part = item["content"][0]
            if part["type"] == "refusal":
                # OpenAI's refusal events: no logprobs, the full text in "refusal"
                add("response.content_part.added", **with_ref(
                    {"output_index": oi, "content_index": 0, "part": dict(part, refusal="")},
                    item))
                for piece in split_words(part["refusal"]):
                    add("response.refusal.delta", "text", **with_ref(
                        {"output_index": oi, "content_index": 0, "delta": piece}, item))
                add("response.refusal.done", **with_ref(
                    {"output_index": oi, "content_index": 0, "refusal": part["refusal"]}, item))
            else:
                add("response.content_part.added", **with_ref(
                    {"output_index": oi, "content_index": 0,
                     "part": dict(part, text="", annotations=[])}, item))
                for piece in split_words(part["text"]):
                    add("response.output_text.delta", "text", **with_ref(
                        {"output_index": oi, "content_index": 0, "delta": piece,
                         "logprobs": []}, item))
                for ai, ann in enumerate(part.get("annotations") or []):
                    add("response.output_text.annotation.added", **with_ref(
                        {"output_index": oi, "content_index": 0, "annotation_index": ai,
                         "annotation": ann}, item))
                add("response.output_text.done", **with_ref(
                    {"output_index": oi, "content_index": 0, "text": part["text"],
                     "logprobs": []}, item))
            add("response.content_part.done", **with_ref(
                {"output_index": oi, "content_index": 0, "part": part}, item))
        elif kind == "web_search_call":
            for phase in ("in_progress", "searching", "completed"):
                add("response.web_search_call." + phase, **with_ref({"output_index": oi}, item))
        elif kind == "function_call":
            for frag in split_n(item["arguments"], 3):
                add("response.function_call_arguments.delta", **with_ref(
                    {"output_index": oi, "delta": frag}, item))
            add("response.function_call_arguments.done", **with_ref(
                {"output_index": oi, "name": item["name"], "arguments": item["arguments"]}, item))
        done = dict(item, id=ref(item))
        add("response.output_item.done", output_index=oi, item=done)
        final.append(done)

    error = stream_error_value(cfg, {"code": "server_error", "message":
                                     "The server had an error while processing your request."})
    if plan["failed"] or error is not None:
        # "at": "start": the error is the stream's only event (a request
        # refused once the stream opened, as the Codex backend's usage
        # limit), with its "status_code" when given
        start = error is not None and error.get("at") == "start"
        evs = [] if start else evs[:cut_index([k for _, k in evs], 2)]
        if plan["failed"]:
            add("response.failed", response=response_object(plan, "failed", [], None,
                                                             error=plan["failed"]))
        else:
            extra = {"status_code": error["status_code"]} if "status_code" in error else {}
            add("error", code=error["code"], message=error["message"], param=None, **extra)
    else:
        incomplete = {"reason": plan["reason"]} if plan["status"] == "incomplete" else None
        add("response.completed" if plan["status"] == "completed" else "response.incomplete",
            response=response_object(plan, plan["status"], final, plan["usage"],
                                     incomplete=incomplete), **copilot_usage(cfg))
    out = []
    for seq, (data, _) in enumerate(evs):
        data = dict({"type": data["type"], "sequence_number": seq}, **data)
        out.append(sse_event(data, event=data["type"]))
    return out


@require_copilot_token
def handle_responses(req):
    model, err = _check_model(req, "/responses")
    if err:
        return err
    return responses_answer(req, model)


def responses_answer(req, model):
    body = req.body
    with req.state.cond:
        cfg = copy.deepcopy(req.state.config)
    problem = validate_responses_request(body, cfg)
    if problem:
        message, param, code = problem
        return openai_error(400, message, code, param=param)
    copilot_usage_only(cfg, req)
    plan = responses_plan(cfg, body, model)
    if body.get("stream"):
        return sse_response(responses_stream_events(cfg, plan))
    return json_response(200, dict(responses_result(plan), **copilot_usage(cfg)))


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
    if "login" in f and not isinstance(f["login"], str):
        return "fault.login must be a GitHub login"
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
        if key == "codex_account_id" and value is not None and not isinstance(value, str):
            return "codex_account_id must be null or a string"
        if key in ("codex_token_lifetime", "codex_primary_used", "write_delay", "token_lifetime", "refresh_in", "device_pending",
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
        if key == "users" and (not isinstance(value, dict) or any(
                not isinstance(u, dict) for u in value.values())):
            return "users must be an object of GitHub token -> user object"
        if key == "ws_quota_snapshots" and value is not None and not isinstance(value, dict):
            return "ws_quota_snapshots must be null or an object"
        if key == "usage" and value is not None and (
                not isinstance(value, dict)
                or any(not isinstance(v, int) or isinstance(v, bool) for v in value.values())):
            return "usage must be null or an object of integers"
        if key == "reasoning_text" and value is not None and not isinstance(value, str) and (
                not isinstance(value, list) or not value
                or any(not isinstance(x, str) for x in value)):
            return "reasoning_text must be null, a string or a non-empty list of strings"
        if key in ("answer_template", "reasoning_template", "tool_result_template") and \
                not isinstance(value, str):
            return "%s must be a string" % key
        if key in ("answer_text", "tool_calls_text", "stop_reason", "incomplete_reason",
                   "finish_reason", "refusal") and value is not None and not isinstance(value, str):
            return "%s must be null or a string" % key
        if key in ("redacted_thinking", "compaction", "validate_history", "codex_untyped_stream",
                   "codex_completed_event",
                   "prompt_filter_chunk", "omit_done") and not isinstance(value, bool):
            return "%s must be true or false" % key
        if key == "messages_delta_usage" and value not in ("full", "output_only"):
            return "messages_delta_usage must be \"full\" or \"output_only\""
        if key == "item_id_quirk" and not (value is None or isinstance(value, bool)
                                           or value in ("differ", "missing")):
            return "item_id_quirk must be false, true, \"differ\" or \"missing\""
        if key == "web_search_queries" and value is not None and (
                not isinstance(value, list) or any(not isinstance(q, str) for q in value)):
            return "web_search_queries must be null or a list of strings"
        if key == "web_search_results" and value is not None and (
                not isinstance(value, list) or any(
                    not isinstance(r, dict) or not isinstance(r.get("url"), str)
                    or not isinstance(r.get("title", ""), str) for r in value)):
            return "web_search_results must be null or a list of {url, title}"
        if key in ("response_failed", "stream_error") and not (
                value is None or isinstance(value, (bool, dict))):
            return "%s must be null, true or an object" % key
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

ANTHROPIC_FAKE_KEY = "sk-ant-fake-key"


def handle_anthropic_count_tokens(req):
    """Anthropic's own count endpoint (api.anthropic.com), for the
    gateway's exact-count path: a fixed count per character, so tests can
    tell it from the local estimate."""
    if req.headers.get("x-api-key") != ANTHROPIC_FAKE_KEY:
        return json_response(401, {"type": "error", "error": {
            "type": "authentication_error", "message": "invalid x-api-key"}})
    body = req.body if isinstance(req.body, dict) else {}
    model = body.get("model") or ""
    if "." in model or not model.startswith("claude"):
        return json_response(404, {"type": "error", "error": {
            "type": "not_found_error", "message": "model: %s" % model}})
    return json_response(200, {"input_tokens": 100000 + len(json.dumps(body.get("messages")))})


# ---------------------------------------------------------------------------
# Third-party provider side: OpenAI-style /v1/chat/completions, /v1/responses
# and /v1/models, plus /v1/messages (above), authenticated by a fixed key
# sent as x-api-key or Bearer instead of a Copilot token.  Any model name.
# ---------------------------------------------------------------------------

PROVIDER_KEY = "sk-provider-test"
PROVIDER_MODEL_IDS = ["qwen-plus", "qwen-max", "prov-responses-1"]


def provider_key_scheme(req):
    """"x-api-key" or "bearer" when the request carries the provider key."""
    if req.headers.get("x-api-key") == PROVIDER_KEY:
        return "x-api-key"
    if req.auth_token(("bearer",)) == PROVIDER_KEY:
        return "bearer"
    return None


def provider_model(state, model_id):
    """The Copilot entry when the id is one (its limits apply), else a
    generic model that takes every endpoint."""
    model = find_model(state, model_id)
    if model is not None:
        return model
    return _model(model_id, model_id, "Fake Provider", model_id,
                  ctx=200000, prompt=128000, output=64000,
                  supports={"max_thinking_budget": 32000, "min_thinking_budget": 1024,
                            "parallel_tool_calls": True, "streaming": True,
                            "tool_calls": True},
                  endpoints=["/v1/messages", "/chat/completions", "/responses"])


def require_provider_key(fn):
    def wrapped(req):
        if provider_key_scheme(req) is None:
            return openai_error(401, "Incorrect API key provided.", "invalid_api_key",
                                etype="authentication_error")
        resp = fn(req)
        resp.headers.setdefault("x-request-id", "prov-%06d"
                                % (req.record["seq"] if req.record else 0))
        for name, value in req.state.cfg("response_headers").items():
            resp.headers[name] = str(value)
        return resp
    wrapped.__name__ = fn.__name__
    return wrapped


def _provider_body_model(req):
    body = req.body
    if not isinstance(body, dict):
        return None, openai_error(400, "Request body must be a JSON object.",
                                  "invalid_request_body")
    if not isinstance(body.get("model"), str) or not body["model"]:
        return None, openai_error(400, "you must provide a model parameter",
                                  "missing_required_parameter", param="model")
    return provider_model(req.state, body["model"]), None


@require_provider_key
def handle_provider_chat(req):
    _, err = _provider_body_model(req)
    return err or chat_answer(req)


@require_provider_key
def handle_provider_responses(req):
    model, err = _provider_body_model(req)
    return err or responses_answer(req, model)


@require_provider_key
def handle_provider_models(req):
    return json_response(200, {"object": "list", "data": [
        {"id": mid, "object": "model", "created": 1700000000, "owned_by": "fake-provider"}
        for mid in PROVIDER_MODEL_IDS]})



# ---------------------------------------------------------------------------
# Codex side: the OpenAI OAuth server (auth.openai.com: /oauth/authorize,
# /oauth/token; authorization code with PKCE S256, refresh-token rotation)
# and the ChatGPT Codex backend (chatgpt.com/backend-api: POST
# /backend-api/codex/responses, a Responses API that wants the OAuth access
# token and the chatgpt-account-id header, sends a codex.rate_limits event
# first and ends its stream with response.done; GET
# /backend-api/codex/models, its model list).
# ---------------------------------------------------------------------------

CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
CODEX_CLAIM = "https://api.openai.com/auth"


def _b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def codex_jwt(state, account_id, lifetime):
    """An access token shaped like OpenAI's: a JWT whose claim
    https://api.openai.com/auth holds chatgpt_account_id (signed with the
    fake's secret; nobody but the fake checks the signature)."""
    with state.cond:
        state.codex_counter += 1
        n = state.codex_counter
    now = int(time.time())
    head = _b64url(json_bytes({"alg": "HS256", "typ": "JWT"}))
    claims = {"iss": "https://auth.openai.com", "aud": ["https://api.openai.com/v1"],
              "iat": now, "exp": now + int(lifetime), "jti": "fake-%d" % n,
              CODEX_CLAIM: {"chatgpt_account_id": account_id,
                            "chatgpt_plan_type": "plus"}}
    if account_id is None:
        del claims[CODEX_CLAIM]
    body = _b64url(json_bytes(claims))
    sig = _b64url(hmac.new(state.secret, (head + "." + body).encode(), hashlib.sha256).digest())
    return head + "." + body + "." + sig


def codex_oauth_error(status, code, message):
    return json_response(status, {"error": {"message": message, "type": "invalid_request_error",
                                            "param": None, "code": code}})


def handle_codex_authorize(req):
    """The browser step, approved at once: 302 to redirect_uri with code and
    state (what the user's browser is sent to after signing in)."""
    q = req.query
    for name in ("response_type", "client_id", "redirect_uri", "scope", "code_challenge",
                 "code_challenge_method", "state"):
        if not q.get(name):
            return json_response(400, {"error": "invalid_request",
                                       "error_description": "missing %s" % name})
    if q["client_id"] != CODEX_CLIENT_ID:
        return json_response(400, {"error": "invalid_client",
                                   "error_description": "unknown client_id"})
    if q["response_type"] != "code" or q["code_challenge_method"] != "S256":
        return json_response(400, {"error": "invalid_request",
                                   "error_description": "response_type must be code and "
                                                        "code_challenge_method S256"})
    with req.state.cond:
        req.state.codex_counter += 1
        code = "ac_fake%04d%s" % (req.state.codex_counter, uuid.uuid4().hex[:16])
        req.state.codex_codes[code] = {"challenge": q["code_challenge"],
                                       "redirect_uri": q["redirect_uri"]}
    sep = "&" if "?" in q["redirect_uri"] else "?"
    location = q["redirect_uri"] + sep + urllib.parse.urlencode(
        {"code": code, "scope": q["scope"], "state": q["state"]})
    return Response(302, b"", {"Location": location, "Content-Length": "0"})


def _codex_tokens(req):
    cfg = req.state.cfg
    account = cfg("codex_account_id")
    access = codex_jwt(req.state, account, cfg("codex_token_lifetime"))
    refresh = "rt_fake" + uuid.uuid4().hex
    with req.state.cond:
        req.state.codex_access[access] = {"account_id": account, "revoked": False,
                                          "expires_at": time.time() + cfg("codex_token_lifetime")}
        req.state.codex_refresh[refresh] = {"state": "valid"}
    return json_response(200, {"access_token": access, "refresh_token": refresh,
                               "id_token": codex_jwt(req.state, account, 3600),
                               "token_type": "Bearer",
                               "expires_in": int(cfg("codex_token_lifetime"))})


def handle_codex_token(req):
    p = req.params()
    if "x-www-form-urlencoded" not in req.headers.get("content-type", ""):
        return codex_oauth_error(400, "invalid_request", "form body expected")
    if p.get("client_id") != CODEX_CLIENT_ID:
        return codex_oauth_error(401, "invalid_client", "Unknown client_id.")
    grant = p.get("grant_type")
    st = req.state
    if grant == "authorization_code":
        with st.cond:
            info = st.codex_codes.pop(p.get("code", ""), None)
        if info is None:
            return codex_oauth_error(400, "invalid_grant",
                                     "Invalid or expired authorization code.")
        verifier = p.get("code_verifier", "")
        if _b64url(hashlib.sha256(verifier.encode()).digest()) != info["challenge"]:
            return codex_oauth_error(400, "invalid_grant", "PKCE verification failed.")
        if p.get("redirect_uri") != info["redirect_uri"]:
            return codex_oauth_error(400, "invalid_grant", "redirect_uri mismatch.")
        return _codex_tokens(req)
    if grant == "refresh_token":
        with st.cond:
            info = st.codex_refresh.get(p.get("refresh_token", ""))
            prior = info["state"] if info else None
            if info is not None and prior == "valid":
                info["state"] = "used"      # rotation: each refresh token works once
        if prior is None or prior == "revoked":
            return codex_oauth_error(401, "refresh_token_invalidated",
                                     "Your refresh token has been invalidated. "
                                     "Please try signing in again.")
        if prior == "expired":
            return codex_oauth_error(401, "refresh_token_expired",
                                     "Your refresh token has expired. "
                                     "Please try signing in again.")
        if prior == "used":
            return codex_oauth_error(401, "refresh_token_reused",
                                     "Your refresh token has already been used to "
                                     "generate a new access token. Please try signing in again.")
        return _codex_tokens(req)
    return codex_oauth_error(400, "unsupported_grant_type",
                             "Unsupported grant_type %r." % grant)


def codex_rate_limits_event(cfg):
    now = int(time.time())
    window = lambda used, minutes: {"used_percent": used, "window_minutes": minutes,
                                    "reset_after_seconds": minutes * 60,
                                    "reset_at": now + minutes * 60}
    return {"type": "codex.rate_limits", "plan_type": "plus",
            "rate_limits": {"allowed": True, "limit_reached": False,
                            "primary": window(cfg["codex_primary_used"], 300),
                            "secondary": window(12, 10080)}}


def codex_refused(req):
    """The backend's answer to a call without a live access token and its
    account id (None when the call may go on)."""
    token = req.auth_token(("bearer",))
    with req.state.cond:
        info = req.state.codex_access.get(token or "")
    if info is None or info["revoked"] or time.time() >= info["expires_at"]:
        return json_response(401, {"detail": "Could not parse your authentication token. "
                                             "Please try signing in again."})
    if req.headers.get("chatgpt-account-id") != info["account_id"]:
        return json_response(403, {"detail": "chatgpt-account-id does not match the token"})
    return None


# The backend's own model list (GET /backend-api/codex/models, what the
# Codex CLI reads): {"models": [ModelInfo…]} in the shape of codex-rs's
# ModelInfo (a subset of its fields).
CODEX_BACKEND_MODELS = [("gpt-5.5", 272000, 1), ("gpt-5.4", 272000, 2),
                        ("gpt-5.4-mini", 272000, 3), ("gpt-5.3-codex-spark", 128000, 4)]


def handle_codex_models(req):
    refused = codex_refused(req)
    if refused is not None:
        return refused
    levels = [{"effort": e, "description": "%s reasoning" % e}
              for e in ("low", "medium", "high", "xhigh")]
    return json_response(200, {"models": [
        {"slug": slug, "display_name": slug, "description": "Codex model %s" % slug,
         "default_reasoning_level": "medium", "supported_reasoning_levels": levels,
         "shell_type": "shell_command", "visibility": "list", "supported_in_api": True,
         "priority": prio, "context_window": ctx, "input_modalities": ["text", "image"],
         "supports_parallel_tool_calls": True}
        for slug, ctx, prio in CODEX_BACKEND_MODELS]}, headers={"ETag": '"fake-models-1"'})


def handle_codex_responses(req):
    refused = codex_refused(req)
    if refused is not None:
        return refused
    with req.state.cond:
        cfg = copy.deepcopy(req.state.config)
    body = req.body
    if not isinstance(body, dict):
        return json_response(400, {"detail": "Request body must be a JSON object."})
    if body.get("store") is not False:
        return json_response(400, {"detail": "Store must be set to false"})
    if body.get("stream") is not True:
        return json_response(400, {"detail": "Stream must be set to true"})
    for name in ("temperature", "top_p", "max_output_tokens", "metadata"):
        if name in body:
            return json_response(400, {"detail": "Unsupported parameter: %s" % name})
    # The backend takes the system prompt only as instructions (the
    # reference moves system messages there since 1.11, commit 4114f18).
    inp = body.get("input")
    if isinstance(inp, list) and any(isinstance(it, dict) and it.get("role") == "system"
                                     for it in inp):
        return json_response(400, {"detail": "System messages are not allowed"})
    if not isinstance(body.get("model"), str) or not body["model"]:
        return json_response(400, {"detail": "Model is required"})
    resp = responses_answer(req, provider_model(req.state, body["model"]))
    if resp.events is None:
        return resp
    # The stream: rate limits first, response.completed named response.done.
    events = [sse_event(codex_rate_limits_event(cfg), "codex.rate_limits")]
    for raw in resp.events:
        if raw.startswith(b"event: response.completed\n") and \
                not cfg["codex_completed_event"]:
            text = raw.decode()
            data = json.loads(text.split("data: ", 1)[1])
            data["type"] = "response.done"
            raw = sse_event(data, "response.done")
        events.append(raw)
    resp.events = events
    if cfg["codex_untyped_stream"]:
        resp.headers.pop("Content-Type", None)
    return resp


# The backend's Images API (/backend-api/codex/images/{generations,edits},
# what 1.14.7's /v1/images routes call): OpenAI's Images API shapes for the
# GPT image models: generations take JSON, edits a multipart/form-data
# upload (prompt plus one or more image / image[] files); the answer is
# {created, background, data: [{b64_json}], output_format, quality, size,
# usage}; a bad field is OpenAI's 400 {"error": {message, type, param, code}}.
IMAGE_PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9Q"
                 "DwADhgGAWjR9awAAAABJRU5ErkJggg==")        # 1x1 PNG
IMAGE_SIZES = ("1024x1024", "1024x1536", "1536x1024", "auto")
IMAGE_TOKENS_OUT = 1056         # a 1024x1024 medium-quality image
IMAGE_TOKENS_IN = 323           # one input image of an edit


def multipart_fields(req):
    """[(name, filename or None, bytes)] of a multipart/form-data body, or
    None when the body is not one."""
    ctype = req.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data") or "boundary=" not in ctype:
        return None
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.raw_body)
    if not msg.is_multipart():
        return None
    out = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out.append((name, part.get_filename(), part.get_payload(decode=True) or b""))
    return out


def images_answer(prompt, fields, n_inputs):
    n = fields.get("n", 1)
    if isinstance(n, str) and n.isdigit():
        n = int(n)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1 or n > 10:
        return openai_error(400, "Invalid 'n': must be an integer between 1 and 10.",
                            "invalid_value", param="n")
    size = fields.get("size", "auto")
    if size not in IMAGE_SIZES:
        return openai_error(400, "Invalid value: '%s'. Supported values are: '1024x1024', "
                            "'1024x1536', '1536x1024', and 'auto'." % size,
                            "invalid_value", param="size")
    text_tokens = len(prompt.split())
    usage = {"input_tokens": text_tokens + n_inputs * IMAGE_TOKENS_IN,
             "input_tokens_details": {"image_tokens": n_inputs * IMAGE_TOKENS_IN,
                                      "text_tokens": text_tokens},
             "output_tokens": n * IMAGE_TOKENS_OUT,
             "total_tokens": text_tokens + n_inputs * IMAGE_TOKENS_IN + n * IMAGE_TOKENS_OUT}
    common = {"background": fields.get("background", "opaque"),
              "output_format": fields.get("output_format", "png"),
              "quality": fields.get("quality", "medium"),
              "size": "1024x1024" if size == "auto" else size}
    stream = fields.get("stream", False)
    if stream is True or stream == "true":
        return images_stream(fields, common, usage, n_inputs)
    return json_response(200, dict(common, created=int(time.time()),
                                   data=[{"b64_json": IMAGE_PNG_B64} for _ in range(n)],
                                   usage=usage))


def images_stream(fields, common, usage, n_inputs):
    """"stream": true (OpenAI's Images streaming): partial_images (0-3)
    image_generation.partial_image events, then one
    image_generation.completed with the usage; an edit's are
    image_edit.*.  Each event is named by its type."""
    partials = fields.get("partial_images", 0)
    if isinstance(partials, str) and partials.isdigit():
        partials = int(partials)
    if not isinstance(partials, int) or isinstance(partials, bool) or not 0 <= partials <= 3:
        return openai_error(400, "Invalid 'partial_images': must be an integer between 0 "
                            "and 3.", "invalid_value", param="partial_images")
    kind = "image_edit" if n_inputs else "image_generation"
    created = int(time.time())
    events = []
    for i in range(partials):
        ev = dict(common, type=kind + ".partial_image", b64_json=IMAGE_PNG_B64,
                  created_at=created, partial_image_index=i)
        events.append(sse_event(ev, ev["type"]))
    ev = dict(common, type=kind + ".completed", b64_json=IMAGE_PNG_B64,
              created_at=created, usage=usage)
    events.append(sse_event(ev, ev["type"]))
    return sse_response(events)


def handle_codex_images_generations(req):
    refused = codex_refused(req)
    if refused is not None:
        return refused
    if not isinstance(req.body, dict):
        return openai_error(400, "We could not parse the JSON body of your request.",
                            "invalid_json")
    prompt = req.body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return openai_error(400, "Missing required parameter: 'prompt'.",
                            "missing_required_parameter", param="prompt")
    return images_answer(prompt, req.body, 0)


def handle_codex_images_edits(req):
    refused = codex_refused(req)
    if refused is not None:
        return refused
    parts = multipart_fields(req)
    if parts is None:
        return openai_error(400, "Invalid Content-Type header (%s), expected "
                            "multipart/form-data." % req.headers.get("content-type", ""),
                            "invalid_content_type")
    fields = {name: data.decode("utf-8", "replace") for name, fname, data in parts
              if fname is None and name}
    images = [data for name, fname, data in parts if name in ("image", "image[]") and fname]
    prompt = fields.get("prompt", "")
    if not prompt:
        return openai_error(400, "Missing required parameter: 'prompt'.",
                            "missing_required_parameter", param="prompt")
    if not images:
        return openai_error(400, "Missing required parameter: 'image'.",
                            "missing_required_parameter", param="image")
    return images_answer(prompt, fields, len(images))


# The backend's search (/backend-api/codex/alpha/search, what 1.14.7's
# /v1/alpha/search forwards to, a23edf6): a JSON body of the shape the
# reference's own test sends (id, model, input items as in Responses,
# commands, settings, max_output_tokens); the answer is {"results":
# [{"title"}]}, here one result per input_text of the user's messages.
def handle_codex_alpha_search(req):
    refused = codex_refused(req)
    if refused is not None:
        return refused
    body = req.body
    if not isinstance(body, dict):
        return json_response(400, {"detail": "Request body must be a JSON object."})
    inp = body.get("input")
    if not isinstance(inp, list):
        return json_response(400, {"detail": "Input must be a list."})
    results = []
    for item in inp:
        if isinstance(item, dict) and item.get("role") == "user" and \
                isinstance(item.get("content"), list):
            results += [{"title": part["text"]} for part in item["content"]
                        if isinstance(part, dict) and part.get("type") == "input_text"
                        and isinstance(part.get("text"), str)]
    return json_response(200, {"results": results})


def ctl_codex(req):
    """{"refresh": "expired"|"revoked"} marks every refresh token issued so
    far; {"revoke_access": true} revokes every access token."""
    body = req.body if isinstance(req.body, dict) else {}
    with req.state.cond:
        if body.get("refresh") in ("expired", "revoked"):
            for info in req.state.codex_refresh.values():
                info["state"] = body["refresh"]
        if body.get("revoke_access"):
            for info in req.state.codex_access.values():
                info["revoked"] = True
        return json_response(200, {"ok": True, "access": len(req.state.codex_access),
                                   "refresh": len(req.state.codex_refresh)})


ROUTES = {
    ("POST", "/login/device/code"): handle_device_code,
    ("POST", "/login/oauth/access_token"): handle_access_token,
    ("GET", "/user"): handle_user,
    ("GET", "/copilot_internal/v2/token"): handle_copilot_token,
    ("GET", "/copilot_internal/user"): handle_copilot_user,
    ("GET", "/models"): handle_models,
    ("POST", "/chat/completions"): handle_chat_completions,
    ("POST", "/embeddings"): handle_embeddings,
    ("POST", "/v1/messages"): handle_messages,
    ("POST", "/v1/messages/count_tokens"): handle_anthropic_count_tokens,
    ("POST", "/responses"): handle_responses,
    ("POST", "/v1/chat/completions"): handle_provider_chat,
    ("POST", "/v1/responses"): handle_provider_responses,
    ("GET", "/v1/models"): handle_provider_models,
    ("GET", "/oauth/authorize"): handle_codex_authorize,
    ("POST", "/oauth/token"): handle_codex_token,
    ("POST", "/backend-api/codex/responses"): handle_codex_responses,
    ("GET", "/backend-api/codex/models"): handle_codex_models,
    ("POST", "/backend-api/codex/images/generations"): handle_codex_images_generations,
    ("POST", "/backend-api/codex/images/edits"): handle_codex_images_edits,
    ("POST", "/backend-api/codex/alpha/search"): handle_codex_alpha_search,
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
    ("POST", "/_fake/codex"): ctl_codex,
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
        if "websocket" in headers.get("upgrade", "").lower() and self.command == "GET":
            FakeWebSocket(self, path, query, headers, header_list, started).run()
            return
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

        login = self._login(req, path)
        if login is not None:
            state.update_record(record, login=login)
        fault = state.take_fault(self.command, path, body, login=login)
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

    @staticmethod
    def _login(req, path):
        """Whose request: the GitHub user of its bearer (GitHub side: the GitHub
        token itself; Copilot side: the one its Copilot token was issued for)."""
        bearer = req.auth_token(("bearer", "token"))
        if not bearer:
            return None
        github_side = path.startswith(("/copilot_internal/", "/user"))
        return req.state.login_of(bearer if github_side else req.state.github_of_copilot(bearer))

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

    def _pause(self, done, seconds, gone=None):
        """Wait until done() (under the state lock) or timeout, watching the
        client (gone: how to tell it left; default _peer_closed)."""
        gone = gone or self._peer_closed
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
            if gone():
                return "disconnected"

    def _hold(self, name, timeout, gone=None):
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
            outcome = self._pause(released, timeout, gone)
            if outcome == "timeout":
                sys.stderr.write("fake_upstream: hold %r not released after %.1fs, continuing\n"
                                 % (name, timeout))
            return outcome
        finally:
            with state.cond:
                state.holding[name] -= 1
                state.cond.notify_all()


# ---------------------------------------------------------------------------
# Copilot's Responses over WebSocket (GET /responses + Upgrade: websocket)
# ---------------------------------------------------------------------------

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_frame(opcode, payload, fin=True, mask=None):
    """One frame; server frames are unmasked, a client's (tests) masked."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n <= 0xFFFF:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if mask is not None:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def ws_read_frame(rfile):
    """(fin, opcode, payload, masked) from a stream, or None at EOF."""
    h = rfile.read(2)
    if len(h) < 2:
        return None
    fin, opcode = bool(h[0] & 0x80), h[0] & 0x0F
    masked, n = bool(h[1] & 0x80), h[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", rfile.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", rfile.read(8))[0]
    mask = rfile.read(4) if masked else None
    payload = rfile.read(n)
    if len(payload) < n:
        return None
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return fin, opcode, payload, masked


class FakeWebSocket:
    """The server side of the Responses WebSockets, by hand (RFC 6455):
    Copilot's (/responses) and the Codex backend's
    (/backend-api/codex/responses).

    The upgrade needs the path's bearer (a Copilot token, a Codex access
    token; else 401) and is recorded as GET with "ws": "upgrade".  Each
    {"type":"response.create",…} text message is answered as the path's POST
    with stream true would be (WS_ROUTES), one event per text message, and recorded with method "WS" (its body: the
    frame; its headers: the upgrade's; "connection": the upgrade's seq).
    Faults: an upgrade takes only a fault naming method GET (kind status:
    refuse with it); a message takes one naming method WS or none, as the
    POST it stands for would (status: an error message; drop_after: close
    after `events` messages, with close code `close_code` or, without one,
    no close frame; stall: `seconds` of silence after `events`; hold: held
    after `events` until released).  Config ws_refuse refuses every
    upgrade, ws_fragment splits every message, write_delay paces them.
    """

    def __init__(self, handler, path, query, headers, header_list, started):
        self.h = handler
        self.path = path
        self.headers = headers
        self.state = handler.server.state
        self.record = self.state.add_record({
            "time": started, "method": "GET", "path": path, "query": query,
            "query_string": "", "headers": headers, "header_list": header_list,
            "body": None, "body_bytes": 0, "status": None, "stream": False,
            "fault": None, "writes": 0, "finished": False, "completed": False,
            "client_disconnected": False, "dropped": False, "ws": "upgrade",
            "messages": 0})

    def refuse(self, status, body):
        self.state.update_record(self.record, status=status, finished=True)
        self.h.close_connection = True
        self.h._send_simple(json_response(status, body))
        self.h._log("GET", self.path, status, " websocket refused")

    def run(self):
        h, st = self.h, self.state
        token = h.headers.get("Authorization", "")
        token = token[7:] if token.lower().startswith("bearer ") else ""
        fault = st.take_fault("GET", self.path, None, explicit=True)
        refuse = st.cfg("ws_refuse")
        if self.path not in WS_ROUTES:
            return self.refuse(404, {"error": {"message": "no WebSocket here"}})
        if self.path == "/responses" and not st.copilot_token_valid(token):
            return self.refuse(401, UNAUTHORIZED_BODY)
        if self.path != "/responses":
            with st.cond:
                info = st.codex_access.get(token)
            if info is None or info["revoked"] or time.time() >= info["expires_at"]:
                return self.refuse(401, {"detail": "Could not parse your authentication "
                                                   "token. Please try signing in again."})
        if fault and fault["kind"] == "status":
            return self.refuse(fault["status"], fault.get("body", {"error": {
                "message": "fake upstream refused the upgrade", "type": "error"}}))
        if refuse:
            return self.refuse(int(refuse), {"error": {"message": "websocket not available"}})
        key = self.headers.get("sec-websocket-key", "")
        h.close_connection = True
        h.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                       % ws_accept(key)).encode())
        h.wfile.flush()
        st.update_record(self.record, status=101)
        h._log("GET", self.path, 101, " websocket")
        try:
            self.serve()
        except CLIENT_GONE + (OSError,):
            st.note_disconnect(self.record)
        st.update_record(self.record, finished=True)

    def send(self, opcode, payload):
        frag = int(self.state.cfg("ws_fragment") or 0)
        if opcode != 0x1 or frag <= 0 or len(payload) <= frag:
            self.h.wfile.write(ws_frame(opcode, payload))
        else:
            pieces = [payload[i:i + frag] for i in range(0, len(payload), frag)]
            for i, p in enumerate(pieces):
                self.h.wfile.write(ws_frame(opcode if i == 0 else 0x0, p,
                                            fin=i == len(pieces) - 1))
                self.h.wfile.flush()
        self.h.wfile.flush()

    def close(self, code, reason=""):
        self.h.wfile.write(ws_frame(0x8, struct.pack("!H", code) + reason.encode()))
        self.h.wfile.flush()

    def serve(self):
        msg, op = b"", None
        while True:
            f = ws_read_frame(self.h.rfile)
            if f is None:
                self.state.update_record(self.record, eof=True)
                return
            fin, opcode, payload, masked = f
            if not masked:
                return self.close(1002, "client frames must be masked")
            if opcode == 0x8:
                self.state.update_record(self.record, closed_by_client=True)
                return self.close(1000)
            if opcode == 0x9:
                self.send(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            msg = payload if opcode != 0x0 else msg + payload
            op = opcode if opcode != 0x0 else op
            if not fin:
                continue
            if not self.message(msg):
                return
            msg = b""

    def message(self, raw):
        """Answers one message; False when the connection is to end."""
        st = self.state
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        rec = st.add_record({
            "time": time.time(), "method": "WS", "path": self.path, "query": {},
            "query_string": "", "headers": self.headers, "header_list": [],
            "body": body, "body_bytes": len(raw), "status": None, "stream": True,
            "fault": None, "writes": 0, "finished": False, "completed": False,
            "client_disconnected": False, "dropped": False,
            "connection": self.record["seq"]})
        with st.cond:
            self.record["messages"] += 1
        if not isinstance(body, dict) or body.get("type") != "response.create":
            self.send(0x1, json_bytes({"type": "error", "error": {
                "code": "invalid_request", "message": "expected a response.create message"}}))
            st.update_record(rec, status=400, finished=True)
            return True
        fault = st.take_fault("WS", self.path, body)
        kind = fault["kind"] if fault else None
        if fault:
            st.update_record(rec, fault=kind)
        events = self.answer(body, fault)
        delay = float(st.cfg("write_delay"))
        k = len(events) if kind not in ("drop_after", "stall", "hold") else \
            max(0, min(int(fault.get("events", 1)), len(events)))
        if not self.write(events[:k], delay, rec):
            return False
        if kind == "drop_after":
            st.update_record(rec, dropped=True, finished=True)
            if fault.get("close_code"):
                self.close(int(fault["close_code"]), fault.get("reason", "fake upstream closing"))
            self.h._abort(bool(fault.get("reset")))
            return False
        if kind in ("stall", "hold"):
            outcome = self.h._pause(lambda: False, float(fault["seconds"]),
                                    gone=self.client_spoke) if kind == "stall" \
                else self.h._hold(fault.get("name", "default"), float(st.cfg("hold_timeout")),
                                  gone=self.client_spoke)
            if outcome == "disconnected":
                st.note_disconnect(rec)
                st.update_record(rec, finished=True)
                return False
            if not self.write(events[k:], delay, rec):
                return False
        st.update_record(rec, completed=True, finished=True, status=200)
        self.h._log("WS", self.path, 200, " websocket message" + (" fault=%s" % kind if kind else ""))
        return True

    def write(self, events, delay, rec):
        """Sends events; False (noted) when the client left meanwhile."""
        for ev in events:
            if self.client_spoke():
                self.state.note_disconnect(rec)
                self.state.update_record(rec, finished=True)
                return False
            self.send(0x1, ev)
            rec["writes"] += 1
            if delay:
                time.sleep(delay)
        return True

    def client_spoke(self):
        """Mid-response a client sends nothing but a close (or hangs up)."""
        try:
            readable, _, _ = select.select([self.h.connection], [], [], 0)
            return bool(readable)
        except (OSError, ValueError):
            return True

    def answer(self, body, fault):
        """The events (JSON bytes) of one response.create."""
        if fault and fault["kind"] == "status":
            err = fault.get("body", {}).get("error", {}) if isinstance(fault.get("body"), dict) else {}
            return [json_bytes({"type": "error", "sequence_number": 0, "error": {
                "code": err.get("code", "fake_error"),
                "message": err.get("message", "fake upstream error")}})]
        payload = {k: v for k, v in body.items() if k not in ("type", "initiator")}
        payload["stream"] = True
        req = Request(self.state, "POST", self.path, {}, self.headers,
                      json_bytes(payload), payload, None)
        resp = WS_ROUTES[self.path](req)
        if resp.events is not None:
            events = [json.loads(e.decode().split("data: ", 1)[1]) for e in resp.events]
            snaps = self.state.cfg("ws_quota_snapshots")
            for ev in events:
                # Copilot's quota telemetry rides on its own WebSocket's end
                if snaps is not None and self.path == "/responses" and \
                        ev.get("type") == "response.completed":
                    ev["copilot_quota_snapshots"] = snaps
            return [json_bytes(ev) for ev in events]
        detail = json.loads(resp.body.decode())
        err = detail.get("error") if isinstance(detail.get("error"), dict) else {
            "code": None, "message": detail.get("detail") or json.dumps(detail)}
        return [json_bytes({"type": "error", "sequence_number": 0, "error": {
            "code": err.get("code"), "message": err.get("message")}})]


# What each WebSocket path answers, as the POST it stands for.
WS_ROUTES = {
    "/responses": handle_responses,
    "/backend-api/codex/responses": handle_codex_responses,
}


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
