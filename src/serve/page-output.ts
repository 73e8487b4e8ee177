// The page's live output of an order (issue 17): part of page.ts's one script and
// style, kept apart for size. It polls GET /api/orders/:id/output with the cursor, every
// second while the attempt runs, and stops when it has ended (saying how). Output is
// untrusted: it reaches the DOM only as text nodes (textContent), never as markup.

export const OUTPUT_CSS = String.raw`
pre.live { max-height:24rem; }
pre.live .stderr { color:var(--error); }
pre.live .dropped { display:block; color:var(--dim); font-style:italic; margin:.2rem 0; }
.ended { margin:.3rem 0 0; }
`;

// Uses el() and api() of page.ts's script.
export const OUTPUT_JS = String.raw`
var OUTPUT_EVERY_MS = 1000;
var following = 0; // bumped by every show(): an older order's poll stops

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
function followOutput(id, box, onFirst, onEnd) {
  var mine = ++following;
  var pre = el('pre', { cls: 'live output-live' });
  var note = el('p', { cls: 'dim small ended', text: 'reading the output…' });
  box.replaceChildren(pre, note);
  var after = 0, attempt = null, first = true, any = false;
  function step() {
    if (mine !== following) return;
    if (document.hidden) { setTimeout(step, OUTPUT_EVERY_MS); return; }
    var q = '?after=' + after + (attempt ? '&attempt=' + attempt : '');
    api('/api/orders/' + encodeURIComponent(id) + '/output' + q).then(function (r) {
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
      if (first) { first = false; onFirst(any, r); }
      if (r.ended) {
        note.textContent = 'attempt ' + r.attempt + ' ended: ' + endText(r.ended);
        note.className = 'small ended ' + (r.ended.result === 'DONE' ? 'dim' : 'err');
        onEnd(r, !wasFirst);
        return;
      }
      note.className = 'dim small ended';
      note.textContent = r.attempt ? 'attempt ' + r.attempt + ' running · live' : 'not run yet';
      setTimeout(step, r.attempt ? OUTPUT_EVERY_MS : 5 * OUTPUT_EVERY_MS); // a READY order: until it starts
    }, function (e) {
      if (mine !== following) return;
      note.className = 'err small ended';
      note.textContent = e.message + ' · retrying';
      setTimeout(step, OUTPUT_EVERY_MS * 2);
    });
  }
  step();
}
`;
