#!/usr/bin/env node
// fake.mjs: a fast, dependency-free fake of GitHub + GitHub Copilot for
// benchmarking LLM gateways on loopback. Node's `http` only.
//
// Env / args (args win):   PORT / --port=N            (default 18080; 0 = ephemeral)
//                          STREAM_DELTAS / --deltas=N  (default 64)
//                          STREAM_PACE_MS / --pace=MS  (default 0)
// Per request, the query string may override: ?deltas=N&pace=MS, and so may a marker
// anywhere in the body, e.g. in a message's text: [fake:deltas=16,pace=10] (it wins; use
// it through a gateway, which forwards message text but not the query string).
// It always binds 127.0.0.1 and prints "fake listening on http://127.0.0.1:PORT".
//
// Routes (auth is accepted, never checked):
//   GET  /user                          GitHub user
//   GET  /copilot_internal/v2/token     {token, expires_at, refresh_in, endpoints.api = this server}
//   GET  /copilot_internal/user         Copilot quota snapshot (+ endpoints.api = this server)
//   GET  /models  (/v1/models)          a few models with capabilities.limits + supported_endpoints
//   POST /chat/completions (/v1/chat/completions)  non-stream: fixed ~2 KB JSON; stream: N deltas + usage chunk + [DONE]
//   POST /v1/messages  (/messages)      non-stream: fixed ~2 KB Anthropic message; stream: Anthropic events
//   POST /responses (/v1/responses)     non-stream: fixed Responses object; stream: response.* events (no [DONE])
//   POST /embeddings (/v1/embeddings)   tiny fixed vector
//   POST /login/device/code, /login/oauth/access_token   device-flow stubs
//   GET  /cgit/aur.git/plain/PKGBUILD   "pkgver=1.104.3" (VS Code version probe of copilot-api 0.7.0)
//   GET  /__stats  counters per route;  POST /__reset  zero them
// The request body is read to the end but never JSON-parsed: `"stream":true`
// is found with a byte search, so the fake costs the same for a 100 B and an 80 KB body.

import http from 'node:http';

const argv = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--([^=]+)=(.*)$/.exec(a);
  return m ? [m[1], m[2]] : [a.replace(/^--/, ''), '1'];
}));
const PORT = Number(argv.port ?? process.env.PORT ?? 18080);
const DEF_DELTAS = Number(argv.deltas ?? process.env.STREAM_DELTAS ?? 64);
const DEF_PACE = Number(argv.pace ?? process.env.STREAM_PACE_MS ?? 0);
const HOST = '127.0.0.1';

let base = `http://${HOST}:${PORT}`; // fixed after listen() for PORT=0
const stats = Object.create(null);
const count = (k) => { stats[k] = (stats[k] || 0) + 1; };

// ---------- canned payloads (built once) ----------
const CREATED = 1764000000;
const filler = (n) => {
  const words = 'the gateway relays each request to the upstream model and returns the answer with usage accounting so that clients can track tokens'.split(' ');
  let s = '';
  for (let i = 0; s.length < n; i++) s += (i ? ' ' : '') + words[i % words.length];
  return s.slice(0, n);
};
const TEXT = filler(1500);
const USAGE = { prompt_tokens: 1234, completion_tokens: 321, total_tokens: 1555,
  prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } };

const CHAT_JSON = Buffer.from(JSON.stringify({
  id: 'chatcmpl-fake0000000000000000000000', object: 'chat.completion', created: CREATED, model: 'gpt-4.1',
  system_fingerprint: 'fp_fake',
  choices: [{ index: 0, message: { role: 'assistant', content: TEXT, refusal: null, annotations: [] },
    logprobs: null, finish_reason: 'stop' }],
  usage: USAGE,
  prompt_filter_results: [{ prompt_index: 0, content_filter_results: {
    hate: { filtered: false, severity: 'safe' }, self_harm: { filtered: false, severity: 'safe' },
    sexual: { filtered: false, severity: 'safe' }, violence: { filtered: false, severity: 'safe' } } }],
}));

const MSG_JSON = Buffer.from(JSON.stringify({
  id: 'msg_fake0000000000000000000000', type: 'message', role: 'assistant', model: 'claude-sonnet-4.5',
  content: [{ type: 'text', text: TEXT }], stop_reason: 'end_turn', stop_sequence: null,
  usage: { input_tokens: 1234, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 321 },
}));

const model = (id, name, vendor, family, tokenizer, ctx, prompt, out, endpoints, extra = {}) => ({
  id, name, object: 'model', vendor, version: id, preview: false,
  model_picker_enabled: true, model_picker_category: 'versatile', is_chat_default: id === 'gpt-4.1',
  is_chat_fallback: id === 'gpt-4.1', billing: { is_premium: vendor !== 'Azure OpenAI', multiplier: 1 },
  policy: { state: 'enabled', terms: 'fake' },
  capabilities: { family, object: 'model_capabilities', type: 'chat', tokenizer,
    limits: { max_context_window_tokens: ctx, max_prompt_tokens: prompt, max_output_tokens: out,
      vision: { max_prompt_image_size: 3145728, max_prompt_images: 1,
        supported_media_types: ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] } },
    supports: { streaming: true, tool_calls: true, parallel_tool_calls: true, vision: true, ...extra } },
  supported_endpoints: endpoints,
});
const MODELS_JSON = Buffer.from(JSON.stringify({ object: 'list', data: [
  model('gpt-4.1', 'GPT-4.1', 'Azure OpenAI', 'gpt-4.1', 'o200k_base', 128000, 128000, 16384, ['/chat/completions', '/responses']),
  model('gpt-4o', 'GPT-4o', 'Azure OpenAI', 'gpt-4o', 'o200k_base', 128000, 64000, 4096, ['/chat/completions']),
  model('gpt-5-mini', 'GPT-5 mini', 'Azure OpenAI', 'gpt-5-mini', 'o200k_base', 264000, 128000, 64000, ['/chat/completions', '/responses'],
    { reasoning_effort: ['low', 'medium', 'high'] }),
  model('claude-sonnet-4', 'Claude Sonnet 4', 'Anthropic', 'claude-sonnet-4', 'o200k_base', 216000, 128000, 16000, ['/chat/completions']),
  model('claude-sonnet-4.5', 'Claude Sonnet 4.5', 'Anthropic', 'claude-sonnet-4.5', 'o200k_base', 144000, 128000, 16000,
    ['/v1/messages', '/chat/completions'], { adaptive_thinking: false, max_thinking_budget: 32000, min_thinking_budget: 1024 }),
  { id: 'text-embedding-3-small', name: 'Embedding V3 small', object: 'model', vendor: 'Azure OpenAI', version: 'text-embedding-3-small',
    preview: false, model_picker_enabled: false,
    capabilities: { family: 'text-embedding-3-small', object: 'model_capabilities', type: 'embeddings', tokenizer: 'cl100k_base',
      limits: { max_inputs: 512 }, supports: {} }, supported_endpoints: ['/embeddings'] },
] }));

const USER_JSON = Buffer.from(JSON.stringify({ login: 'fake-user', id: 1, node_id: 'U_fake', type: 'User', name: 'Fake User' }));
const CPUSER = {
  access_type_sku: 'free_educational', analytics_tracking_id: 'fake', assigned_date: '2025-01-01T00:00:00Z',
  can_signup_for_limited: false, chat_enabled: true, copilot_plan: 'individual', organization_login_list: [],
  organization_list: [], quota_reset_date: '2099-01-01',
  quota_snapshots: {
    chat: { entitlement: 0, overage_count: 0, overage_permitted: false, percent_remaining: 100, quota_id: 'chat', quota_remaining: 0, remaining: 0, unlimited: true },
    completions: { entitlement: 0, overage_count: 0, overage_permitted: false, percent_remaining: 100, quota_id: 'completions', quota_remaining: 0, remaining: 0, unlimited: true },
    premium_interactions: { entitlement: 300, overage_count: 0, overage_permitted: false, percent_remaining: 100, quota_id: 'premium_interactions', quota_remaining: 300, remaining: 300, unlimited: false },
  },
};
const EMB_JSON = Buffer.from(JSON.stringify({ object: 'list', model: 'text-embedding-3-small',
  data: [{ object: 'embedding', index: 0, embedding: [0.01, -0.02, 0.03, 0.04] }], usage: { prompt_tokens: 4, total_tokens: 4 } }));

// stream pieces
const words = TEXT.split(' ');
const chatChunk = (obj) => `data: ${JSON.stringify({ id: 'chatcmpl-fake0000000000000000000000', object: 'chat.completion.chunk',
  created: CREATED, model: 'gpt-4.1', system_fingerprint: 'fp_fake', ...obj })}\n\n`;
const CHAT_DELTA = words.map((w, i) => chatChunk({ choices: [{ index: 0, delta: { content: (i ? ' ' : '') + w }, logprobs: null, finish_reason: null }] }));
const CHAT_FIRST = chatChunk({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] });
const CHAT_FINISH = chatChunk({ choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] });
const CHAT_USAGE = chatChunk({ choices: [], usage: USAGE });
const DONE = 'data: [DONE]\n\n';
const ev = (type, obj) => `event: ${type}\ndata: ${JSON.stringify({ type, ...obj })}\n\n`;
const MSG_START = ev('message_start', { message: { id: 'msg_fake0000000000000000000000', type: 'message', role: 'assistant',
  model: 'claude-sonnet-4.5', content: [], stop_reason: null, stop_sequence: null,
  usage: { input_tokens: 1234, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } } })
  + ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) + ev('ping', {});
const MSG_DELTA = words.map((w, i) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: (i ? ' ' : '') + w } }));
const MSG_END = ev('content_block_stop', { index: 0 })
  + ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 321 } })
  + ev('message_stop', {});

// Responses API (the seed sends GPT-5-family /v1/messages and /v1/responses here); no [DONE]
const RESP_USAGE = { input_tokens: 1234, input_tokens_details: { cached_tokens: 0 }, output_tokens: 321,
  output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 1555 };
const respObj = (status, output) => ({ id: 'resp_fake0000000000000000000000', object: 'response', created_at: CREATED, status,
  model: 'gpt-5-mini', output, usage: status === 'completed' ? RESP_USAGE : null });
const RESP_ITEM = { type: 'message', id: 'msg_fake0000000000000000000000', status: 'completed', role: 'assistant',
  content: [{ type: 'output_text', text: TEXT, annotations: [] }] };
const RESP_JSON = Buffer.from(JSON.stringify(respObj('completed', [RESP_ITEM])));
const rev = (type, obj) => `event: ${type}\ndata: ${JSON.stringify({ type, ...obj })}\n\n`;
const RESP_START = rev('response.created', { sequence_number: 0, response: respObj('in_progress', []) })
  + rev('response.in_progress', { sequence_number: 1, response: respObj('in_progress', []) })
  + rev('response.output_item.added', { sequence_number: 2, output_index: 0, item: { ...RESP_ITEM, status: 'in_progress', content: [] } })
  + rev('response.content_part.added', { sequence_number: 3, output_index: 0, item_id: RESP_ITEM.id, content_index: 0,
    part: { type: 'output_text', text: '', annotations: [] } });
const RESP_DELTA = words.map((w, i) => rev('response.output_text.delta', { sequence_number: 4, output_index: 0,
  item_id: RESP_ITEM.id, content_index: 0, delta: (i ? ' ' : '') + w }));
const RESP_END = rev('response.output_text.done', { sequence_number: 5, output_index: 0, item_id: RESP_ITEM.id, content_index: 0, text: TEXT })
  + rev('response.content_part.done', { sequence_number: 6, output_index: 0, item_id: RESP_ITEM.id, content_index: 0,
    part: { type: 'output_text', text: TEXT, annotations: [] } })
  + rev('response.output_item.done', { sequence_number: 7, output_index: 0, item: RESP_ITEM })
  + rev('response.completed', { sequence_number: 8, response: respObj('completed', [RESP_ITEM]) });

// ---------- helpers ----------
const sendJSON = (res, status, buf) => {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length });
  res.end(buf);
};
const isStream = (body) => body.indexOf('"stream":true') !== -1 || body.indexOf('"stream": true') !== -1;
// In-band override that survives any gateway (they all forward message text):
// a body containing "[fake:deltas=16,pace=10]" streams 16 deltas 10 ms apart.
const marker = (body, k, d) => {
  const i = body.indexOf('[fake:');
  if (i === -1) return d;
  const m = new RegExp(k + '=(\\d+)').exec(body.toString('latin1', i, i + 64).split(']')[0]);
  return m ? Number(m[1]) : d;
};

function streamOut(req, res, first, deltas, last, n, pace) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let closed = false;
  res.on('close', () => { closed = true; });
  if (!pace) {
    // one syscall-friendly burst: Node still frames it as a single chunked body
    let s = first;
    for (let i = 0; i < n; i++) s += deltas[i % deltas.length];
    res.end(s + last);
    return;
  }
  res.write(first);
  let i = 0;
  const tick = () => {
    if (closed) return;
    if (i < n) { res.write(deltas[i % deltas.length]); i++; setTimeout(tick, pace); return; }
    res.end(last);
  };
  setTimeout(tick, pace);
}

function handle(req, res, body) {
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  let qs = null;
  const param = (k, d) => {
    if (q === -1) return d;
    qs ??= new URLSearchParams(req.url.slice(q + 1));
    const v = qs.get(k);
    return v === null ? d : Number(v);
  };
  const m = req.method;
  count(`${m} ${path}`);
  if (m === 'POST' && (path === '/chat/completions' || path === '/v1/chat/completions')) {
    if (isStream(body)) return streamOut(req, res, CHAT_FIRST, CHAT_DELTA, CHAT_FINISH + CHAT_USAGE + DONE,
      marker(body, 'deltas', param('deltas', DEF_DELTAS)), marker(body, 'pace', param('pace', DEF_PACE)));
    return sendJSON(res, 200, CHAT_JSON);
  }
  if (m === 'POST' && (path === '/v1/messages' || path === '/messages')) {
    if (isStream(body)) return streamOut(req, res, MSG_START, MSG_DELTA, MSG_END,
      marker(body, 'deltas', param('deltas', DEF_DELTAS)), marker(body, 'pace', param('pace', DEF_PACE)));
    return sendJSON(res, 200, MSG_JSON);
  }
  if (m === 'GET' && (path === '/models' || path === '/v1/models')) return sendJSON(res, 200, MODELS_JSON);
  if (m === 'GET' && path === '/copilot_internal/v2/token') {
    const now = Math.floor(Date.now() / 1000);
    return sendJSON(res, 200, Buffer.from(JSON.stringify({ token: 'tid=fake;exp=' + (now + 1800) + ';sku=fake', expires_at: now + 1800,
      refresh_in: 1500, endpoints: { api: base, 'origin-tracker': base, proxy: base, telemetry: base }, chat_enabled: true, sku: 'fake' })));
  }
  if (m === 'GET' && path === '/user') return sendJSON(res, 200, USER_JSON);
  if (m === 'GET' && path === '/copilot_internal/user') // as GitHub: the API endpoints ride along
    return sendJSON(res, 200, Buffer.from(JSON.stringify({ ...CPUSER, endpoints: { api: base, 'origin-tracker': base, proxy: base, telemetry: base } })));
  if (m === 'POST' && (path === '/embeddings' || path === '/v1/embeddings')) return sendJSON(res, 200, EMB_JSON);
  if (m === 'POST' && path === '/login/device/code') return sendJSON(res, 200, Buffer.from(JSON.stringify({
    device_code: 'fake-device', user_code: 'FAKE-0000', verification_uri: base + '/login/device', expires_in: 900, interval: 0 })));
  if (m === 'POST' && path === '/login/oauth/access_token') return sendJSON(res, 200, Buffer.from(JSON.stringify({
    access_token: 'ghu_fake_token', token_type: 'bearer', scope: 'read:user' })));
  if (m === 'GET' && path === '/cgit/aur.git/plain/PKGBUILD') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('pkgname=visual-studio-code-bin\npkgver=1.104.3\n');
  }
  if (m === 'POST' && (path === '/responses' || path === '/v1/responses')) {
    if (isStream(body)) return streamOut(req, res, RESP_START, RESP_DELTA, RESP_END,
      marker(body, 'deltas', param('deltas', DEF_DELTAS)), marker(body, 'pace', param('pace', DEF_PACE)));
    return sendJSON(res, 200, RESP_JSON);
  }
  if (m === 'GET' && path === '/__stats') return sendJSON(res, 200, Buffer.from(JSON.stringify({ base, stats })));
  if (m === 'POST' && path === '/__reset') { for (const k in stats) delete stats[k]; return sendJSON(res, 200, Buffer.from('{}')); }
  if (path === '/' && (m === 'GET' || m === 'HEAD')) { res.writeHead(200, { 'content-type': 'text/plain' }); return res.end('fake ok\n'); }
  sendJSON(res, 404, Buffer.from(JSON.stringify({ error: { message: `fake: no route ${m} ${path}`, type: 'not_found' } })));
}

const server = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    try { handle(req, res, body); } catch (e) {
      if (!res.headersSent) sendJSON(res, 500, Buffer.from(JSON.stringify({ error: { message: String(e), type: 'fake_error' } })));
      else res.destroy();
    }
  });
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0;
server.listen(PORT, HOST, () => {
  base = `http://${HOST}:${server.address().port}`;
  console.log(`fake listening on ${base} deltas=${DEF_DELTAS} pace_ms=${DEF_PACE}`);
});
const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
