#!/usr/bin/env python3
"""Seed inputs for the harnesses that have no hand-made seeds: the
translator fixtures in tests/fixtures as they are, requests built from
them with an upstream answer each (fuzz_gateway) and the query forms the
usage pages send (fuzz_token_usage).

    python3 tests/fuzz/seeds.py OUTDIR

writes OUTDIR/NAME/ for each; `make fuzz-merge` then
minimises them into tests/fuzz/corpus/ (the corpus in the repository is
the minimised result, so this runs only when the seeds should grow)."""
import hashlib
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures")
KEY = "Bearer sk-fuzz"
MARK = b"\0--upstream--\0"


def fixtures(sub, suffix):
    d = os.path.join(FIX, sub)
    return [os.path.join(d, f) for f in sorted(os.listdir(d))
            if f.endswith(suffix)]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def request(method, uri, body=b"", auth=KEY, extra=(), upstream=None):
    params = ["REQUEST_METHOD=" + method, "REQUEST_URI=" + uri,
              "CONTENT_TYPE=application/json",
              "CONTENT_LENGTH=%d" % len(body)]
    if auth is not None:
        params.append("HTTP_AUTHORIZATION=" + auth)
    params.extend(extra)
    data = b"".join(p.encode() + b"\0" for p in params) + b"\0" + body
    if upstream is not None:
        status, ctype, ubody = upstream
        data += MARK + ("%d %s\n" % (status, ctype)).encode() + ubody
    return data


def with_model(path, model, stream):
    try:
        doc = json.loads(read(path))
    except ValueError:
        return read(path)
    if not isinstance(doc, dict):
        return read(path)
    doc["model"] = model
    doc["stream"] = stream
    return json.dumps(doc).encode()


def cycle(items):
    i = 0
    while True:
        yield items[i % len(items)]
        i += 1


def gateway():
    out = []
    sse, js = "text/event-stream", "application/json"
    chat_json = cycle(fixtures("anthropic_chat/response", ".in.json"))
    chat_sse = cycle(fixtures("anthropic_chat/stream", ".in.sse"))
    resp_json = cycle(fixtures("anthropic_responses/result", ".in.json"))
    resp_sse = cycle(fixtures("anthropic_responses/stream", ".in.sse"))
    native_sse = cycle(fixtures("anthropic_chat/stream", ".out.sse"))
    # /v1/messages through each flow: Chat (gpt-4o), Responses (gpt-5),
    # native (claude-sonnet-4)
    for f in fixtures("anthropic_chat/request", ".in.json"):
        out.append(request("POST", "/v1/messages", with_model(f, "gpt-4o", False),
                           upstream=(200, js, read(next(chat_json)))))
        out.append(request("POST", "/v1/messages", with_model(f, "gpt-4o", True),
                           upstream=(200, sse, read(next(chat_sse)))))
    for f in fixtures("anthropic_responses/request", ".in.json"):
        out.append(request("POST", "/v1/messages", with_model(f, "gpt-5", False),
                           upstream=(200, js, read(next(resp_json)))))
        out.append(request("POST", "/v1/messages", with_model(f, "gpt-5", True),
                           upstream=(200, sse, read(next(resp_sse)))))
    for f in fixtures("native_messages", ".in.json"):
        out.append(request("POST", "/v1/messages",
                           with_model(f, "claude-sonnet-4", True),
                           upstream=(200, sse, read(next(native_sse)))))
        out.append(request("POST", "/v1/messages/count_tokens",
                           with_model(f, "claude-sonnet-4", False)))
    for f in fixtures("responses_prepare", ".in.json"):
        out.append(request("POST", "/v1/responses", read(f),
                           upstream=(200, js, read(next(resp_json)))))
    for f in fixtures("responses_passthrough", ".in.sse"):
        body = b'{"model":"gpt-5","input":"hi","stream":true}'
        out.append(request("POST", "/responses", body,
                           upstream=(200, sse, read(f))))
    chat = b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]'
    for f in fixtures("anthropic_chat/response", ".in.json")[:8]:
        out.append(request("POST", "/v1/chat/completions", chat + b"}",
                           upstream=(200, js, read(f))))
    for f in fixtures("anthropic_chat/stream", ".in.sse")[:8]:
        out.append(request("POST", "/chat/completions",
                           chat + b',"stream":true}', upstream=(200, sse, read(f))))
    for f in fixtures("provider/chat", ".in.json")[:6]:
        out.append(request("POST", "/myprov/v1/messages", read(f)))
    err = b'{"error":{"message":"no","type":"invalid_request_error"}}'
    for status in (400, 401, 403, 404, 413, 429, 500, 502, 503):
        out.append(request("POST", "/v1/messages",
                           b'{"model":"gpt-4o","max_tokens":9,"messages":'
                           b'[{"role":"user","content":"hi"}],"stream":true}',
                           upstream=(status, js, err)))
        out.append(request("POST", "/v1/chat/completions", chat + b"}",
                           upstream=(status, js, err)))
    out.append(request("POST", "/v1/embeddings",
                       b'{"model":"text-embedding-3-small","input":["a","b"]}',
                       upstream=(200, js, b'{"object":"list","data":[{"object":'
                                 b'"embedding","index":0,"embedding":[0.1]}]}')))
    models = b'{"data":[{"id":"gpt-4o","object":"model"}]}'
    for m, u in (("GET", "/v1/models"), ("GET", "/models"), ("GET", "/"),
                 ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
                 ("GET", "/usage-viewer"), ("GET", "/usage-viewer/"),
                 ("GET", "/token"), ("GET", "/admin/config/model-mappings"),
                 ("GET", "/admin/approvals"), ("GET", "/myprov/v1/models"),
                 ("GET", "/nowhere"), ("DELETE", "/v1/messages"),
                 ("GET", "/v1/messages")):
        out.append(request(m, u, upstream=(200, js, models)))
    out.append(request("GET", "/usage", upstream=(
        200, js, b'{"copilot_plan":"individual","quota_snapshots":{"chat":'
        b'{"entitlement":100,"remaining":50,"unlimited":false}}}')))
    for q in token_usage_queries():
        out.append(request("GET", q))
    out.append(request("POST", "/v1/messages", b"{}", auth="Bearer nope"))
    out.append(request("POST", "/v1/messages", b"{}", auth=None,
                       extra=("HTTP_X_API_KEY=sk-fuzz",)))
    out.append(request("OPTIONS", "/v1/messages", auth=None,
                       extra=("HTTP_ORIGIN=http://x.example",
                              "HTTP_ACCESS_CONTROL_REQUEST_METHOD=POST")))
    out.append(request("POST", "/v1/messages", b'{"messages":[}'))
    out.append(request("POST", "/v1/messages", b'{"model":"h\\u0000i"}'))
    out.append(request("POST", "/v1/messages", b'{"model":"h\0i"}'))
    return out


def token_usage_queries():
    qs = []
    for path in ("/token-usage", "/token-usage/daily", "/token-usage/events"):
        for q in ("", "?period=day", "?period=week", "?period=month",
                  "?period=year", "?period=%77eek", "?period=week&period=day",
                  "?page=2&page_size=5", "?page=-1&page_size=1000",
                  "?page= 10abc&page_size=0x10", "?page=%2B3&page_size=1e3",
                  "?page=99999999999999999999999&page_size=3",
                  "?period=month&page=1&page_size=100", "?&&=&page",
                  "?period=%"):
            qs.append(path + q)
    return qs


def token_usage():
    # harness input: first byte picks the page, the rest is the query
    out = []
    for q in token_usage_queries():
        path, _, query = q.partition("?")
        pick = {"/token-usage": 0, "/token-usage/daily": 1,
                "/token-usage/events": 2}[path]
        out.append(bytes([pick]) + query.encode())
    return out


def write(d, items):
    os.makedirs(d, exist_ok=True)
    for data in items:
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (d, len(items)))


# The translator harnesses take fixture files as they are.
FIXTURE_SEEDS = {
    "anthropic_chat": [("anthropic_chat/request", ".in.json"),
                       ("anthropic_chat/response", ".in.json")],
    "anthropic_chat_stream": [("anthropic_chat/stream", ".in.sse")],
    "anthropic_responses": [("anthropic_responses/request", ".in.json"),
                            ("anthropic_responses/result", ".in.json"),
                            ("anthropic_responses/stream", ".in.sse"),
                            ("responses_passthrough", ".in.sse"),
                            ("anthropic_websearch/request", ".in.json"),
                            ("anthropic_websearch/result", ".in.json"),
                            ("anthropic_websearch/stream", ".in.sse")],
    "tokenize": [("tokenize/fuzz-seeds", "")],
}


def main():
    outdir = sys.argv[1]
    for name, sources in FIXTURE_SEEDS.items():
        write(os.path.join(outdir, name),
              [read(f) for sub, suffix in sources
               for f in fixtures(sub, suffix)])
    write(os.path.join(outdir, "gateway"), gateway())
    write(os.path.join(outdir, "token_usage"), token_usage())


if __name__ == "__main__":
    main()
