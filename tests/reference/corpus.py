"""The differential corpus, shared by record.py (the reference side, by hand)
and replay.py (our side, in make check): loading cases, driving one case
against a gateway and its own fake upstream, and the normaliser both sides go
through before anything is written or compared.

A case is one JSON file under cases/<group>/<name>.json; its id is
"<group>/<name>".  See README.md for the format."""

import copy
import difflib
import http.client
import json
import os
import re
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
REF_VERSION = {"version": "1.10.10", "commit": "8e73c65"}

API_KEY = "sk-test-regular-0123456789"
ADMIN_KEY = "a" * 64
WRONG_KEY = "sk-wrong-key"

# Upstream calls that are start-up or cache traffic: the reference makes them
# once at start-up, we make them lazily; neither is the case's traffic.
IGNORED_UPSTREAM = ("/copilot_internal/v2/token", "/models", "/user",
                    "/login/device/code", "/login/oauth/access_token")

# The upstream request headers that matter (billing, routing, caching).
UPSTREAM_HEADERS = ("x-initiator", "copilot-vision-request", "openai-intent",
                    "x-interaction-type", "anthropic-beta", "editor-version",
                    "editor-plugin-version", "copilot-integration-id",
                    "content-type", "x-github-api-version", "x-api-key",
                    "anthropic-version",
                    # the codex provider's backend calls
                    "chatgpt-account-id", "openai-beta", "originator")
# Client response headers that matter.
RESPONSE_HEADERS = ("content-type", "retry-after",
                    # Copilot's quota headers, passed on with a 429
                    "x-usage-ratelimit-session", "x-usage-ratelimit-weekly")


# --- loading ---------------------------------------------------------------

def case_files():
    out = []
    for group in sorted(os.listdir(CASES)):
        d = os.path.join(CASES, group)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(".json"):
                out.append(("%s/%s" % (group, name[:-5]), os.path.join(d, name)))
    return out


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save(path, case):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(case, f, indent=1, ensure_ascii=False, sort_keys=False)
        f.write("\n")


def corpus_config(fake_url, overlay=None):
    """config.json for either gateway: "{FAKE}" becomes the side's fake;
    overlay (a case's "config") is merged in, objects key by key."""
    with open(os.path.join(HERE, "config.json"), encoding="utf-8") as f:
        text = f.read()
    if overlay:
        text = json.dumps(merged(json.loads(text), overlay))
    return json.loads(text.replace("{FAKE}", fake_url))


def merged(base, extra):
    """A copy of base with extra merged in: objects key by key, anything
    else replaced."""
    out = copy.deepcopy(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merged(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# Fake settings both gateways read once at start-up (the reference loads the
# model list and copilot_internal/user when it starts): a case whose fake
# config holds one of them runs in a gateway started with the fake so set.
STARTUP_FAKE_KEYS = ("models_extra", "models_hide", "user_overrides")


def startup_fake(case):
    cfg = (case.get("fake") or {}).get("config") or {}
    return {k: cfg[k] for k in STARTUP_FAKE_KEYS if k in cfg}


def groups(cases):
    """cases ([(id, path)]) grouped by what their gateway must be started
    with: [(config overlay, start-up fake config, [(id, path, case)])], the
    default group (nothing of either) first, then in order of first
    appearance."""
    out = {json.dumps([{}, {}]): ({}, {}, [])}
    for cid, path in cases:
        case = load(path)
        overlay, start = case.get("config") or {}, startup_fake(case)
        key = json.dumps([overlay, start], sort_keys=True)
        out.setdefault(key, (overlay, start, []))[2].append((cid, path, case))
    return [g for g in out.values() if g[2]]


def group_name(overlay, start):
    """One line naming a group, for progress and failure messages."""
    if not overlay and not start:
        return "default config"
    parts = []
    if overlay:
        parts.append("config " + json.dumps(overlay, sort_keys=True))
    if start:
        parts.append("fake at start-up: " + ", ".join(sorted(start)))
    return "; ".join(parts)


# --- normaliser --------------------------------------------------------------

ID_KEYS = {"id", "item_id", "call_id", "tool_use_id", "response_id",
           "previous_response_id", "system_fingerprint", "request_id",
           "encrypted_content", "signature", "analytics_tracking_id", "trace_id"}
# history-dependent counters (row ids and totals of /token-usage/events)
COUNT_KEYS = {"total", "total_pages"}
TIME_KEYS = {"created", "created_at", "completed_at", "timestamp", "expires_at",
             "refresh_in", "first_seen", "last_seen", "created_at_ms",
             "reset_at", "start_ms", "end_ms"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
PORT = re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):\d+")
COPILOT_TOKEN = re.compile(r"tid=[^\s\"]*")
LOCAL_PATH = re.compile(r"(/[^\s\"/]+)+/(?=config\.json|[^\s\"/]+\.(db|sqlite|json|jsonl)\b)")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")


class Normaliser:
    """Replaces what differs from run to run by placeholders; ids are numbered
    in order of first appearance, so that an id reused inside one case (a
    tool_use id answered by its tool_result) still shows as the same id."""

    def __init__(self):
        self.ids = {}

    def ident(self, v):
        if v not in self.ids:
            self.ids[v] = "<id%d>" % (len(self.ids) + 1)
        return self.ids[v]

    def string(self, s):
        s = COPILOT_TOKEN.sub("<copilot-token>", s)
        s = UUID.sub(lambda m: self.ident(m.group(0).lower()), s)
        s = ISO_TIME.sub("<time>", s)
        s = LOCAL_PATH.sub("<dir>/", s)
        return PORT.sub(r"\1:<port>", s)

    def value(self, v, key=None):
        if isinstance(v, dict):
            return {k: self.value(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x, key) for x in v]
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if key in TIME_KEYS and number:
            return "<time>"
        if (key in COUNT_KEYS or key == "id") and number:
            return "<n>"
        if isinstance(v, str):
            if key in ID_KEYS and v:
                prefix = re.match(r"^((msg|chatcmpl|resp|call|toolu|srvtoolu|fc|rs|fp|item|cmpl|ctc)[_-])", v)
                return (prefix.group(1) if prefix else "") + self.ident(v)
            if key in TIME_KEYS:
                return "<time>"
            return self.string(v)
        if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
            return int(v)
        return v


# --- one case against one gateway --------------------------------------------

def fake_call(fake_url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(fake_url + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
    return json.loads(raw) if raw else None


def prepare_fake(fake_url, case):
    fake_call(fake_url, "POST", "/_fake/reset", {})
    setup = case.get("fake") or {}
    if setup.get("config"):
        fake_call(fake_url, "POST", "/_fake/config", setup["config"])
    if setup.get("faults"):
        fake_call(fake_url, "POST", "/_fake/faults", {"faults": setup["faults"]})
    fake_call(fake_url, "DELETE", "/_fake/requests")


def codex_credentials(fake_url):
    """Signs the built-in codex provider in at the fake's OAuth server, as a
    browser would (authorize, then the code exchanged with its PKCE
    verifier): {accessToken, refreshToken, expiresAt (ms), accountId}, the
    shape of the reference's codex_credentials.json and of our database
    row.  The fake keeps codex tokens across /_fake/reset."""
    import base64
    import hashlib
    import time
    import urllib.parse
    verifier = "corpus-" + "v" * 40
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://localhost:1455/auth/callback"
    q = urllib.parse.urlencode({
        "response_type": "code", "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
        "redirect_uri": redirect, "scope": "openid profile email offline_access",
        "code_challenge": challenge, "code_challenge_method": "S256", "state": "s"})
    host, port = re.match(r"http://([^:/]+):(\d+)", fake_url).groups()
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("GET", "/oauth/authorize?" + q)
    r = c.getresponse()
    r.read()
    c.close()
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
        r.getheader("location")).query))["code"]
    form = urllib.parse.urlencode({
        "grant_type": "authorization_code", "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
        "code": code, "code_verifier": verifier, "redirect_uri": redirect}).encode()
    req = urllib.request.Request(fake_url + "/oauth/token", data=form, headers={
        "content-type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        tok = json.loads(resp.read())
    claim = tok["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(claim + "=" * (-len(claim) % 4)))
    return {"accessToken": tok["access_token"], "refreshToken": tok["refresh_token"],
            "expiresAt": int(time.time() * 1000) + tok["expires_in"] * 1000,
            "accountId": claims["https://api.openai.com/auth"]["chatgpt_account_id"]}


def send(base_url, req, timeout=60):
    host, port = re.match(r"http://([^:/]+):(\d+)", base_url).groups()
    body = req.get("body")
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    if req.get("encode") == "zstd":
        # sent compressed (Content-Encoding: zstd, as the Codex CLI does);
        # "cut": that many bytes fewer, a frame cut short
        data = zstd_compress(data or b"")[:-req["cut"] if req.get("cut") else None]
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        c.request(req.get("method", "POST"), req["path"], body=data,
                  headers=client_headers(req))
        r = c.getresponse()
        raw = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), raw
    finally:
        c.close()


def zstd_compress(data):
    """data as one zstd frame, through libzstd itself (the gateway links it;
    Debian 12's python3 has no zstd module)."""
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
    lib.ZSTD_compressBound.restype = ctypes.c_size_t
    lib.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
    lib.ZSTD_compress.restype = ctypes.c_size_t
    lib.ZSTD_compress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                  ctypes.c_size_t, ctypes.c_int]
    lib.ZSTD_isError.restype = ctypes.c_uint
    lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
    cap = lib.ZSTD_compressBound(len(data))
    out = ctypes.create_string_buffer(cap)
    n = lib.ZSTD_compress(out, cap, data, len(data), 3)
    if lib.ZSTD_isError(n):
        raise ValueError("zstd compression failed")
    return out.raw[:n]


def client_headers(req):
    h = {}
    if req.get("body") is not None:
        h["content-type"] = "application/json"
    if req.get("encode") == "zstd":
        h["content-encoding"] = "zstd"
    auth = req.get("auth", "regular")
    key = {"regular": API_KEY, "admin": ADMIN_KEY, "wrong": WRONG_KEY}.get(auth)
    if key:
        h["authorization"] = "Bearer " + key
    h.update(req.get("headers") or {})
    return h


def parse_sse(raw):
    events, event, data = [], None, []
    for line in raw.decode("utf-8", "replace").replace("\r\n", "\n").split("\n"):
        if line == "":
            if data:
                text = "\n".join(data)
                try:
                    payload = json.loads(text)
                except ValueError:
                    payload = text
                ev = {"data": payload}
                if event is not None:
                    ev = {"event": event, "data": payload}
                events.append(ev)
            event, data = None, []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[6:] if line[5:6] == " " else line[5:])
    return [e for e in events if e.get("event") != "ping"]


def run(base_url, fake_url, case, timeout=60):
    """Sends the case's "before" requests (not observed; e.g. the request
    whose usage row a /token-usage case then reads), then its request to the gateway at base_url (whose upstream is
    fake_url) and returns the observation, normalised:
    {"upstream": [...], "response": {...}}."""
    prepare_fake(fake_url, case)
    for before in case.get("before") or []:
        send(base_url, before, timeout)
    if case.get("before"):
        fake_call(fake_url, "DELETE", "/_fake/requests")
    status, headers, raw = send(base_url, case["request"], timeout)
    got = fake_call(fake_url, "GET", "/_fake/requests")["requests"]
    obs = observe(status, headers, raw, got)
    if case.get("compare") == "stream-end" and "events" in obs["response"]:
        # What the reference relays before a dropped connection depends on
        # timing; only how the stream ends is compared.
        ev = obs["response"].pop("events")
        obs["response"]["stream_end"] = {"ends_with_error_event": bool(ev) and (
            ev[-1].get("event") == "error" or ev[-1].get("data") == "[DONE]"
            and len(ev) > 1 and ev[-2].get("event") == "error")}
    if case.get("compare") == "shape" and "body" in obs["response"]:
        # Totals of the whole usage history (/token-usage, /daily) depend on
        # every case before: what is compared is the answer's shape (its
        # keys, a list by its first element, every value by its type).
        obs["response"]["body"] = shape(obs["response"]["body"])
    return obs


def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(x) for x in v[:1]]
    if isinstance(v, bool) or v is None:
        return v
    return "<n>" if isinstance(v, (int, float)) else "<s>"


def ctype_norm(v):
    """application/json; charset=UTF-8 and application/json are one type."""
    return v.replace(" ", "").lower().replace(";charset=utf-8", "")


def observe(status, headers, raw, records):
    n = Normaliser()
    upstream = []
    for rec in records:
        if rec["path"] in IGNORED_UPSTREAM:
            continue
        h = {k: rec["headers"][k] for k in UPSTREAM_HEADERS if k in rec["headers"]}
        if "authorization" in rec["headers"]:
            h["authorization"] = rec["headers"]["authorization"].split(" ")[0].lower()
        if "content-type" in h:
            h["content-type"] = ctype_norm(h["content-type"])
        u = {"method": rec["method"], "path": rec["path"], "headers": h}
        if rec.get("query_string"):
            u["query"] = rec["query_string"]
        if rec.get("body") not in (None, ""):
            u["body"] = rec["body"]
        upstream.append(n.value(u))
    resp = {"status": status}
    h = {}
    for k in RESPONSE_HEADERS:
        if k in headers:
            h[k] = ctype_norm(headers[k]) if k == "content-type" else headers[k]
    resp["headers"] = h
    ctype = headers.get("content-type", "")
    if "text/event-stream" in ctype:
        resp["events"] = parse_sse(raw)
    else:
        try:
            resp["body"] = json.loads(raw) if raw else None
        except ValueError:
            resp["body"] = raw.decode("utf-8", "replace")
    resp = n.value(resp)
    return {"upstream": upstream, "response": resp}


# --- comparing ---------------------------------------------------------------

def strip(observation):
    o = copy.deepcopy(observation)
    for k in ("version", "commit"):
        o.pop(k, None)
    return times(o)


def times(v, key=None):
    """v with every number under a TIME_KEYS key a "<time>", as the
    normaliser writes it now (cases recorded before a key joined TIME_KEYS
    still hold the number, or its shape "<n>" where ours shows "<s>")."""
    if isinstance(v, dict):
        return {k: times(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [times(x, key) for x in v]
    if key in TIME_KEYS and (v in ("<n>", "<s>") or isinstance(v, (int, float))
                             and not isinstance(v, bool)):
        return "<time>"
    return v


def diff(expected, got, limit=60):
    """A short unified diff of two observations; empty when equal."""
    a = json.dumps(strip(expected), indent=1, sort_keys=True, ensure_ascii=False).splitlines()
    b = json.dumps(strip(got), indent=1, sort_keys=True, ensure_ascii=False).splitlines()
    if a == b:
        return ""
    lines = list(difflib.unified_diff(a, b, "reference", "ours", lineterm="", n=2))
    if len(lines) > limit:
        lines = lines[:limit] + ["... (%d more lines)" % (len(lines) - limit)]
    return "\n".join(lines)
