#!/usr/bin/env node
// report.mjs FILE.jsonl [FILE.jsonl ...]
// Reads bench.sh records and prints Markdown tables. Records with the same
// (label, test) are aggregated: one value is printed as is, several as
// "min / median / max" (e.g. three interleaved rounds).
import fs from 'node:fs';

const files = process.argv.slice(2);
if (!files.length) { console.error('usage: report.mjs FILE.jsonl ...'); process.exit(2); }
const recs = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)));

const labels = [...new Set(recs.map((r) => r.label))];
const testOrder = [...new Set(recs.filter((r) => r.kind !== 'meta').map((r) => r.test))];
const group = (kind) => {
  const g = new Map();
  for (const r of recs.filter((x) => x.kind === kind)) {
    const k = `${r.test}\u0000${r.label}`;
    if (!g.has(k)) g.set(k, []);
    g.get(k).push(r);
  }
  return [...g.entries()].sort(([a], [b]) => {
    const [ta, la] = a.split('\u0000'); const [tb, lb] = b.split('\u0000');
    return testOrder.indexOf(ta) - testOrder.indexOf(tb) || labels.indexOf(la) - labels.indexOf(lb);
  }).map(([k, v]) => [k.split('\u0000'), v]);
};
const get = (o, p) => p.split('.').reduce((x, k) => (x == null ? x : x[k]), o);
const fmtNum = (x, d) => (x == null || Number.isNaN(x) ? '–' : Number(x).toFixed(d));
const agg = (rs, p, d = 2) => {
  const v = rs.map((r) => get(r, p)).filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return '–';
  if (v.length === 1) return fmtNum(v[0], d);
  const med = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  return `${fmtNum(v[0], d)} / ${fmtNum(med, d)} / ${fmtNum(v[v.length - 1], d)}`;
};
const table = (head, rows) => {
  const out = ['| ' + head.join(' | ') + ' |', '|' + head.map(() => '---').join('|') + '|'];
  for (const r of rows) out.push('| ' + r.join(' | ') + ' |');
  return out.join('\n');
};

const n = Math.max(...group('wrk').map(([, v]) => v.length), ...group('stream').map(([, v]) => v.length), 1);
console.log(n > 1 ? `\n(${n} records per cell: min / median / max)\n` : '');

const wrk = group('wrk');
if (wrk.length) {
  console.log('### Non-stream (wrk)\n');
  console.log(table(['test', 'target', 'body B', 'conns', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'target CPU ms/req', 'fake CPU ms/req', 'errors'],
    wrk.map(([[test, label], rs]) => [test, label, rs[0].body_bytes, rs[0].conns, agg(rs, 'rps', 0), agg(rs, 'p50_ms', 3), agg(rs, 'p90_ms', 3),
      agg(rs, 'p99_ms', 3), agg(rs, 'target_cpu_ms_per_req', 3), agg(rs, 'fake_cpu_ms_per_req', 3),
      rs.reduce((s, r) => s + Object.values(r.errors).reduce((a, b) => a + b, 0), 0)])));
}
const st = group('stream');
if (st.length) {
  console.log('\n### Streaming (c=1, sequential, keep-alive; curl columns: fresh connection per sample)\n');
  console.log(table(['test', 'target', 'data lines', 'ok', 'headers p50 ms', 'first byte p50 ms', 'total p50 ms', 'total p90 ms', 'curl ttfb p50 ms', 'curl total p50 ms'],
    st.map(([[test, label], rs]) => [test, label, rs[0].data_lines, `${rs.reduce((s, r) => s + r.ok, 0)}/${rs.reduce((s, r) => s + r.samples, 0)}`,
      agg(rs, 'headers_ms.p50', 3), agg(rs, 'first_byte_ms.p50', 3), agg(rs, 'total_ms.p50', 3), agg(rs, 'total_ms.p90', 3),
      agg(rs, 'curl_ttfb_ms_p50', 3), agg(rs, 'curl_total_ms_p50', 3)])));
}
const mem = group('mem');
if (mem.length) {
  console.log('\n### Memory of the pids in the pidfile (+ descendants)\n');
  console.log(table(['when', 'target', 'pids', 'RSS MB', 'peak RSS MB', 'PSS MB'],
    mem.map(([[test, label], rs]) => [test, label, rs[0].pids, agg(rs.map((r) => ({ v: r.rss_kb / 1024 })), 'v', 1),
      agg(rs.map((r) => ({ v: r.hwm_kb / 1024 })), 'v', 1), agg(rs.map((r) => ({ v: r.pss_kb / 1024 })), 'v', 1)])));
}
const sk = recs.filter((r) => r.kind === 'skip');
if (sk.length) {
  console.log('\n### Skipped\n');
  for (const [t, r] of new Map(sk.map((r) => [`${r.label} ${r.test}`, r]))) console.log(`- ${t}: ${r.reason}`);
}

// The ratios issue 11 asks for: CPU per request of each gateway against the
// others (medians of the rounds), and the first byte a gateway adds over DIRECT.
const med = (rs, p) => {
  const v = rs.map((r) => get(r, p)).filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const cell = (m, test, label, p) => { const rs = m.get(`${test}\u0000${label}`); return rs ? med(rs, p) : null; };
const byKey = (kind) => new Map(group(kind).map(([[t, l], rs]) => [`${t}\u0000${l}`, rs]));
const gws = labels.filter((l) => l !== 'DIRECT' && l !== 'OURS' && l !== 'FLOOR');
// FLOOR (tests/bench/floor_fcgi.c): the same web server and FastCGI socket in
// front of a pass-through responder; OURS/FLOOR is what our own work costs.
const floor = labels.includes('FLOOR');
if (labels.includes('OURS') && wrk.length) {
  const m = byKey('wrk');
  // the goal per test family: the peer's CPU per request over ours
  const goal = (t) => (t.startsWith('chat_small') ? 10 : 6);
  console.log('\n### CPU per request: ratios (medians)\n');
  const head = ['test', ...labels.map((l) => `${l} ms`), ...gws.map((g) => `${g}/OURS`), 'OURS/DIRECT', ...(floor ? ['OURS/FLOOR', 'PEER/FLOOR'] : []), 'goal PEER/OURS'];
  const rows = [...new Set(wrk.map(([[t]]) => t))].map((t) => {
    const v = Object.fromEntries(labels.map((l) => [l, cell(m, t, l, 'target_cpu_ms_per_req')]));
    const r = (a, b) => (a == null || b == null || b === 0 ? '–' : `${(a / b).toFixed(1)}×`);
    return [t, ...labels.map((l) => fmtNum(v[l], 3)), ...gws.map((g) => r(v[g], v.OURS)), r(v.OURS, v.DIRECT),
      ...(floor ? [r(v.OURS, v.FLOOR), r(v.PEER, v.FLOOR)] : []), `≥ ${goal(t)}×`];
  });
  console.log(table(head, rows));
}
if (labels.includes('OURS') && labels.includes('DIRECT') && st.length) {
  const m = byKey('stream');
  console.log('\n### First byte added over DIRECT (p50 of the medians, ms; goal for OURS on stream_chat: ≤ 0.15)\n');
  const tests = [...new Set(st.map(([[t]]) => t))];
  console.log(table(['test', ...labels.filter((l) => l !== 'DIRECT')], tests.map((t) => {
    const d = cell(m, t, 'DIRECT', 'first_byte_ms.p50');
    return [t, ...labels.filter((l) => l !== 'DIRECT').map((l) => {
      const v = cell(m, t, l, 'first_byte_ms.p50');
      return v == null || d == null ? '–' : `${v - d < 0 ? '' : '+'}${(v - d).toFixed(3)}`;
    })];
  })));
}
