// @ts-check
// Steering the fleet from the page (issue 26): cancel, hold or release an order, pause or
// resume the list, stop a waiter. Each asks first in the page's own <dialog> (not
// window.confirm: it cannot take a reason), then POSTs to the endpoints curl uses, the
// token as a header (api.js), and says the answer or the error in one line beside the
// button, as the command would. Names, arguments and reasons reach the DOM only as text.
// A button stays disabled from its click until its answer (no second POST), across redraws.
import { api, hasToken, post } from './api.js';
import { $, el, when } from './dom.js';

// As src/order.ts: what cancel, hold and release take.
var CANCELLABLE = ['READY', 'WAITING', 'RUNNING', 'HELD'];
var HOLDABLE = ['READY', 'WAITING', 'RUNNING'];

var writable = false; // until /api/info says: no token configured, or this tab holds one
var why = 'waiting for the server…';
var wrote = function () {};
/** @type {Record<string, boolean>} what is being steered ('order <id>', 'list', 'stop <name>'): its buttons wait */
var inFlight = {};

/** What to do after every write, done or refused (the page: refresh its figures). */
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
  fixAll();
  if (!writable && info.publicRead) {
    $('token').placeholder = 'The token, to steer the fleet (reading needs none)';
    $('auth').hidden = false;
  }
}
function fixAll() {
  document.querySelectorAll('button.steer').forEach(fix);
}
function fix(b) {
  var waits = Boolean(inFlight[b.dataset.key]);
  var title = why || (waits ? 'waiting for the answer…' : '');
  b.disabled = !writable || waits;
  if (title) b.title = title;
  else b.removeAttribute('title');
}
function busy(key, on) {
  if (on) inFlight[key] = true;
  else delete inFlight[key];
  fixAll();
}
function button(label, cls, key, onclick) {
  var b = el('button', { type: 'button', cls: 'steer ' + cls, text: label, 'data-key': key, onclick: onclick });
  fix(b);
  return b;
}
function say(said, text, cls) {
  said.className = 'said small' + (cls ? ' ' + cls : '');
  said.textContent = text;
}

/**
 * Asks in the page's dialog; resolves with what was filled in, or null (Back, Escape,
 * Enter: Back is the form's default button, index.html).
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

/**
 * POSTs (key's buttons disabled until the answer), then says the answer (text(answer)) or
 * the error in said. Either way the page refreshes and after(answer, or null) redraws
 * what the write touched: a refused one often means it changed meanwhile.
 */
function write(said, key, path, body, text, after) {
  busy(key, true);
  say(said, 'asking…', 'dim');
  return post(path, body).then(
    function (r) {
      busy(key, false);
      say(said, text(r), '');
      wrote();
      if (after) after(r);
    },
    function (e) {
      busy(key, false);
      say(said, e.message, 'err');
      wrote();
      if (after) after(null);
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
function line(did, changed, parts) {
  var said = parts.filter(Boolean);
  return did + ' ' + counted(changed, 'order') + (said.length ? ' (' + said.join('; ') + ')' : '');
}

// The lines of waiter cancel, hold and release (src/commands/{steer,cancel,hold,release}.ts), from the same answers.
function stopped(r, ing) {
  return {
    running: r.running ? n(r.running) + ' running: ' + (r.running === 1 ? 'its waiter stops it' : 'their waiters stop them') + ' within one heartbeat' : '',
    stale: r.stale ? n(r.stale) + (r.stale === 1 ? ' was stale: its waiter is' : ' were stale: their waiters are') + ' gone' : '',
    finished: r.finished ? n(r.finished) + ' already finished, left alone' : '',
    busy: r.busy ? n(r.busy) + ' taken over while ' + ing + ', left alone: try again' : '',
  };
}
function cancelLine(r) {
  var p = stopped(r, 'cancelling');
  return line('Cancelled', r.cancelled, [p.running, p.stale, r.dependants ? n(r.dependants) + ' waiting on them' : '', p.finished, p.busy]);
}
function holdLine(r) {
  var p = stopped(r, 'holding');
  return line('Held', r.held, [p.running, p.stale, p.finished, r.already ? n(r.already) + ' already held, left alone' : '', p.busy]);
}
function releaseLine(r) {
  var waiting = r.waiting ? n(r.waiting) + ' WAITING again on what ' + (r.waiting === 1 ? 'it waits' : 'they wait') + ' for' : '';
  return line('Released', r.released, [waiting, r.notHeld ? n(r.notHeld) + ' not held, left alone' : '']);
}

function about(o) {
  return 'Order ' + o._id + ' (' + o.status + ') ' + JSON.stringify(o.arguments) + '. ';
}
function stopsIt(o) {
  return o.status === 'RUNNING' ? 'Its waiter stops the command within one heartbeat. ' : '';
}
var ORDER_STEERS = {
  cancel: {
    path: '/api/cancel',
    states: CANCELLABLE,
    line: cancelLine,
    ask: function (o) {
      var back = 'It is kept, CANCELLED, with its history; waiter reset --status CANCELLED puts it back.';
      return { title: 'Cancel this order?', text: about(o) + stopsIt(o) + back, ok: 'Cancel the order', reason: true };
    },
  },
  hold: {
    path: '/api/hold',
    states: HOLDABLE,
    line: holdLine,
    ask: function (o) {
      return { title: 'Hold this order?', text: about(o) + stopsIt(o) + 'No waiter claims it until it is released.', ok: 'Hold', reason: true };
    },
  },
  release: {
    path: '/api/release',
    states: ['HELD'],
    line: releaseLine,
    ask: function (o) {
      return { title: 'Release this order?', text: about(o) + 'It can be claimed again (or waits again for the orders it waits on).', ok: 'Release' };
    },
  },
};

/**
 * The order view's buttons: Cancel while not finished, Hold, or Release for a HELD one;
 * null for a finished order. said: the line for the answer; redraw(order?): draw the
 * view of that order, or of the order read again.
 */
export function orderActions(o, said, redraw) {
  var key = 'order ' + o._id;
  function steer(verb) {
    var s = ORDER_STEERS[verb];
    return function () {
      busy(key, true);
      // The order as it is now, not as it was when the view was drawn.
      api('/api/orders/' + encodeURIComponent(o._id))
        .then(function (now) {
          redraw(now);
          if (s.states.indexOf(now.status) < 0) {
            busy(key, false);
            say(said, 'It is ' + now.status + ' now: nothing to ' + verb, '');
            return;
          }
          return ask(s.ask(now)).then(function (a) {
            if (!a) return busy(key, false);
            return write(said, key, s.path, withReason({ ids: [now._id] }, a), s.line, function () {
              redraw();
            });
          });
        })
        .catch(function (e) {
          busy(key, false);
          say(said, e.message, 'err');
        });
    };
  }
  var b = [];
  if (CANCELLABLE.indexOf(o.status) >= 0) b.push(button('Cancel', 'danger', key, steer('cancel')));
  if (o.status === 'HELD') b.push(button('Release', '', key, steer('release')));
  else if (HOLDABLE.indexOf(o.status) >= 0) b.push(button('Hold', '', key, steer('hold')));
  return b.length ? el('div', { cls: 'actions' }, b) : null;
}

var paused = false;
/** From the status, or a pause's or resume's answer: the list's button pauses or resumes. */
export function listState(p) {
  paused = Boolean(p);
  $('pause-list').textContent = paused ? 'Resume the list' : 'Pause the list';
}
function pausedSince(p) {
  return 'since ' + when(p.at) + ' by ' + p.by + (p.reason ? ' (' + p.reason + ')' : '');
}
$('pause-list').dataset.key = 'list';
fix($('pause-list'));
$('pause-list').onclick = function () {
  var said = $('said-list');
  var resuming = paused;
  busy('list', true);
  ask(
    resuming
      ? { title: 'Resume the list?', text: 'Every waiter claims again within one heartbeat.', ok: 'Resume' }
      : { title: 'Pause the list?', text: 'Every waiter stops claiming within one heartbeat and waits (it does not exit); running orders finish.', ok: 'Pause', reason: true },
  ).then(function (a) {
    if (!a) return busy('list', false);
    if (resuming)
      write(
        said,
        'list',
        '/api/resume',
        {},
        function (r) {
          return r.was
            ? 'Resumed the list (paused since ' + when(r.was.at) + ' by ' + r.was.by + '): ' + counted(r.waiters, 'live waiter') + ' claim again within one heartbeat'
            : 'The list is not paused: nothing changed';
        },
        function (r) {
          if (r) listState(null);
        },
      );
    else
      write(
        said,
        'list',
        '/api/pause',
        withReason({}, a),
        function (r) {
          return r.already
            ? 'The list is already paused (' + pausedSince(r.paused) + '): nothing changed'
            : 'Paused the list: ' + counted(r.waiters, 'live waiter') + ' stop claiming within one heartbeat; running orders finish';
        },
        function (r) {
          if (r) listState(r.paused);
        },
      );
  });
};

/**
 * A live waiter's Stop button (null for one STOPPING, STALE or EXITED: nothing to ask).
 * named: the live waiters of its name. The API stops by name, host or all, not by one
 * waiter's id, and names need not be unique: the dialog says how many it stops.
 */
export function stopButton(w, shown, named) {
  if (shown !== 'PROCESSING' && shown !== 'IDLE' && shown !== 'PAUSED') return null;
  var key = 'stop ' + w.name;
  return button('Stop', 'danger', key, function () {
    var many = named.length > 1;
    var hosts = named
      .map(function (x) {
        return x.host;
      })
      .filter(function (h, i, all) {
        return all.indexOf(h) === i;
      });
    busy(key, true);
    ask({
      title: many ? 'Stop ' + named.length + ' waiters named ' + w.name + '?' : 'Stop waiter ' + w.name + '?',
      text:
        (many ? 'A stop goes by name. This stops ' + named.length + ' waiters named ' + w.name + ' (on ' + hosts.join(', ') + '). ' : 'On ' + w.host + '. ') +
        'Within one heartbeat ' +
        (many ? 'each' : 'it') +
        ' stops claiming, finishes its running orders and exits 0 (systemd does not start it again).',
      ok: many ? 'Stop them' : 'Stop it',
      reason: true,
      now: 'now: interrupt ' + (many ? 'their' : 'its') + ' running orders (back READY at once)',
    }).then(function (a) {
      if (!a) return busy(key, false);
      write($('said-waiters'), key, '/api/waiters/stop', withReason({ name: w.name, now: a.now }, a), function (r) {
        var how = a.now ? 'interrupt their running orders (back READY) and exit' : 'finish their running orders and exit';
        return 'Asked ' + counted(r.asked, 'waiter') + ' (' + w.name + ') to stop: within one heartbeat they stop claiming, ' + how;
      });
    });
  });
}
