// The page served at GET /: one self-contained HTML document (inline CSS and JS, no
// CDN: kitchens are often on closed networks). It polls the JSON API every 2 s.
// Job output and arguments are untrusted: the script only ever puts them in the DOM
// through textContent (never innerHTML), and the Content-Security-Policy allows no
// script but this one, by hash.
import { createHash } from 'node:crypto';
import { AGE_CSS, AGE_JS } from './page-age.js';
import { OUTPUT_CSS, OUTPUT_JS } from './page-output.js';

const BASE_CSS = String.raw`
:root { --bg:#f6f7f9; --card:#fff; --fg:#1c2330; --dim:#667085; --line:#e4e7ec;
  --ready:#7c8aa5; --running:#e2a100; --done:#2f9e5b; --error:#d64545; --stale:#9b59b6; --waiting:#b8bfcc; --accent:#2f6fde; }
@media (prefers-color-scheme: dark) { :root { --bg:#11151c; --card:#1a202a; --fg:#e6e9ef; --dim:#98a2b3; --line:#2b3340; --accent:#6d9cf0; } }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; }
header { display:flex; flex-wrap:wrap; align-items:baseline; gap:.25rem 1rem; padding:.9rem 1rem; background:var(--card); border-bottom:1px solid var(--line); }
header h1 { margin:0; font-size:1.15rem; }
header .where { color:var(--dim); font-size:.85rem; }
header .live { margin-left:auto; font-size:.85rem; color:var(--dim); }
.live::before { content:""; display:inline-block; width:.55rem; height:.55rem; border-radius:50%; background:var(--done); margin-right:.4rem; vertical-align:middle; }
.live.down::before { background:var(--error); }
main { max-width:1100px; margin:0 auto; padding:1rem; display:grid; gap:1rem; grid-template-columns:minmax(0,1fr); align-items:start; }
@media (min-width:900px) { main { grid-template-columns:minmax(0,3fr) minmax(0,2fr); } .wide { grid-column:1 / -1; } }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:1rem; min-width:0; }
h2 { margin:0 0 .7rem; font-size:.8rem; letter-spacing:.06em; text-transform:uppercase; color:var(--dim); }
.bar { display:flex; height:1.4rem; border-radius:6px; overflow:hidden; background:var(--line); }
.bar span { height:100%; transition:width .4s; }
.legend { display:flex; flex-wrap:wrap; gap:.4rem 1.2rem; margin-top:.7rem; }
.legend div { display:flex; align-items:baseline; gap:.35rem; }
.legend b { font-size:1.35rem; font-variant-numeric:tabular-nums; }
.legend i { width:.7rem; height:.7rem; border-radius:2px; display:inline-block; }
.legend i.READY { background:var(--ready); } .legend i.RUNNING { background:var(--running); } .legend i.DONE { background:var(--done); } .legend i.ERROR { background:var(--error); } .legend i.WAITING { background:var(--waiting); }
h2.sub { margin-top:.8rem; }
.dim { color:var(--dim); }
.small { font-size:.85rem; }
.figures { display:flex; flex-wrap:wrap; gap:.5rem 1.5rem; margin-bottom:.6rem; }
.figures b { display:block; font-size:1.35rem; font-variant-numeric:tabular-nums; }
svg.chart { width:100%; height:110px; display:block; margin:.3rem 0; }
.pace .eta { margin:.2rem 0 .6rem; }
svg.chart rect { fill:var(--accent); }
svg.chart text { fill:var(--dim); font-size:11px; }
.axis { display:flex; justify-content:space-between; font-size:.75rem; color:var(--dim); }
table { width:100%; border-collapse:collapse; font-size:.9rem; }
th, td { text-align:left; padding:.4rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--dim); font-weight:600; font-size:.75rem; text-transform:uppercase; }
td.n { text-align:right; font-variant-numeric:tabular-nums; }
.badge { display:inline-block; padding:.05rem .45rem; border-radius:999px; font-size:.75rem; font-weight:600; color:#fff; background:var(--ready); }
.badge.PROCESSING, .badge.RUNNING { background:var(--running); }
.badge.IDLE, .badge.READY { background:var(--ready); }
.badge.STALE { background:var(--stale); }
.badge.EXITED { background:#8a8f98; }
.badge.DONE { background:var(--done); }
.badge.ERROR { background:var(--error); }
.mono, code, pre { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:.82rem; }
pre { margin:.4rem 0 0; padding:.5rem .6rem; background:var(--bg); border:1px solid var(--line); border-radius:6px; max-height:12rem; overflow:auto; white-space:pre-wrap; word-break:break-all; }
.failed { list-style:none; margin:0; padding:0; }
.failed li { padding:.6rem 0; border-bottom:1px solid var(--line); }
.failed li:last-child { border-bottom:0; }
.err { color:var(--error); font-weight:600; }
a.id { color:var(--accent); cursor:pointer; text-decoration:none; word-break:break-all; }
form { display:flex; gap:.5rem; }
input { flex:1; min-width:0; font:inherit; padding:.45rem .6rem; border:1px solid var(--line); border-radius:6px; background:var(--bg); color:var(--fg); }
button { font:inherit; padding:.45rem .9rem; border:0; border-radius:6px; background:var(--accent); color:#fff; cursor:pointer; }
dl { display:grid; grid-template-columns:max-content minmax(0,1fr); gap:.25rem .8rem; margin:.8rem 0 0; }
dt { color:var(--dim); }
dd { margin:0; word-break:break-all; }
.history { margin:.3rem 0 0; padding-left:1.1rem; }
.notice { padding:.6rem 1rem; background:#fff3cd; color:#664d03; border-bottom:1px solid var(--line); }
.notice[hidden], [hidden] { display:none !important; }
@media (max-width:600px) {
  main { padding:.6rem; gap:.6rem; }
  table.cards thead { display:none; }
  table.cards tr { display:block; padding:.5rem 0; border-bottom:1px solid var(--line); }
  table.cards td { display:flex; justify-content:space-between; gap:1rem; border:0; padding:.12rem 0; text-align:right; }
  table.cards td::before { content:attr(data-label); color:var(--dim); font-size:.8rem; text-align:left; }
}
`;

const BASE_JS = String.raw`
'use strict';
var STATES = ['READY', 'RUNNING', 'DONE', 'ERROR', 'WAITING'];
var COLORS = { READY: 'var(--ready)', RUNNING: 'var(--running)', DONE: 'var(--done)', ERROR: 'var(--error)', WAITING: 'var(--waiting)' };
var token = sessionStorage.getItem('waiter-token') || '';
var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
if (m) { token = decodeURIComponent(m[1]); sessionStorage.setItem('waiter-token', token); history.replaceState(null, '', location.pathname); }
var $ = function (id) { return document.getElementById(id); };

// Builds an element; text only ever through textContent.
function el(tag, props, kids) {
  var e = document.createElement(tag);
  if (props) for (var k in props) {
    if (k === 'text') e.textContent = props[k];
    else if (k === 'cls') e.className = props[k];
    else if (k === 'style') Object.assign(e.style, props[k]); // CSSOM: allowed by the CSP, style attributes are not
    else if (k === 'onclick') e.onclick = props[k];
    else e.setAttribute(k, props[k]);
  }
  (kids || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
  return e;
}
function api(path, opts) {
  var headers = token ? { Authorization: 'Bearer ' + token } : {};
  return fetch(path, Object.assign({ headers: headers, cache: 'no-store' }, opts || {})).then(function (r) {
    ages[path] = Number(r.headers.get('Age')) || 0;
    return r.json().catch(function () { return { error: 'HTTP ' + r.status }; }).then(function (body) {
      if (r.status === 401) $('auth').hidden = false;
      if (!r.ok) { var e = new Error(body.error || ('HTTP ' + r.status)); e.status = r.status; throw e; }
      return body;
    });
  });
}
function num(n) { return n == null ? '–' : Number(n).toLocaleString(); }
function dur(s) {
  if (s == null || !isFinite(s)) return '–';
  if (s < 10) return s.toFixed(1) + ' s';
  if (s < 90) return Math.round(s) + ' s';
  var mi = Math.round(s / 60);
  if (mi < 90) return mi + ' min';
  var h = Math.floor(mi / 60);
  if (h < 48) return h + ' h ' + (mi % 60) + ' min';
  return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
}
/** An attempt's run time; a LOST one's stop is its last heartbeat (see show's attemptSpan). */
function lasted(h) {
  var s = (Date.parse(h.stop) - Date.parse(h.start)) / 1000;
  if (h.result !== 'LOST') return dur(s);
  return s > 0 ? 'at least ' + dur(s) : 'less than one heartbeat';
}
function since(iso, now) { return iso ? dur((now - Date.parse(iso)) / 1000) : '–'; }
function clock(iso) { return iso ? new Date(iso).toLocaleTimeString() : '–'; }
function when(iso) { return iso ? new Date(iso).toLocaleString() : '–'; }
function idLink(id) { return el('a', { cls: 'id mono', text: id, title: 'show this order', onclick: function () { show(id); } }); }

function drawCounts(s) {
  var bar = $('bar');
  bar.replaceChildren();
  STATES.forEach(function (st) {
    var w = s.total ? (100 * s[st] / s.total) : 0;
    bar.appendChild(el('span', { style: { width: w + '%', background: COLORS[st] }, title: st + ' ' + s[st] }));
  });
  STATES.forEach(function (st) { $('count-' + st).textContent = num(s[st]); });
  $('count-total').textContent = num(s.total);
  $('onfailed').textContent = s.waitingOnFailed ? '(' + num(s.waitingOnFailed) + ' on failed orders)' : '';
  $('stale').textContent = s.stale ? '(' + num(s.stale) + ' stale)' : '';
  var p = s.readyByPriority || [];
  $('by-prio').textContent = p.length > 1 ? 'by priority: ' + p.map(function (x) { return x.priority + ': ' + num(x.READY); }).join(' · ') : '';
  $('later').textContent = s.notYetDue ? '(' + num(s.notYetDue) + ' not yet due' + (s.nextDue ? ', next ' + when(s.nextDue) : '') + ')' : '';
  $('pace10').textContent = s.pace10m == null ? '–' : s.pace10m.toFixed(1) + ' /min';
  $('pace1').textContent = s.pace1m == null ? '–' : s.pace1m.toFixed(1) + ' /min';
  $('median').textContent = dur(s.medianRunSeconds);
  $('live').textContent = num(s.waiters);
  var eta = $('eta');
  // Only waitingOnFailed are held by a failed order; the rest wait on WAITING ones or for a release.
  if (s.READY === 0 && s.RUNNING === 0 && s.WAITING) eta.textContent = !s.waitingOnFailed ? num(s.WAITING) + ' WAITING, none of them on a failed order'
    : (s.waitingOnFailed < s.WAITING ? num(s.waitingOnFailed) + ' of ' : '') + num(s.WAITING) + ' WAITING on failed orders: reset them';
  // In etaSeconds from when the figures were read (ageSeconds ago); the clock from this
  // browser's own now (the server's may differ); orders not yet due and WAITING are not in it.
  else if (s.eta) {
    var inS = Math.max(0, s.etaSeconds - (s.ageSeconds || 0));
    var out = [s.notYetDue ? num(s.notYetDue) + ' not yet due' : '', s.WAITING ? num(s.WAITING) + ' WAITING' : ''].filter(Boolean);
    eta.textContent = clock(new Date(Date.now() + inS * 1000).toISOString()) + ' (in ' + dur(inS) + ')' + (out.length ? '; ' + out.join(', ') + ' not counted' : '');
  }
  else if (s.READY === 0 && s.RUNNING === 0) eta.textContent = s.total ? 'all done' : 'the list is empty';
  else if (s.READY === 0) eta.textContent = 'nothing left to claim; ' + num(s.RUNNING) + ' running';
  else eta.textContent = s.etaReason || 'no finished orders in the last 10 minutes';
}

function drawChart(p) {
  var svg = $('chart');
  var NS = 'http://www.w3.org/2000/svg';
  svg.replaceChildren();
  var max = Math.max.apply(null, p.minutes.map(function (x) { return x.finished; }).concat([1]));
  var W = 600, H = 100, n = p.minutes.length, bw = W / n;
  p.minutes.forEach(function (x, i) {
    var h = Math.round((H - 14) * x.finished / max);
    var r = document.createElementNS(NS, 'rect');
    r.setAttribute('x', String(i * bw + 1)); r.setAttribute('width', String(Math.max(1, bw - 2)));
    r.setAttribute('y', String(H - h)); r.setAttribute('height', String(Math.max(h, x.finished ? 1 : 0)));
    var t = document.createElementNS(NS, 'title');
    t.textContent = clock(x.start) + ': ' + x.finished + ' finished';
    r.appendChild(t);
    svg.appendChild(r);
  });
  $('chart-max').textContent = 'peak ' + max + ' /min';
  var total = p.minutes.reduce(function (a, x) { return a + x.finished; }, 0);
  $('hour').textContent = num(total) + ' finished in the last hour';
}

function drawWaiters(ws) {
  var body = $('waiters');
  var now = Date.now();
  body.replaceChildren();
  $('no-waiters').hidden = ws.length > 0;
  ws.forEach(function (w) {
    var cur = w.current;
    body.appendChild(el('tr', { 'data-name': w.name }, [
      el('td', { 'data-label': 'name', cls: 'mono', text: w.name }),
      el('td', { 'data-label': 'host', text: w.host }),
      el('td', { 'data-label': 'state', title: w.reason || '' }, [el('span', null, [el('span', { cls: 'badge ' + w.state, text: w.state }), w.reason ? el('span', { cls: 'dim small', text: ' ' + w.reason }) : null])]),
      el('td', { 'data-label': 'running', cls: 'n', text: num((w.running || []).length) }),
      el('td', { 'data-label': 'delivered', cls: 'n', text: num(w.delivered) }),
      el('td', { 'data-label': 'failed', cls: 'n', text: num(w.failed) }),
      // Up until it ended, or for a STALE one until it was last seen (as waiter waiters shows it).
      el('td', { 'data-label': 'up', cls: 'n', text: since(w.started, w.ended ? Date.parse(w.ended) : w.state === 'STALE' ? Date.parse(w.seen) : now) }),
      el('td', { 'data-label': 'seen', cls: 'n', text: since(w.seen, now) + ' ago' }),
      el('td', { 'data-label': 'now', cls: 'now' }, [cur ? el('span', null, [idLink(cur.order), el('span', { cls: 'mono small', text: ' ' + JSON.stringify(cur.arguments) })]) : el('span', { cls: 'dim', text: '–' })]),
    ]));
  });
}

function drawFailed(orders) {
  var list = $('failed');
  list.replaceChildren();
  $('no-failed').hidden = orders.length > 0;
  orders.forEach(function (o) {
    list.appendChild(el('li', { 'data-id': o._id }, [
      el('div', null, [idLink(o._id), el('span', { cls: 'dim small', text: '  ' + when(o.stop) + (o.waiter ? ' · ' + o.waiter : '') + (o.priority ? ' · priority ' + o.priority : '') })]),
      el('div', { cls: 'mono small', text: JSON.stringify(o.arguments) }),
      el('div', { cls: 'err', text: o.error || 'failed' }),
      o.output ? el('pre', { cls: 'output', text: tail(o.output, 12) }) : null,
    ]));
  });
}
function tail(text, lines) { var a = text.replace(/\n$/, '').split('\n'); return a.slice(-lines).join('\n'); }

function show(id) {
  id = id.trim();
  $('q').value = id;
  var out = $('found');
  following++; // the order shown before stops being followed
  out.replaceChildren(el('p', { cls: 'dim', text: 'looking…' }));
  api('/api/orders/' + encodeURIComponent(id)).then(function (o) {
    var details = el('div');
    var files = el('div');
    var live = el('div');
    var tailBox = el('div');
    details.replaceChildren.apply(details, orderParts(o));
    orderAt = Date.now();
    var parts = [details, el('p', { id: 'order-age', cls: 'dim small asof' }), files];
    if ((o.attempts || 0) > 0) listFiles(o._id, files);
    if (o.status === 'READY' || o.status === 'RUNNING' || (o.attempts || 0) > 0) {
      parts.push(el('h2', { text: 'output', cls: 'sub' }), live, tailBox);
      // The live output of the last attempt; none kept (an older waiter, --keep-output 0): the tail the order keeps.
      followOutput(o._id, live, function (any, r) {
        if (!any && r.ended) {
          live.replaceChildren();
          tailBox.replaceChildren(o.output ? el('pre', { cls: 'output', text: o.output }) : el('p', { cls: 'dim small', text: 'no output kept' }));
        }
      }, function (r, whileShown) {
        // Ended while shown: the order's fields as they are now (status, exit code, attempts).
        if (!whileShown) return;
        api('/api/orders/' + encodeURIComponent(id)).then(function (now) { details.replaceChildren.apply(details, orderParts(now)); orderAt = Date.now(); drawOrderAge(); }, function () {});
        listFiles(o._id, files); // stored before the attempt's end was recorded
      });
    }
    out.replaceChildren.apply(out, parts);
    drawOrderAge();
  }).catch(function (e) { out.replaceChildren(el('p', { cls: 'err', text: e.message })); });
}
function orderParts(o) {
  var rows = [
    ['status', el('span', { cls: 'badge ' + o.status, text: o.status })],
    ['priority', o.priority ? String(o.priority) : '0 (default)'],
    ['arguments', el('code', { text: JSON.stringify(o.arguments) })],
    ['attempts', String(o.attempts)],
    ['waiter', o.waiter || '–'],
    ['start', when(o.start)],
    ['stop', when(o.stop)],
    ['duration', o.start && o.stop ? dur((Date.parse(o.stop) - Date.parse(o.start)) / 1000) : '–'],
  ];
  if (o.exitCode != null) rows.push(['exit code', String(o.exitCode)]);
  if (o.signal) rows.push(['signal', o.signal]);
  if (o.error) rows.push(['error', el('span', { cls: 'err', text: o.error })]);
  var dl = el('dl');
  rows.forEach(function (r) { dl.appendChild(el('dt', { text: r[0] })); dl.appendChild(el('dd', null, [r[1]])); });
  var hist = (o.history || []).map(function (h) {
    return el('li', { text: '#' + h.attempt + ' ' + h.result + ' by ' + h.waiter + ', ' + when(h.start) + ' → ' + clock(h.stop) +
      ' (' + lasted(h) + ')' + (h.exitCode != null ? ', exit ' + h.exitCode : '') + (h.error ? ', ' + h.error : '') });
  });
  var parts = [el('div', { cls: 'mono small', text: o._id }), dl];
  if (hist.length) parts.push(el('h2', { text: 'attempts', cls: 'sub' }), el('ol', { cls: 'history small' }, hist));
  return parts;
}

var busy = false;
var REFRESH_MS = 2000;
var SHARED = ['/api/status', '/api/pace', '/api/waiters', '/api/failed'];
function refresh() {
  if (busy || document.hidden) return;
  busy = true;
  Promise.all([
    api('/api/status').then(drawCounts),
    api('/api/pace').then(drawChart),
    api('/api/waiters').then(drawWaiters),
    api('/api/failed').then(drawFailed),
  ]).then(function () {
    // When the kitchen answered, not when the page asked: an old answer says its age.
    $('updated').className = 'live';
    showAge(SHARED);
  }, function (e) {
    $('updated').className = 'live down';
    $('updated').textContent = (e.status === 401 ? 'token needed' : e.message) + ' · retrying';
  }).then(function () { busy = false; });
}

$('search').onsubmit = function (ev) { ev.preventDefault(); if ($('q').value.trim()) show($('q').value.trim()); };
$('auth').onsubmit = function (ev) {
  ev.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('waiter-token', token);
  $('token').value = '';
  $('auth').hidden = true;
  info();
  refresh();
};
// The header's list and kitchen: at load, and again once a token is given (without one the first ask was refused).
function info() {
  api('/api/info').then(function (i) {
    $('list').textContent = i.list;
    $('where').textContent = i.kitchen;
    document.title = 'waiter · ' + i.list;
  }).catch(function () {});
}
info();
refresh();
setInterval(refresh, REFRESH_MS);
document.addEventListener('visibilitychange', refresh);
`;

const BODY = String.raw`
<header><h1>waiter · <span id="list">…</span></h1><span class="where" id="where"></span><span class="live" id="updated">connecting…</span></header>
<form id="auth" class="notice" hidden><input id="token" type="password" autocomplete="off" placeholder="This kitchen needs a token"><button>Use token</button></form>
<main>
<section class="wide" aria-labelledby="h-orders"><h2 id="h-orders">Orders</h2>
  <div class="bar" id="bar" role="img" aria-label="orders by state"></div>
  <div class="legend">
    <div><i class="READY"></i>READY <b id="count-READY">–</b> <span class="dim small" id="later"></span> <span class="dim small" id="by-prio"></span></div>
    <div><i class="RUNNING"></i>RUNNING <b id="count-RUNNING">–</b> <span class="dim small" id="stale"></span></div>
    <div><i class="DONE"></i>DONE <b id="count-DONE">–</b></div>
    <div><i class="ERROR"></i>ERROR <b id="count-ERROR">–</b></div>
    <div><i class="WAITING"></i>WAITING <b id="count-WAITING">–</b> <span class="dim small" id="onfailed"></span></div>
    <div class="dim">total <b id="count-total">–</b></div>
  </div>
</section>
<section class="pace" aria-labelledby="h-pace"><h2 id="h-pace">Pace</h2>
  <div class="figures">
    <div><span class="dim small">last 10 min</span><b id="pace10">–</b></div>
    <div><span class="dim small">last minute</span><b id="pace1">–</b></div>
    <div><span class="dim small">median run</span><b id="median">–</b></div>
    <div><span class="dim small">live waiters</span><b id="live">–</b></div>
  </div>
  <div class="small eta">ETA: <b id="eta">–</b></div>
  <div class="axis"><span>finished per minute, last hour</span><span id="chart-max"></span></div>
  <svg class="chart" id="chart" viewBox="0 0 600 100" preserveAspectRatio="none" role="img" aria-label="orders finished per minute, last hour"></svg>
  <div class="axis"><span>−60 min</span><span id="hour"></span><span>now</span></div>
</section>
<section aria-labelledby="h-find"><h2 id="h-find">Find an order</h2>
  <form id="search"><input id="q" placeholder="order id (24 hex digits)" autocomplete="off" spellcheck="false"><button>Show</button></form>
  <div id="found"></div>
</section>
<section class="wide" aria-labelledby="h-waiters"><h2 id="h-waiters">Waiters</h2>
  <table class="cards"><thead><tr><th>name</th><th>host</th><th>state</th><th>running</th><th>delivered</th><th>failed</th><th>up</th><th>seen</th><th>now</th></tr></thead>
  <tbody id="waiters"></tbody></table>
  <p class="dim small" id="no-waiters" hidden>No waiter has reported in the last hour.</p>
</section>
<section class="wide" aria-labelledby="h-failed"><h2 id="h-failed">Latest failed orders</h2>
  <ul class="failed" id="failed"></ul>
  <p class="dim small" id="no-failed" hidden>No failed orders.</p>
</section>
</main>
`;

const CSS = BASE_CSS + OUTPUT_CSS + AGE_CSS;
const JS = BASE_JS + OUTPUT_JS + AGE_JS;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>waiter</title>
<style>${CSS}</style>
</head><body>${BODY}<script>${JS}</script>
</body></html>
`;

/** Only this page's own script and style run; it talks only to this server. */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(JS)}`,
  `style-src ${sha256(CSS)}`,
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
