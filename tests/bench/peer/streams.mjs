#!/usr/bin/env node
// streams.mjs BASE_URL [CONCURRENCY=256] [SECONDS=60] [DELTAS=64] [PACE_MS=20]
// Many long streams at once (issue 11): CONCURRENCY clients each open a
// streamed chat completion of DELTAS deltas PACE_MS apart (the fake's in-band
// marker), one after another, for SECONDS. Per stream: first byte, total, and
// whether every delta arrived in order: DELTAS deltas, [DONE] last, and the
// same text as every other stream (the fake's deltas are deterministic).
// Prints one JSON object:
// streams finished, first-byte p50/p99, total p50, out-of-order or broken
// streams (must be 0).
import http from 'node:http';

const [base, cArg, sArg, dArg, pArg] = process.argv.slice(2);
if (!base) { console.error('usage: streams.mjs BASE_URL [CONCURRENCY] [SECONDS] [DELTAS] [PACE_MS]'); process.exit(2); }
const C = Number(cArg || 256), SECS = Number(sArg || 60), DELTAS = Number(dArg || 64), PACE = Number(pArg || 20);
const key = process.env.BENCH_API_KEY || 'bench-key';
const body = Buffer.from(JSON.stringify({ model: 'gpt-4.1', stream: true, max_tokens: 64,
  messages: [{ role: 'user', content: `Say hello. [fake:deltas=${DELTAS},pace=${PACE}]` }] }));
const u = new URL('/v1/chat/completions', base);
const agent = new http.Agent({ keepAlive: true, maxSockets: C });
const first = [], total = [];
let broken = 0, done = 0, reference = null;

function one() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let tFirst = 0n, buf = '', seen = 0, text = '', doneLast = false, inOrder = true;
    const req = http.request(u, { method: 'POST', agent, headers: {
      'content-type': 'application/json', 'content-length': body.length, accept: 'text/event-stream',
      authorization: `Bearer ${key}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c) => {
        if (!tFirst) tFirst = process.hrtime.bigint();
        buf += c;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, i); buf = buf.slice(i + 2);
          const m = ev.match(/^data: (.*)$/m);
          if (!m) continue;
          if (m[1] === '[DONE]') { doneLast = true; continue; }
          if (doneLast) inOrder = false;           // anything after [DONE]
          try {
            const j = JSON.parse(m[1]);
            const d = j.choices && j.choices[0] && j.choices[0].delta && j.choices[0].delta.content;
            if (typeof d === 'string' && d !== '') { text += d; seen++; }
          } catch { inOrder = false; }
        }
      });
      res.on('end', () => {
        const t = process.hrtime.bigint();
        if (reference === null && res.statusCode === 200 && seen === DELTAS && doneLast) reference = text;
        const ok = res.statusCode === 200 && seen === DELTAS && doneLast && inOrder && text === reference;
        if (!ok) broken++; else done++;
        first.push(Number((tFirst || t) - t0) / 1e6); total.push(Number(t - t0) / 1e6);
        resolve();
      });
      res.on('error', () => { broken++; resolve(); });
    });
    req.on('error', () => { broken++; resolve(); });
    req.end(body);
  });
}

const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))] * 1000) / 1000 : null; };
const end = Date.now() + SECS * 1000;
await Promise.all(Array.from({ length: C }, async () => { while (Date.now() < end) await one(); }));
agent.destroy();
console.log(JSON.stringify({ concurrency: C, seconds: SECS, deltas: DELTAS, pace_ms: PACE,
  streams_ok: done, streams_broken: broken, first_byte_ms: { p50: q(first, 0.5), p99: q(first, 0.99) },
  total_ms: { p50: q(total, 0.5), p99: q(total, 0.99) } }));
