// How old the page's figures are (issue 25): part of page.ts's one script and style.
// Every shared answer says its age (the Age header; asOf/ageSeconds in status's body):
// the header says "updated <when the kitchen answered>" only while that is within two
// refreshes, else, in amber, how old the figures are, and it keeps counting while no
// answer comes. An order shown by the search says when it was read, and which of it
// and the counts above is older when they are far apart (a RUNNING order beside counts
// from before it started is then said to be newer, not a contradiction left unsaid).

export const AGE_CSS = String.raw`
.live.old::before { background:var(--running); }
.live.old { color:var(--running); font-weight:600; }
.asof { margin:.6rem 0 0; }
.asof.warn { color:var(--running); font-weight:600; }
`;

// Uses $, dur() and refresh's REFRESH_MS of page.ts's script.
export const AGE_JS = String.raw`
var ages = {}; // the Age header (s) of the last answer per path
var figuresAt = null; // when the kitchen answered for the figures shown (ms, this browser's clock)
var orderAt = null; // when the order shown by the search was read
function hhmmss(ms) { return new Date(ms).toLocaleTimeString(); }
/** After a refresh: the oldest of its answers sets the header. */
function showAge(paths) {
  var age = Math.max.apply(null, paths.map(function (p) { return ages[p] || 0; }));
  figuresAt = Date.now() - age * 1000;
  tickAge();
}
/** Every second too: figures that stop coming turn amber, and say how old they are. */
function tickAge() {
  if (figuresAt == null) return;
  var u = $('updated');
  if (/\bdown\b/.test(u.className)) return;
  var old = Date.now() - figuresAt;
  if (old > 2 * REFRESH_MS) {
    u.className = 'live old';
    u.textContent = 'figures ' + dur(old / 1000) + ' old (from ' + hhmmss(figuresAt) + ')';
  } else {
    u.className = 'live';
    u.textContent = 'updated ' + hhmmss(figuresAt);
  }
  drawOrderAge();
}
/** The order view's line: when it was read, and which is older when it and the counts are far apart. */
function drawOrderAge() {
  var n = $('order-age');
  if (!n || orderAt == null) return;
  var gap = figuresAt == null ? 0 : orderAt - figuresAt;
  var far = Math.abs(gap) > 2 * REFRESH_MS;
  n.className = 'small asof ' + (far ? 'warn' : 'dim');
  n.textContent = 'read at ' + hhmmss(orderAt) + (!far ? '' : gap > 0
    ? ' · newer than the counts above (they are ' + dur(gap / 1000) + ' older)'
    : ' · older than the counts above (by ' + dur(-gap / 1000) + ')');
}
setInterval(tickAge, 1000);
`;
