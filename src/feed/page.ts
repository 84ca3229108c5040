/**
 * The live view page: one self-contained HTML document (inline CSS and JS, no CDN — pods have no internet),
 * loaded only when someone opens it. It reads `/calls/stream` (SSE) and `/calls/{id}`.
 *
 * Every value from a call is put in the DOM with `textContent` (never markup): a model name or error message
 * that looks like HTML stays text. The Content-Security-Policy allows only this page's own script and style
 * (by hash) and same-origin fetches, so even a slip could not run injected script.
 *
 * Size: the page's HTML, CSS and script are one inline document (served as one string, hashed for the CSP).
 */
import { createHash } from 'node:crypto';

const style = `
:root{--bg:#0f1419;--panel:#171d24;--line:#2a323c;--fg:#d8dee6;--dim:#8b96a3;--ok:#3fb27f;--err:#f06a6a;--warn:#e6b450;--acc:#5fa8ff;--tok:#b48cff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:13px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}
header{display:flex;gap:16px;align-items:baseline;padding:10px 16px;border-bottom:1px solid var(--line)}
h1{font-size:16px;margin:0}h1 span{color:var(--dim);font-weight:400}
h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--dim);margin:0 0 8px}
#conn{font-size:12px;color:var(--warn)}#conn.live{color:var(--ok)}
#summary{margin-left:auto;color:var(--dim)}
main{padding:12px 16px;display:grid;gap:12px}
.filters{display:flex;gap:16px;align-items:center;color:var(--dim)}
select,button{background:var(--panel);color:var(--fg);border:1px solid var(--line);border-radius:4px;padding:3px 6px;font:inherit}
.top{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:12px}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;text-align:left;white-space:nowrap;border-bottom:1px solid var(--line)}
th{color:var(--dim);font-weight:500;font-size:12px}
td.n,th.n{text-align:right}
tfoot td{font-weight:600;border-bottom:0}
#calls tbody tr{cursor:pointer}#calls tbody tr:hover{background:#1f2730}
#calls tbody tr.sel{background:#23303d}
td.state{font-weight:600;color:var(--ok)}
tr.live td.state{color:var(--acc)}
tr.error td.state{color:var(--err)}
td.model{max-width:260px;overflow:hidden;text-overflow:ellipsis}
td.trace{font-family:ui-monospace,monospace;color:var(--dim)}
#chart{width:100%;height:150px;display:block}
#chart .calls{fill:var(--acc)}#chart .tokens{fill:var(--tok)}#chart .errors{fill:var(--err)}
#chart text{fill:var(--dim);font-size:10px}
.legend{color:var(--dim);font-size:12px}.legend b{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
.k-calls{background:var(--acc)}.k-errors{background:var(--err)}.k-tokens{background:var(--tok)}
#detail{position:fixed;top:0;right:0;bottom:0;width:min(560px,100vw);background:var(--panel);border-left:1px solid var(--line);padding:12px 16px;overflow:auto;box-shadow:-8px 0 24px #0008}
#detail table td:first-child{color:var(--dim)}
#detail td{white-space:normal;word-break:break-all}
#detail pre{background:var(--bg);border:1px solid var(--line);padding:8px;white-space:pre-wrap;word-break:break-word;max-height:40vh;overflow:auto}
#close{float:right}
.note{color:var(--dim)}
.empty{color:var(--dim);padding:12px 8px}
`;

const script = `
'use strict';
const $ = (id) => document.getElementById(id);
const calls = new Map();
const rows = new Map();
let totals = new Map();
let minutes = new Map();
let captureContent = false;
let selected;
const MAX_ROWS = 500;
const filters = { provider: '', model: '', errors: false };

const n = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const fmtInt = (v) => (n(v) === undefined ? '' : v.toLocaleString('en-US'));
const fmtCost = (v) => (n(v) === undefined ? '' : '$' + (v !== 0 && v < 0.01 ? v.toFixed(6) : v.toFixed(4)));
const fmtMs = (v) => (n(v) === undefined ? '' : v >= 1000 ? (v / 1000).toFixed(2) + ' s' : Math.round(v) + ' ms');
const fmtTime = (iso) => { const d = new Date(iso); return Number.isNaN(d.getTime()) ? '' : d.toTimeString().slice(0, 8); };
const modelOf = (c) => c.responseModel ?? c.model ?? '';
const stateOf = (c) => c.state === 'done' ? (c.errorType ?? 'ok') : c.state === 'streaming' ? 'streaming…' : 'waiting…';

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function matches(c) {
  if (filters.provider && c.provider !== filters.provider) return false;
  if (filters.model && modelOf(c) !== filters.model) return false;
  if (filters.errors && !c.errorType) return false;
  return true;
}

function addOption(select, value) {
  if (!value) return;
  for (const o of select.options) if (o.value === value) return;
  const o = document.createElement('option');
  o.value = value;
  o.textContent = value;
  select.appendChild(o);
}

function buildRow(c) {
  const tr = document.createElement('tr');
  tr.dataset.id = String(c.id);
  tr.dataset.state = c.state;
  if (c.state !== 'done') tr.classList.add('live');
  if (c.errorType) tr.classList.add('error');
  if (selected === c.id) tr.classList.add('sel');
  cell(tr, fmtTime(c.time), 'time');
  cell(tr, stateOf(c), 'state');
  cell(tr, c.provider, 'provider');
  const m = cell(tr, modelOf(c), 'model');
  m.title = modelOf(c);
  cell(tr, c.operation, 'operation');
  cell(tr, c.status, 'n status');
  cell(tr, fmtInt(c.inputTokens), 'n input');
  cell(tr, fmtInt(c.outputTokens), 'n output');
  cell(tr, fmtInt(c.cacheReadTokens), 'n cached');
  cell(tr, fmtInt(c.reasoningTokens), 'n reasoning');
  cell(tr, fmtCost(c.costUsd), 'n cost');
  cell(tr, fmtMs(c.ttfcMs), 'n ttft');
  cell(tr, c.state === 'done' ? fmtMs(c.durationMs) : '', 'n duration');
  const t = cell(tr, c.traceId ? c.traceId.slice(0, 16) : '', 'trace');
  if (c.traceId) t.title = c.traceId;
  tr.hidden = !matches(c);
  tr.addEventListener('click', () => showDetail(c.id));
  return tr;
}

function upsert(c) {
  if (typeof c.id !== 'number') return;
  calls.set(c.id, c);
  // Filter choices from finished calls only: a running call may still show its requested model name.
  if (c.state === 'done') {
    addOption($('f-provider'), c.provider);
    addOption($('f-model'), modelOf(c));
  }
  const tr = buildRow(c);
  const old = rows.get(c.id);
  rows.set(c.id, tr);
  const body = $('calls-body');
  if (old) { old.replaceWith(tr); return; }
  let before = null;
  for (const row of body.children) if (Number(row.dataset.id) < c.id) { before = row; break; }
  body.insertBefore(tr, before);
  while (body.children.length > MAX_ROWS) {
    const last = body.lastElementChild;
    rows.delete(Number(last.dataset.id));
    calls.delete(Number(last.dataset.id));
    last.remove();
  }
  $('calls-empty').hidden = body.children.length > 0;
}

const totalKey = (t) => t.provider + '\\u0001' + t.model;

function renderTotals() {
  const body = $('totals-body');
  body.replaceChildren();
  const sum = { calls: 0, errors: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, reasoningTokens: 0, costUsd: undefined };
  const list = [...totals.values()].sort((a, b) => b.calls - a.calls);
  for (const t of list) {
    if (filters.provider && t.provider !== filters.provider) continue;
    if (filters.model && t.model !== filters.model) continue;
    if (filters.errors && !t.errors) continue;
    const tr = document.createElement('tr');
    tr.dataset.provider = t.provider;
    tr.dataset.model = t.model;
    cell(tr, t.provider, 'provider');
    cell(tr, t.model || '(none)', 'model');
    cell(tr, fmtInt(t.calls), 'n calls');
    cell(tr, fmtInt(t.errors), 'n errors');
    cell(tr, fmtInt(t.inputTokens), 'n input');
    cell(tr, fmtInt(t.outputTokens), 'n output');
    cell(tr, fmtInt(t.cacheReadTokens), 'n cached');
    cell(tr, fmtInt(t.reasoningTokens), 'n reasoning');
    cell(tr, fmtCost(t.costUsd), 'n cost');
    body.appendChild(tr);
    for (const k of Object.keys(sum)) if (k !== 'costUsd') sum[k] += t[k];
    // Unknown cost stays unknown (never $0): a total shows only what was priced.
    if (n(t.costUsd) !== undefined) sum.costUsd = (sum.costUsd ?? 0) + t.costUsd;
  }
  $('total-calls').textContent = fmtInt(sum.calls);
  $('total-errors').textContent = fmtInt(sum.errors);
  $('total-input').textContent = fmtInt(sum.inputTokens);
  $('total-output').textContent = fmtInt(sum.outputTokens);
  $('total-cached').textContent = fmtInt(sum.cacheReadTokens);
  $('total-reasoning').textContent = fmtInt(sum.reasoningTokens);
  $('total-cost').textContent = fmtCost(sum.costUsd);
  $('summary').textContent = fmtInt(sum.calls) + ' calls · ' + fmtInt(sum.inputTokens + sum.outputTokens) + ' tokens' + (sum.costUsd === undefined ? '' : ' · ' + fmtCost(sum.costUsd));
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  parent.appendChild(el);
  return el;
}

function renderChart() {
  const chart = $('chart');
  chart.replaceChildren();
  const span = 30;
  const now = Math.floor(Date.now() / 60000);
  const list = [];
  for (let m = now - span + 1; m <= now; m++) list.push(minutes.get(m) ?? { minute: m, calls: 0, errors: 0, tokens: 0 });
  const maxCalls = Math.max(1, ...list.map((b) => b.calls));
  const maxTokens = Math.max(1, ...list.map((b) => b.tokens));
  const W = 600, H = 130, top = 12, w = W / span;
  list.forEach((b, i) => {
    const x = i * w;
    const hc = ((H - top) * b.calls) / maxCalls;
    const ht = ((H - top) * b.tokens) / maxTokens;
    const c = svg('rect', { class: 'calls', x: x + 2, y: H - hc, width: w / 2 - 3, height: hc }, chart);
    svg('title', {}, c).textContent = b.calls + ' calls (' + b.errors + ' errors)';
    if (b.errors) { const he = ((H - top) * b.errors) / maxCalls; svg('rect', { class: 'errors', x: x + 2, y: H - he, width: w / 2 - 3, height: he }, chart); }
    const t = svg('rect', { class: 'tokens', x: x + w / 2, y: H - ht, width: w / 2 - 3, height: ht }, chart);
    svg('title', {}, t).textContent = b.tokens + ' tokens';
  });
  svg('text', { x: 0, y: 10 }, chart).textContent = 'max ' + maxCalls + ' calls/min · ' + maxTokens.toLocaleString('en-US') + ' tokens/min';
  svg('text', { x: 0, y: H + 14 }, chart).textContent = '-' + span + ' min';
  svg('text', { x: W - 24, y: H + 14 }, chart).textContent = 'now';
}

let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => { scheduled = false; renderTotals(); renderChart(); }, 50);
}

function applyFilters() {
  filters.provider = $('f-provider').value;
  filters.model = $('f-model').value;
  filters.errors = $('f-errors').checked;
  for (const [id, tr] of rows) { const c = calls.get(id); tr.hidden = !c || !matches(c); }
  renderTotals();
}

function field(table, key, value) {
  const tr = document.createElement('tr');
  cell(tr, key);
  cell(tr, Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : value);
  table.appendChild(tr);
}

async function showDetail(id) {
  selected = id;
  for (const [rid, tr] of rows) tr.classList.toggle('sel', rid === id);
  const panel = $('detail');
  panel.hidden = false;
  $('detail-id').textContent = '#' + id;
  const table = $('detail-fields');
  const content = $('detail-content');
  table.replaceChildren();
  content.replaceChildren();
  let record = calls.get(id);
  try {
    const res = await fetch('calls/' + id, { headers: { accept: 'application/json' } });
    if (res.ok) record = await res.json();
  } catch {}
  if (selected !== id || !record) return;
  for (const [k, v] of Object.entries(record)) if (k !== 'content' && v !== undefined && v !== null) field(table, k, v);
  if (record.content) {
    for (const [k, v] of Object.entries(record.content)) {
      const h = document.createElement('h2');
      h.textContent = k;
      const pre = document.createElement('pre');
      let text = String(v);
      try { text = JSON.stringify(JSON.parse(text), null, 2); } catch {}
      pre.textContent = text;
      content.append(h, pre);
    }
  } else {
    const p = document.createElement('p');
    p.className = 'note';
    p.textContent = captureContent
      ? 'No message content was captured for this call (or it was dropped to bound memory).'
      : 'Message content capture is off (set OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true to see prompts and outputs).';
    content.append(p);
  }
}

function onSnapshot(data) {
  calls.clear();
  rows.clear();
  $('calls-body').replaceChildren();
  totals = new Map(data.totals.map((t) => [totalKey(t), t]));
  minutes = new Map(data.minutes.map((b) => [b.minute, b]));
  captureContent = data.captureContent === true;
  $('capacity').textContent = String(data.capacity);
  for (const c of [...data.calls].reverse()) upsert(c);
  $('calls-empty').hidden = data.calls.length > 0;
  schedule();
}

function onCall(event) {
  upsert(event.call);
  if (event.total) totals.set(totalKey(event.total), event.total);
  if (event.minute) minutes.set(event.minute.minute, event.minute);
  if (event.total || event.minute) schedule();
}

function connect() {
  const conn = $('conn');
  const es = new EventSource('calls/stream');
  es.addEventListener('open', () => { conn.textContent = 'live'; conn.className = 'live'; });
  es.addEventListener('error', () => { conn.textContent = 'reconnecting…'; conn.className = ''; });
  es.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
  es.addEventListener('call', (e) => onCall(JSON.parse(e.data)));
}

$('f-provider').addEventListener('change', applyFilters);
$('f-model').addEventListener('change', applyFilters);
$('f-errors').addEventListener('change', applyFilters);
$('close').addEventListener('click', () => { $('detail').hidden = true; selected = undefined; for (const tr of rows.values()) tr.classList.remove('sel'); });
renderTotals();
renderChart();
setInterval(renderChart, 30000);
connect();
`;

const body = `
<header><h1>llmtap <span>live calls</span></h1><span id="conn">connecting…</span><span id="summary"></span></header>
<main>
<section class="filters">
<label>Provider <select id="f-provider"><option value="">all</option></select></label>
<label>Model <select id="f-model"><option value="">all</option></select></label>
<label><input type="checkbox" id="f-errors"> errors only</label>
</section>
<section class="top">
<div class="panel"><h2>Per model, since start</h2>
<table id="totals"><thead><tr><th>provider</th><th>model</th><th class="n">calls</th><th class="n">errors</th><th class="n">input</th><th class="n">output</th><th class="n">cached</th><th class="n">reasoning</th><th class="n">cost</th></tr></thead>
<tbody id="totals-body"></tbody>
<tfoot><tr><td>total</td><td></td><td class="n" id="total-calls"></td><td class="n" id="total-errors"></td><td class="n" id="total-input"></td><td class="n" id="total-output"></td><td class="n" id="total-cached"></td><td class="n" id="total-reasoning"></td><td class="n" id="total-cost"></td></tr></tfoot></table></div>
<div class="panel"><h2>Per minute, last 30 minutes</h2><svg id="chart" viewBox="0 -2 600 150" role="img" aria-label="calls and tokens per minute"></svg>
<div class="legend"><b class="k-calls"></b>calls<b class="k-errors"></b>errors<b class="k-tokens"></b>tokens</div></div>
</section>
<section class="panel"><h2>Recent calls (newest first; the last <span id="capacity"></span> are kept)</h2>
<table id="calls"><thead><tr><th>time</th><th>status</th><th>provider</th><th>model</th><th>operation</th><th class="n">HTTP</th><th class="n">input</th><th class="n">output</th><th class="n">cached</th><th class="n">reasoning</th><th class="n">cost</th><th class="n">TTFT</th><th class="n">duration</th><th>trace id</th></tr></thead>
<tbody id="calls-body"></tbody></table>
<p class="empty" id="calls-empty">No calls yet. Point your client's base URL at llmtap and they appear here as they happen.</p>
</section>
</main>
<aside id="detail" hidden><button id="close" type="button">close</button><h2>Call <span id="detail-id"></span></h2>
<table id="detail-fields"></table><div id="detail-content"></div></aside>
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page's policy: only its own inline script and style run; it talks only to its own origin. */
export const pageCsp = [
  "default-src 'none'",
  `script-src ${hash(script)}`,
  `style-src ${hash(style)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const pageHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>llmtap — live calls</title><style>${style}</style></head>
<body>${body}<script>${script}</script></body></html>
`;
