// @ts-check
// The page served at GET /: this script, bundled with its modules into one inline
// script (scripts/page.js), polls the JSON API every 2 s. Job output and arguments are
// untrusted: the script only ever puts them in the DOM through textContent (never
// innerHTML), and the Content-Security-Policy allows no script but this one, by hash.
import { drawOrderAge, orderRead, showAge } from './age.js';
import { refreshCost } from './cost.js';
import { REFRESH_MS, api, setToken } from './api.js';
import { $, clock, dur, el, num, since, tail, when } from './dom.js';
import { followOutput, listFiles, stopFollowing } from './output.js';
import { canWrite, listState, onWrote, orderActions, stopButton } from './steer.js';
import { progressText, usageHow, usageText } from './usage.js';

var STATES = ['READY', 'RUNNING', 'DONE', 'ERROR', 'WAITING', 'CANCELLED', 'HELD'];
var COLORS = {
  READY: 'var(--ready)',
  RUNNING: 'var(--running)',
  DONE: 'var(--done)',
  ERROR: 'var(--error)',
  WAITING: 'var(--waiting)',
  CANCELLED: 'var(--dim)',
  HELD: 'var(--accent)',
};

/** An attempt's run time; a LOST one's stop is its last heartbeat (see show's attemptSpan). */
function lasted(h) {
  var s = (Date.parse(h.stop) - Date.parse(h.start)) / 1000;
  if (h.result !== 'LOST') return dur(s);
  return s > 0 ? 'at least ' + dur(s) : 'less than one heartbeat';
}
function idLink(id) {
  return el('a', {
    cls: 'id mono',
    text: id,
    title: 'show this order',
    onclick: function () {
      show(id);
    },
  });
}

function drawCounts(s) {
  var bar = $('bar');
  bar.replaceChildren();
  STATES.forEach(function (st) {
    var w = s.total ? (100 * s[st]) / s.total : 0;
    bar.appendChild(el('span', { style: { width: w + '%', background: COLORS[st] }, title: st + ' ' + s[st] }));
  });
  STATES.forEach(function (st) {
    $('count-' + st).textContent = num(s[st]);
  });
  $('count-total').textContent = num(s.total);
  $('onfailed').textContent = s.waitingOnFailed ? '(' + num(s.waitingOnFailed) + ' on failed orders)' : '';
  // HELD from WAITING: a release alone leaves these waiting on failed orders (as status says).
  $('heldonfailed').textContent = s.heldOnFailed ? '(' + num(s.heldOnFailed) + ' on failed orders once released)' : '';
  $('stale').textContent = s.stale ? '(' + num(s.stale) + ' stale)' : '';
  var p = s.readyByPriority || [];
  $('by-prio').textContent =
    p.length > 1
      ? 'by priority: ' +
        p
          .map(function (x) {
            return x.priority + ': ' + num(x.READY);
          })
          .join(' · ')
      : '';
  $('later').textContent = s.notYetDue ? '(' + num(s.notYetDue) + ' not yet due' + (s.nextDue ? ', next ' + when(s.nextDue) : '') + ')' : '';
  $('pace10').textContent = s.pace10m == null ? '–' : s.pace10m.toFixed(1) + ' /min';
  $('pace1').textContent = s.pace1m == null ? '–' : s.pace1m.toFixed(1) + ' /min';
  $('median').textContent = dur(s.medianRunSeconds);
  $('live').textContent = num(s.waiters);
  // The list paused (waiter pause): said first, with since when and by whom.
  var paused = $('paused');
  listState(s.paused);
  paused.hidden = !s.paused;
  paused.textContent = s.paused
    ? 'PAUSED since ' + when(s.paused.at) + ' by ' + s.paused.by + (s.paused.reason ? ' (' + s.paused.reason + ')' : '') + ': no new orders are claimed until waiter resume'
    : '';
  var eta = $('eta');
  // Only waitingOnFailed are held by a failed order; the rest wait on WAITING ones or for a release.
  if (s.READY === 0 && s.RUNNING === 0 && s.WAITING)
    eta.textContent = !s.waitingOnFailed
      ? num(s.WAITING) + ' WAITING, none of them on a failed order'
      : (s.waitingOnFailed < s.WAITING ? num(s.waitingOnFailed) + ' of ' : '') + num(s.WAITING) + ' WAITING on failed orders: reset them';
  // In etaSeconds from when the figures were read (ageSeconds ago); the clock from this
  // browser's own now (the server's may differ); orders not yet due and WAITING are not in it.
  else if (s.eta) {
    var inS = Math.max(0, s.etaSeconds - (s.ageSeconds || 0));
    var out = [s.notYetDue ? num(s.notYetDue) + ' not yet due' : '', s.WAITING ? num(s.WAITING) + ' WAITING' : ''].filter(Boolean);
    eta.textContent = clock(new Date(Date.now() + inS * 1000).toISOString()) + ' (in ' + dur(inS) + ')' + (out.length ? '; ' + out.join(', ') + ' not counted' : '');
  } else if (s.READY === 0 && s.RUNNING === 0) eta.textContent = s.total ? 'all done' : 'the list is empty';
  else if (s.READY === 0) eta.textContent = 'nothing left to claim; ' + num(s.RUNNING) + ' running';
  else eta.textContent = s.etaReason || 'no finished orders in the last 10 minutes';
}

function drawChart(p) {
  var svg = $('chart');
  var NS = 'http://www.w3.org/2000/svg';
  svg.replaceChildren();
  var max = Math.max.apply(
    null,
    p.minutes
      .map(function (x) {
        return x.finished;
      })
      .concat([1]),
  );
  var W = 600,
    H = 100,
    n = p.minutes.length,
    bw = W / n;
  p.minutes.forEach(function (x, i) {
    var h = Math.round(((H - 14) * x.finished) / max);
    var r = document.createElementNS(NS, 'rect');
    r.setAttribute('x', String(i * bw + 1));
    r.setAttribute('width', String(Math.max(1, bw - 2)));
    r.setAttribute('y', String(H - h));
    r.setAttribute('height', String(Math.max(h, x.finished ? 1 : 0)));
    var t = document.createElementNS(NS, 'title');
    t.textContent = clock(x.start) + ': ' + x.finished + ' finished';
    r.appendChild(t);
    svg.appendChild(r);
  });
  $('chart-max').textContent = 'peak ' + max + ' /min';
  var total = p.minutes.reduce(function (a, x) {
    return a + x.finished;
  }, 0);
  $('hour').textContent = num(total) + ' finished in the last hour';
}

function drawWaiters(ws) {
  var body = $('waiters');
  var now = Date.now();
  body.replaceChildren();
  $('no-waiters').hidden = ws.length > 0;
  var live = ws.filter(function (w) {
    return w.state === 'PROCESSING' || w.state === 'IDLE';
  });
  ws.forEach(function (w) {
    var cur = w.current;
    var shown = shownState(w);
    body.appendChild(
      el('tr', { 'data-name': w.name }, [
        el('td', { 'data-label': 'name', cls: 'mono', text: w.name }),
        el('td', { 'data-label': 'host', text: w.host }),
        el('td', { 'data-label': 'state', title: w.reason || '' }, [
          el('span', null, [el('span', { cls: 'badge ' + shown, text: shown }), w.reason ? el('span', { cls: 'dim small', text: ' ' + w.reason }) : null]),
        ]),
        el('td', { 'data-label': 'running', cls: 'n', text: num((w.running || []).length) }),
        el('td', { 'data-label': 'delivered', cls: 'n', text: num(w.delivered) }),
        el('td', { 'data-label': 'failed', cls: 'n', text: num(w.failed) }),
        // Up until it ended, or for a STALE one until it was last seen (as waiter waiters shows it).
        el('td', { 'data-label': 'up', cls: 'n', text: since(w.started, w.ended ? Date.parse(w.ended) : w.state === 'STALE' ? Date.parse(w.seen) : now) }),
        el('td', { 'data-label': 'seen', cls: 'n', text: since(w.seen, now) + ' ago' }),
        el('td', { 'data-label': 'now', cls: 'now' }, [
          cur
            ? el('span', null, [
                idLink(cur.order),
                cur.progress ? el('span', { cls: 'small progress', text: ' ' + progressText(cur.progress) }) : null,
                el('span', { cls: 'mono small', text: ' ' + JSON.stringify(cur.arguments) }),
              ])
            : el('span', { cls: 'dim', text: '–' }),
        ]),
        el('td', { 'data-label': 'steer', cls: 'steer' }, [
          stopButton(
            w,
            shown,
            live.filter(function (x) {
              return x.name === w.name;
            }),
          ),
        ]),
      ]),
    );
  });
}

/** As waiter waiters shows it: STOPPING (waiter stop asked it) or PAUSED (the list is) over a live waiter's state. */
function shownState(w) {
  if (w.state !== 'PROCESSING' && w.state !== 'IDLE') return w.state;
  return w.stop ? 'STOPPING' : w.paused ? 'PAUSED' : w.state;
}

function drawFailed(orders) {
  var list = $('failed');
  list.replaceChildren();
  $('no-failed').hidden = orders.length > 0;
  orders.forEach(function (o) {
    list.appendChild(
      el('li', { 'data-id': o._id }, [
        el('div', null, [
          idLink(o._id),
          el('span', { cls: 'dim small', text: '  ' + when(o.stop) + (o.waiter ? ' · ' + o.waiter : '') + (o.priority ? ' · priority ' + o.priority : '') }),
        ]),
        el('div', { cls: 'mono small', text: JSON.stringify(o.arguments) }),
        el('div', { cls: 'err', text: o.error || 'failed' }),
        o.output ? el('pre', { cls: 'output', text: tail(o.output, 12) }) : null,
      ]),
    );
  });
}

function show(id) {
  id = id.trim();
  $('q').value = id;
  var out = $('found');
  stopFollowing(); // the order shown before stops being followed
  out.replaceChildren(el('p', { cls: 'dim', text: 'looking…' }));
  api('/api/orders/' + encodeURIComponent(id))
    .then(function (o) {
      var details = el('div');
      var files = el('div');
      var live = el('div');
      var tailBox = el('div');
      var said = el('p', { cls: 'said small', role: 'status' });
      var draw = function (x) {
        details.replaceChildren.apply(details, orderParts(x, said, reread));
      };
      // The order's fields as they are now (status, exit code, attempts): after it ended, or a button
      // read it (x) or changed it.
      var reread = function (x) {
        var got = x ? Promise.resolve(x) : api('/api/orders/' + encodeURIComponent(id));
        got.then(
          function (now) {
            draw(now);
            orderRead();
            drawOrderAge();
          },
          function () {},
        );
      };
      draw(o);
      orderRead();
      var parts = [details, el('p', { id: 'order-age', cls: 'dim small asof' }), files];
      if ((o.attempts || 0) > 0) listFiles(o._id, files);
      if (o.status === 'READY' || o.status === 'RUNNING' || (o.attempts || 0) > 0) {
        parts.push(el('h2', { text: 'output', cls: 'sub' }), live, tailBox);
        // The live output of the last attempt; none kept (an older waiter, --keep-output 0): the tail the order keeps.
        followOutput(
          o._id,
          live,
          function (any, r) {
            if (!any && r.ended) {
              live.replaceChildren();
              tailBox.replaceChildren(o.output ? el('pre', { cls: 'output', text: o.output }) : el('p', { cls: 'dim small', text: 'no output kept' }));
            }
          },
          function (r, whileShown) {
            if (!whileShown) return;
            reread();
            listFiles(o._id, files); // stored before the attempt's end was recorded
          },
        );
      }
      out.replaceChildren.apply(out, parts);
      drawOrderAge();
    })
    .catch(function (e) {
      out.replaceChildren(el('p', { cls: 'err', text: e.message }));
    });
}
/** The order's fields, its steering buttons (their answer in said; after(): redraw it) and its attempts. */
function orderParts(o, said, after) {
  var rows = [
    ['status', el('span', { cls: 'badge ' + o.status, text: o.status })],
    ['priority', o.priority ? String(o.priority) : '0 (default)'],
    ['arguments', el('code', { text: JSON.stringify(o.arguments) })],
    // Given-back attempts (held, a spot notice) keep their numbers but do not use up --max-attempts.
    ['attempts', String(o.attempts) + (o.uncounted ? ' (' + o.uncounted + ' not counted toward --max-attempts)' : '')],
    ['waiter', o.waiter || '–'],
    ['start', when(o.start)],
    ['stop', when(o.stop)],
    ['duration', o.start && o.stop ? dur((Date.parse(o.stop) - Date.parse(o.start)) / 1000) : '–'],
  ];
  if (o.exitCode != null) rows.push(['exit code', String(o.exitCode)]);
  if (o.signal) rows.push(['signal', o.signal]);
  if (o.error) rows.push(['error', el('span', { cls: 'err', text: o.error })]);
  // What the last attempt used (src/usage/), and its command's progress: kept current while it runs (output.js).
  if (o.usage) rows.push(['usage', el('span', { id: 'order-usage', title: usageHow(o.usage), text: usageText(o.usage) })]);
  if (o.progress || o.status === 'RUNNING') rows.push(['progress', el('span', { id: 'order-progress', text: o.progress ? progressText(o.progress) : '–' })]);
  var dl = el('dl');
  rows.forEach(function (r) {
    dl.appendChild(el('dt', { text: r[0] }));
    dl.appendChild(el('dd', null, [r[1]]));
  });
  var hist = (o.history || []).map(function (h) {
    return el('li', {
      text:
        '#' +
        h.attempt +
        ' ' +
        h.result +
        ' by ' +
        h.waiter +
        ', ' +
        when(h.start) +
        ' → ' +
        clock(h.stop) +
        ' (' +
        lasted(h) +
        ')' +
        (h.exitCode != null ? ', exit ' + h.exitCode : '') +
        (h.error ? ', ' + h.error : '') +
        (h.usage ? ' · ' + usageText(h.usage) : '') +
        (h.progress && h.result !== 'DONE' ? ' · progress ' + progressText(h.progress) : ''),
    });
  });
  var actions = orderActions(o, said, after);
  var parts = actions ? [el('div', { cls: 'mono small', text: o._id }), dl, actions, said] : [el('div', { cls: 'mono small', text: o._id }), dl, said];
  if (hist.length) parts.push(el('h2', { text: 'attempts', cls: 'sub' }), el('ol', { cls: 'history small' }, hist));
  return parts;
}

var busy = false;
var SHARED = ['/api/status', '/api/pace', '/api/waiters', '/api/failed'];
function refresh() {
  if (busy || document.hidden) return;
  if (infoAsked === 'failed') info();
  busy = true;
  refreshCost(); // its own pace: at most every 30 s
  Promise.all([api('/api/status').then(drawCounts), api('/api/pace').then(drawChart), api('/api/waiters').then(drawWaiters), api('/api/failed').then(drawFailed)])
    .then(
      function () {
        // When the kitchen answered, not when the page asked: an old answer says its age.
        $('updated').className = 'live';
        showAge(SHARED);
      },
      function (e) {
        $('updated').className = 'live down';
        $('updated').textContent = (e.status === 401 ? 'token needed' : e.message) + ' · retrying';
      },
    )
    .then(function () {
      busy = false;
    });
}

$('search').onsubmit = function (ev) {
  ev.preventDefault();
  if ($('q').value.trim()) show($('q').value.trim());
};
$('auth').onsubmit = function (ev) {
  ev.preventDefault();
  setToken($('token').value.trim());
  $('token').value = '';
  $('auth').hidden = true;
  info();
  refresh();
};
// The header's list and kitchen: at load, and again once a token is given (without one the first ask was refused).
// Failed (the server down, a 401): asked again at the next refresh, else the buttons stay disabled for good.
var infoAsked = '';
function info() {
  infoAsked = 'asking';
  api('/api/info')
    .then(function (i) {
      infoAsked = 'known';
      $('list').textContent = i.list;
      $('where').textContent = i.kitchen;
      document.title = 'waiter · ' + i.list;
      canWrite(i);
    })
    .catch(function () {
      infoAsked = 'failed';
    });
}
onWrote(refresh);
info();
refresh();
setInterval(refresh, REFRESH_MS);
document.addEventListener('visibilitychange', refresh);
