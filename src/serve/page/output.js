// @ts-check
// An order's live output and its result files (issue 17). It polls GET
// /api/orders/:id/output with the cursor, every second while the attempt runs, and stops
// when it has ended (saying how). Output and file names are untrusted: they reach the
// DOM only as text nodes (textContent), never as markup.
import { api, authHeaders } from './api.js';
import { $, el } from './dom.js';
import { progressText, sizeText } from './usage.js';

var OUTPUT_EVERY_MS = 1000;
var following = 0; // bumped by every show() (stopFollowing): an older order's poll stops

/** The order shown before stops being followed. */
export function stopFollowing() {
  following++;
}

/** "DONE (exit code 0)", "ERROR: exit code 3": as waiter logs says it (src/output/reader.ts endText). */
function endText(a) {
  if (a.result === 'RESET') return 'reset while it ran (put back READY)';
  if (a.result === 'DONE') return 'DONE (exit code ' + (a.exitCode == null ? 0 : a.exitCode) + ')';
  return a.result + (a.error ? ': ' + a.error : a.exitCode != null ? ': exit code ' + a.exitCode : '');
}

/**
 * Follows the output of the order's last attempt into box. onFirst(hasAny, answer) once
 * the first answer is in; onEnd(answer, whileShown) once the attempt has ended (whileShown:
 * after the first answer). Stops when show() is called again.
 */
export function followOutput(id, box, onFirst, onEnd) {
  var mine = ++following;
  var pre = el('pre', { cls: 'live output-live' });
  var note = el('p', { cls: 'dim small ended', text: 'reading the output…' });
  box.replaceChildren(pre, note);
  var after = 0,
    attempt = null,
    first = true,
    any = false;
  function step() {
    if (mine !== following) return;
    if (document.hidden) {
      setTimeout(step, OUTPUT_EVERY_MS);
      return;
    }
    var q = '?after=' + after + (attempt ? '&attempt=' + attempt : '');
    api('/api/orders/' + encodeURIComponent(id) + '/output' + q).then(
      function (r) {
        if (mine !== following) return;
        attempt = r.attempt;
        var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        r.pieces.forEach(function (p) {
          any = true;
          if (p.dropped != null) pre.appendChild(el('span', { cls: 'dropped', text: '[… ' + Number(p.dropped).toLocaleString() + ' bytes not kept (--keep-output) …]' }));
          else pre.appendChild(el('span', { cls: p.stream === 'stderr' ? 'stderr' : 'stdout', text: p.text }));
        });
        if (atEnd) pre.scrollTop = pre.scrollHeight;
        after = r.next;
        var wasFirst = first;
        if (first) {
          first = false;
          onFirst(any, r);
        }
        if (r.ended) {
          note.textContent = 'attempt ' + r.attempt + ' ended: ' + endText(r.ended);
          note.className = 'small ended ' + (r.ended.result === 'DONE' ? 'dim' : 'err');
          onEnd(r, !wasFirst);
          return;
        }
        note.className = 'dim small ended';
        note.textContent = r.attempt ? 'attempt ' + r.attempt + ' running · live' : 'not run yet';
        // Its progress (WAITER_PROGRESS) as its last heartbeat sent it: in the order's fields, kept current here.
        var pg = $('order-progress');
        if (pg && r.progress) pg.textContent = progressText(r.progress);
        setTimeout(step, r.attempt ? OUTPUT_EVERY_MS : 5 * OUTPUT_EVERY_MS); // a READY order: until it starts
      },
      function (e) {
        if (mine !== following) return;
        note.className = 'err small ended';
        note.textContent = e.message + ' · retrying';
        setTimeout(step, OUTPUT_EVERY_MS * 2);
      },
    );
  }
  step();
}

/** The API's URL of one stored file of one attempt (each part of its path percent-encoded). */
function fileUrl(id, f) {
  return '/api/orders/' + encodeURIComponent(id) + '/files/' + f.path.split('/').map(encodeURIComponent).join('/') + '?attempt=' + f.attempt;
}

/**
 * Downloads one file. The API wants the token as a header (never in a URL, where it
 * would land in history and server logs), which a link cannot send: the file is fetched
 * with it and saved from a blob. --collect-max (100 MiB by default) bounds what that holds.
 */
function download(id, f, note) {
  note.className = 'dim small';
  note.textContent = ' downloading…';
  fetch(fileUrl(id, f), { headers: authHeaders(), cache: 'no-store' })
    .then(function (r) {
      if (r.ok) return r.blob();
      if (r.status === 401) $('auth').hidden = false;
      return r
        .json()
        .catch(function () {
          return {};
        })
        .then(function (b) {
          throw new Error(b.error || 'HTTP ' + r.status);
        });
    })
    .then(function (blob) {
      var a = el('a', { href: URL.createObjectURL(blob), download: f.path.split('/').pop() || 'file' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () {
        URL.revokeObjectURL(a.href);
      }, 60000);
      note.textContent = '';
    })
    .catch(function (e) {
      note.className = 'err small';
      note.textContent = ' ' + e.message;
    });
}

/** The order's result files into box (newest attempt first, as waiter show lists them): path, size, attempt; none: nothing. */
export function listFiles(id, box) {
  api('/api/orders/' + encodeURIComponent(id) + '/files').then(
    function (r) {
      var files = r.files.slice().sort(function (a, b) {
        return b.attempt - a.attempt || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
      });
      if (!files.length) {
        box.replaceChildren();
        return;
      }
      var rows = files.map(function (f) {
        var note = el('span');
        var link = el(
          'a',
          {
            cls: 'id mono file',
            href: fileUrl(id, f),
            title: 'download (sha256 ' + f.sha256 + ')',
            onclick: function (ev) {
              ev.preventDefault();
              download(id, f, note);
            },
          },
          [f.path],
        );
        return el('tr', { 'data-path': f.path, 'data-attempt': String(f.attempt) }, [
          el('td', { 'data-label': 'path', cls: 'path' }, [link, note]),
          el('td', { 'data-label': 'size', cls: 'n size', text: sizeText(f.size) }),
          el('td', { 'data-label': 'attempt', cls: 'n attempt', text: '#' + f.attempt }),
        ]);
      });
      box.replaceChildren(
        el('h2', { text: 'result files (' + files.length + ')', cls: 'sub' }),
        el('table', { cls: 'files cards' }, [
          el('thead', null, [el('tr', null, [el('th', { text: 'path' }), el('th', { text: 'size' }), el('th', { text: 'attempt' })])]),
          el('tbody', null, rows),
        ]),
      );
    },
    function (e) {
      box.replaceChildren(el('p', { cls: 'err small', text: 'result files: ' + e.message }));
    },
  );
}
