// @ts-check
// How old the page's figures are (issue 25). Every shared answer says its age (the Age
// header; asOf/ageSeconds in status's body): the header says "updated <when the kitchen
// answered>" only while that is within two refreshes, else, in amber, how old the
// figures are, and it keeps counting while no answer comes. An order shown by the search
// says when it was read, and which of it and the counts above is older when they are far
// apart (a RUNNING order beside counts from before it started is then said to be newer,
// not a contradiction left unsaid).
import { REFRESH_MS, ages } from './api.js';
import { $, dur } from './dom.js';

/** @type {number | null} */
var figuresAt = null; // when the kitchen answered for the figures shown (ms, this browser's clock)
/** @type {number | null} */
var orderAt = null; // when the order shown by the search was read (orderRead)

/** The order view was (re)drawn from an answer just now. */
export function orderRead() {
  orderAt = Date.now();
}
function hhmmss(ms) {
  return new Date(ms).toLocaleTimeString();
}
/** After a refresh: the oldest of its answers sets the header. */
export function showAge(paths) {
  var age = Math.max.apply(
    null,
    paths.map(function (p) {
      return ages[p] || 0;
    }),
  );
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
export function drawOrderAge() {
  var n = $('order-age');
  if (!n || orderAt == null) return;
  var gap = figuresAt == null ? 0 : orderAt - figuresAt;
  var far = Math.abs(gap) > 2 * REFRESH_MS;
  n.className = 'small asof ' + (far ? 'warn' : 'dim');
  n.textContent =
    'read at ' +
    hhmmss(orderAt) +
    (!far ? '' : gap > 0 ? ' · newer than the counts above (they are ' + dur(gap / 1000) + ' older)' : ' · older than the counts above (by ' + dur(-gap / 1000) + ')');
}
setInterval(tickAge, 1000);
