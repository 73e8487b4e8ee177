// @ts-check
// Steering the fleet from the page (issue 26): cancel, hold or release an order, pause or
// resume the list, stop a waiter. Each asks first in the page's own <dialog> (not
// window.confirm: it cannot take a reason), then POSTs to the endpoints curl uses, the
// token as a header (api.js), and says the answer or the error in one line beside the
// button, as the command would. Names, arguments and reasons reach the DOM only as text.
import { hasToken, post } from './api.js';
import { $, el } from './dom.js';

// As src/order.ts: what cancel and hold take (HELD: the hold/release endpoints, issue 26 point 2).
var CANCELLABLE = ['READY', 'WAITING', 'RUNNING', 'HELD'];
var HOLDABLE = ['READY', 'WAITING', 'RUNNING'];

var writable = false; // until /api/info says: no token configured, or this tab holds one
var why = 'waiting for the server…';
var wrote = function () {};

/** What to do after every write that changed something (the page: refresh its figures). */
export function onWrote(fn) {
  wrote = fn;
}

/**
 * From GET /api/info: nothing changes without the token (the server refuses it), so
 * without one the buttons are disabled, and with --public-read (the page reads without
 * it) the token form is offered.
 */
export function canWrite(info) {
  writable = !info.auth || hasToken();
  why = writable ? '' : 'steering needs the token';
  document.querySelectorAll('button.steer').forEach(fix);
  if (!writable && info.publicRead) {
    $('token').placeholder = 'The token, to steer the fleet (reading needs none)';
    $('auth').hidden = false;
  }
}
function fix(b) {
  b.disabled = !writable;
  if (why) b.title = why;
  else b.removeAttribute('title');
}
function button(label, cls, onclick) {
  var b = el('button', { type: 'button', cls: 'steer ' + cls, text: label, onclick: onclick });
  fix(b);
  return b;
}

/**
 * Asks in the page's dialog; resolves with what was filled in, or null (Back, Escape).
 * @param {{ title: string, text: string, ok: string, reason?: boolean, now?: string }} q
 * @returns {Promise<{ reason: string, now: boolean } | null>}
 */
export function ask(q) {
  var d = $('confirm');
  $('confirm-title').textContent = q.title;
  $('confirm-text').textContent = q.text;
  $('confirm-ok').textContent = q.ok;
  $('confirm-reason-row').hidden = !q.reason;
  $('confirm-reason').value = '';
  $('confirm-now-row').hidden = !q.now;
  $('confirm-now-text').textContent = q.now || '';
  $('confirm-now').checked = false;
  d.returnValue = '';
  return new Promise(function (resolve) {
    d.onclose = function () {
      resolve(d.returnValue === 'ok' ? { reason: $('confirm-reason').value.trim(), now: $('confirm-now').checked } : null);
    };
    d.showModal();
  });
}
$('confirm-form').onsubmit = function (ev) {
  ev.preventDefault();
  $('confirm').close('ok');
};
$('confirm-back').onclick = function () {
  $('confirm').close();
};

/** POSTs, then says the answer (text(answer)) or the error in said; after(): what else to redraw. */
function write(said, path, body, text, after) {
  said.className = 'said small dim';
  said.textContent = 'asking…';
  return post(path, body).then(
    function (r) {
      said.className = 'said small';
      said.textContent = text(r);
      wrote();
      if (after) after();
    },
    function (e) {
      said.className = 'said small err';
      said.textContent = e.message;
    },
  );
}
function n(x) {
  return Number(x || 0).toLocaleString('en-US');
}
function counted(x, noun) {
  return n(x) + ' ' + (x === 1 ? noun : noun + 's');
}
function withReason(body, a) {
  if (a.reason) body.reason = a.reason;
  return body;
}

/** As waiter cancel says it (src/commands/cancel.ts cancelLine). */
function cancelLine(r) {
  var parts = [
    r.running ? n(r.running) + ' running: ' + (r.running === 1 ? 'its waiter stops it' : 'their waiters stop them') + ' within one heartbeat' : '',
    r.stale ? n(r.stale) + (r.stale === 1 ? ' was stale: its waiter is' : ' were stale: their waiters are') + ' gone' : '',
    r.dependants ? n(r.dependants) + ' waiting on them' : '',
    r.finished ? n(r.finished) + ' already finished, left alone' : '',
    r.busy ? n(r.busy) + ' taken over while cancelling, left alone: try again' : '',
  ].filter(Boolean);
  return 'Cancelled ' + counted(r.cancelled, 'order') + (parts.length ? ' (' + parts.join('; ') + ')' : '');
}
function holdLine(r) {
  var parts = [
    r.running ? n(r.running) + ' running: ' + (r.running === 1 ? 'its waiter stops it' : 'their waiters stop them') + ' within one heartbeat' : '',
    r.already ? n(r.already) + ' already held' : '',
    r.finished ? n(r.finished) + ' already finished, left alone' : '',
  ].filter(Boolean);
  return 'Held ' + counted(r.held, 'order') + (parts.length ? ' (' + parts.join('; ') + ')' : '');
}
function releaseLine(r) {
  return 'Released ' + counted(r.released, 'order');
}

/**
 * The order view's buttons: Cancel while not finished, Hold, or Release for a HELD one;
 * null for a finished order. said: the line for the answer; after(): redraw the order.
 */
export function orderActions(o, said, after) {
  var st = o.status;
  var what = 'Order ' + o._id + ' (' + st + ') ' + JSON.stringify(o.arguments) + '. ';
  var b = [];
  function steer(path, a, text) {
    if (a) write(said, path, withReason({ ids: [o._id] }, a), text, after);
  }
  if (CANCELLABLE.indexOf(st) >= 0)
    b.push(
      button('Cancel', 'danger', function () {
        var running = st === 'RUNNING' ? 'Its waiter stops the command within one heartbeat. ' : '';
        ask({
          title: 'Cancel this order?',
          text: what + running + 'It is kept, CANCELLED, with its history; waiter reset --status CANCELLED puts it back.',
          ok: 'Cancel the order',
          reason: true,
        }).then(function (a) {
          steer('/api/cancel', a, cancelLine);
        });
      }),
    );
  if (st === 'HELD')
    b.push(
      button('Release', '', function () {
        ask({ title: 'Release this order?', text: what + 'It can be claimed again (or waits again for the orders it waits on).', ok: 'Release' }).then(function (a) {
          steer('/api/release', a, releaseLine);
        });
      }),
    );
  else if (HOLDABLE.indexOf(st) >= 0)
    b.push(
      button('Hold', '', function () {
        var running = st === 'RUNNING' ? 'Its waiter stops the command within one heartbeat. ' : '';
        ask({ title: 'Hold this order?', text: what + running + 'No waiter claims it until it is released.', ok: 'Hold', reason: true }).then(function (a) {
          steer('/api/hold', a, holdLine);
        });
      }),
    );
  return b.length ? el('div', { cls: 'actions' }, b) : null;
}

var paused = false;
/** From the status: the list's button pauses or resumes. */
export function listState(p) {
  paused = Boolean(p);
  $('pause-list').textContent = paused ? 'Resume the list' : 'Pause the list';
}
fix($('pause-list'));
$('pause-list').onclick = function () {
  var said = $('said-list');
  if (paused)
    ask({ title: 'Resume the list?', text: 'Every waiter claims again within one heartbeat.', ok: 'Resume' }).then(function (a) {
      if (a)
        write(said, '/api/resume', {}, function (r) {
          return r.was
            ? 'Resumed the list (paused since ' + r.was.at + ' by ' + r.was.by + '): ' + counted(r.waiters, 'live waiter') + ' claim again within one heartbeat'
            : 'The list is not paused: nothing changed';
        });
    });
  else
    ask({
      title: 'Pause the list?',
      text: 'Every waiter stops claiming within one heartbeat and waits (it does not exit); running orders finish.',
      ok: 'Pause',
      reason: true,
    }).then(function (a) {
      if (a)
        write(said, '/api/pause', withReason({}, a), function (r) {
          var since = 'since ' + r.paused.at + ' by ' + r.paused.by + (r.paused.reason ? ' (' + r.paused.reason + ')' : '');
          return r.already
            ? 'The list is already paused (' + since + '): nothing changed'
            : 'Paused the list: ' + counted(r.waiters, 'live waiter') + ' stop claiming within one heartbeat; running orders finish';
        });
    });
};

/** A live waiter's Stop button (null for one STOPPING, STALE or EXITED: nothing to ask). */
export function stopButton(w, shown) {
  if (shown !== 'PROCESSING' && shown !== 'IDLE' && shown !== 'PAUSED') return null;
  return button('Stop', 'danger', function () {
    ask({
      title: 'Stop waiter ' + w.name + '?',
      text: 'On ' + w.host + '. Within one heartbeat it stops claiming, finishes its running orders and exits 0 (systemd does not start it again).',
      ok: 'Stop it',
      reason: true,
      now: 'now: interrupt its running orders (back READY at once)',
    }).then(function (a) {
      if (a)
        write($('said-waiters'), '/api/waiters/stop', withReason({ name: w.name, now: a.now }, a), function (r) {
          var how = a.now ? 'interrupt their running orders (back READY) and exit' : 'finish their running orders and exit';
          return 'Asked ' + counted(r.asked, 'waiter') + ' (' + w.name + ') to stop: within one heartbeat they stop claiming, ' + how;
        });
    });
  });
}
