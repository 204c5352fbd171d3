#include "proxy/server/status_page.h"

namespace wsgate::proxy {

namespace {

// The page renders /stats.json (README, "Admin endpoints"); every cell carries a data-field
// attribute and every row the name of what it shows (data-backend="POOL ADDRESS", data-status,
// data-close="LEG CODE", ...), which tests/integration/status_page.test.mjs reads.
constexpr std::string_view kPage = R"html(
<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsgate status</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 0 1.2em 2em; color: #1b1f24; background: #fafafa; }
h1 { font-size: 1.4em; margin: .6em 0 .2em; }
h2 { font-size: 1.1em; margin: 1.2em 0 .3em; border-bottom: 1px solid #ccd; }
h3 { font-size: 1em; margin: .8em 0 .2em; }
table { border-collapse: collapse; margin-bottom: .4em; background: #fff; }
th, td { border: 1px solid #d0d4da; padding: 2px 8px; text-align: left; white-space: nowrap; }
th { background: #e8ecf3; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.up { background: #c9f0c9; font-weight: 600; }
.down { background: #f6c6c6; font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 3px; }
#summary span { margin-right: 1.4em; }
#error { color: #b00020; font-weight: 600; }
.muted { color: #667; }
.grid { display: flex; flex-wrap: wrap; gap: 0 2.5em; align-items: flex-start; }
svg.spark { vertical-align: middle; }
svg.spark polyline { fill: none; stroke: #2b6cb0; stroke-width: 1.5; }
a { color: #2b6cb0; }
</style></head>
<body>
<h1>wsgate <span id="version" class="muted"></span></h1>
<div id="summary">
  <span>health: <b id="health" class="badge">...</b></span>
  <span>uptime <b id="uptime">-</b></span>
  <span>workers <b id="workers">-</b></span>
  <span>connections <b id="connections">-</b></span>
  <span>sessions <b id="sessions">-</b></span>
  <span class="muted">updated <span id="updated">never</span></span>
  <span id="error"></span>
</div>
<p id="health-message" class="muted"></p>

<h2>Listeners</h2>
<table><thead><tr><th>name</th><th>address</th><th>TLS</th><th>connections</th><th>accepted</th></tr></thead>
<tbody id="listeners"></tbody></table>

<h2>Routes</h2>
<table><thead><tr><th>name</th><th>listener</th><th>host</th><th>path prefix</th><th>pool</th><th>policy</th><th>sessions</th></tr></thead>
<tbody id="routes"></tbody></table>

<h2>Pools</h2>
<div id="pools"></div>

<h2>Last minute <span class="muted" id="window"></span></h2>
<div class="grid">
<div><h3>Handshakes by status</h3>
<table><thead><tr><th>status</th><th></th><th>last minute</th><th>total</th></tr></thead>
<tbody id="handshakes"></tbody></table></div>
<div><h3>Closes by leg and code</h3>
<table><thead><tr><th>leg</th><th>code</th><th></th><th>last minute</th><th>total</th></tr></thead>
<tbody id="closes"></tbody></table></div>
<div><h3>Messages</h3>
<table><thead><tr><th>direction</th><th>last minute</th><th>per second</th><th>total</th><th>per second, last minute</th></tr></thead>
<tbody id="messages"></tbody></table></div>
</div>

<h2>Endpoints</h2>
<p><a href="/stats.json">/stats.json</a> (this page's data) &middot; <a href="/metrics">/metrics</a> &middot;
<a href="/connections">/connections</a> &middot; <a href="/livez">/livez</a> &middot; <a href="/readyz">/readyz</a></p>

<script>
'use strict';
const STATUS = { 101: 'Switching Protocols', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 408: 'Request Timeout', 414: 'URI Too Long', 426: 'Upgrade Required',
  429: 'Too Many Requests', 431: 'Header Fields Too Large', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported' };
const CLOSE = { 1000: 'normal', 1001: 'going away', 1002: 'protocol error', 1003: 'unsupported data',
  1005: 'no status', 1006: 'abnormal (no close frame)', 1007: 'invalid payload', 1008: 'policy',
  1009: 'too big', 1010: 'extension', 1011: 'internal error', 1012: 'restart', 1013: 'try later',
  1014: 'bad gateway', 1015: 'TLS', 4001: 'auth', 4002: 'rate limit', 4003: 'session expired' };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const kid of kids) e.append(kid instanceof Node ? kid : String(kid));
  return e;
}
// A cell; numbers are right-aligned. `field` names it for tests and scripts.
function td(field, value, cls) {
  const numeric = typeof value === 'number';
  return el('td', { 'data-field': field, class: (numeric ? 'n ' : '') + (cls || '') },
    numeric ? value.toLocaleString('en-US', { maximumFractionDigits: 1 }) : value);
}
const keysOf = (...objects) => [...new Set(objects.flatMap((o) => Object.keys(o || {})))]
  .sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b));

function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + (d || h || m ? m + 'm ' : '') +
    Math.floor(s % 60) + 's';
}

function sparkline(values) {
  const ns = 'http://www.w3.org/2000/svg', w = 120, h = 18;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('width', w);
  svg.setAttribute('height', h);
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', values.map((v, i) =>
    `${(i * step).toFixed(1)},${(h - 1 - (v / max) * (h - 2)).toFixed(1)}`).join(' '));
  svg.append(line);
  return svg;
}

function render(s) {
  $('version').textContent = s.version;
  const health = $('health');
  health.textContent = s.health.draining ? 'draining' : s.health.ready ? 'ready' : 'not ready';
  health.className = 'badge ' + (s.health.ready ? 'up' : 'down');
  $('health-message').textContent = s.health.ready ? '' : `/readyz ${s.health.status}: ${s.health.message}`;
  $('uptime').textContent = duration(s.uptime_s);
  $('workers').textContent = s.workers;
  $('connections').textContent = s.connections_active;
  $('sessions').textContent = s.sessions_active;

  $('listeners').replaceChildren(...s.listeners.map((l) => el('tr', { 'data-listener': l.name },
    td('name', l.name), td('address', l.address), td('tls', l.tls ? 'yes' : 'no'),
    td('connections_active', l.connections_active), td('connections_accepted_total', l.connections_accepted_total))));

  $('routes').replaceChildren(...s.routes.map((r) => el('tr', { 'data-route': r.name },
    td('name', r.name), td('listener', r.listener), td('host', r.host), td('path_prefix', r.path_prefix),
    td('pool', r.pool), td('policy', r.policy), td('sessions_active', r.sessions_active))));

  $('pools').replaceChildren(...s.pools.map((p) => el('div', { 'data-pool': p.name },
    el('h3', {}, `${p.name} `, el('span', { class: 'muted', 'data-field': 'summary' },
      `${p.balance}, ${p.backends_up} of ${p.backends.length} backends up`)),
    el('table', {},
      el('thead', {}, el('tr', {}, ...['backend', 'state', 'sessions', 'connect failures'].map((t) => el('th', {}, t)))),
      el('tbody', {}, ...p.backends.map((b) => el('tr', { 'data-backend': `${p.name} ${b.address}` },
        td('address', b.address), td('state', b.up ? 'UP' : 'DOWN', b.up ? 'up' : 'down'),
        td('sessions_active', b.sessions_active), td('connect_failures_total', b.connect_failures_total))))))));

  const last = s.last_minute, total = s.totals;
  $('window').textContent = `(${Math.round(last.window_s)} s)`;
  $('handshakes').replaceChildren(...keysOf(last.handshakes, total.handshakes).map((code) =>
    el('tr', { 'data-status': code }, td('status', code), td('reason', STATUS[code] || ''),
      td('last_minute', last.handshakes[code] || 0), td('total', total.handshakes[code] || 0))));
  const closes = [];
  for (const leg of ['client', 'backend']) {
    for (const code of keysOf(last.closes[leg], total.closes[leg])) {
      closes.push(el('tr', { 'data-close': `${leg} ${code}` }, td('leg', leg), td('code', code),
        td('meaning', CLOSE[code] || ''), td('last_minute', last.closes[leg][code] || 0),
        td('total', total.closes[leg][code] || 0)));
    }
  }
  $('closes').replaceChildren(...closes);
  $('messages').replaceChildren(...Object.keys(total.messages).map((d) =>
    el('tr', { 'data-direction': d }, td('direction', d.replaceAll('_', ' ')),
      td('last_minute', last.messages[d]), td('per_s', last.messages_per_s[d]),
      td('total', total.messages[d]), el('td', {}, sparkline(last.messages_per_second[d])))));
}

let updates = 0;
async function refresh() {
  try {
    const res = await fetch('/stats.json', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    render(await res.json());
    $('error').textContent = '';
    $('updated').textContent = new Date().toLocaleTimeString();
    document.body.dataset.updates = String(++updates);
  } catch (e) {
    $('error').textContent = `cannot read /stats.json: ${e.message}`;
  } finally {
    setTimeout(refresh, 1000);
  }
}
refresh();
</script>
</body></html>
)html";

} // namespace

std::string_view statusPageHtml() {
  return kPage.substr(1);
} // without the first newline

} // namespace wsgate::proxy
