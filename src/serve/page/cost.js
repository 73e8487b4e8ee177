// @ts-check
// The list's cost (GET /api/cost, as `waiter status` gives it): asked at most every
// COST_REFRESH_MS (the server computes it at most that often too), and said with its
// age, which keeps counting between asks. Text only through textContent.
import { api } from './api.js';
import { $, dur, num } from './dom.js';
import { sizeText } from './usage.js';

/** How often the page asks for the cost: the server's answer serves everyone for 30 s. */
export const COST_REFRESH_MS = 30_000;

var askedAt = -Infinity; // when the last answer came (this browser's clock): none, or a failure, asks again at the next refresh
var busy = false;
/** @type {number | null} */
var costAt = null; // when the kitchen answered for the figures shown (ms, this browser's clock)

/** Called on every refresh of the page: asks when the last answer is COST_REFRESH_MS old. */
export function refreshCost() {
  if (busy || Date.now() - askedAt < COST_REFRESH_MS) return;
  busy = true;
  api('/api/cost')
    .then(
      function (c) {
        askedAt = Date.now();
        costAt = askedAt - (c.ageSeconds || 0) * 1000;
        drawCost(c);
      },
      function (e) {
        $('cost-age').textContent = 'cost: ' + (e.status === 401 ? 'token needed' : e.message);
      },
    )
    .then(function () {
      busy = false;
    });
}

/** "2.1 s / 1.8 s": a mean and a median, either maybe null. */
function pair(a, b) {
  return dur(a) + ' / ' + dur(b);
}

function drawCost(c) {
  var r = c.recent;
  $('cost-cpu').textContent = c.cpuSeconds == null ? 'no figure' : dur(c.cpuSeconds);
  $('cost-orders').textContent = num(c.cpuOrders);
  $('cost-attempts').textContent = num(c.cpuAttempts);
  $('cost-cpu-per').textContent = pair(r.cpuMeanSeconds, r.cpuMedianSeconds);
  $('cost-wall-per').textContent = pair(r.wallMeanSeconds, r.wallMedianSeconds);
  $('cost-peak').textContent = r.peakMedianBytes == null ? '–' : sizeText(r.peakMedianBytes) + ' / ' + sizeText(r.peakMaxBytes);
  $('cost-of').textContent =
    c.cpuSeconds == null
      ? 'No waiter of this version has run on this list: it records what each attempt uses.'
      : 'CPU used: every attempt recorded, retries too. Per order: its last attempt, of the last ' +
        num(r.finished) +
        (r.finished === 1 ? ' finished order (' : ' finished orders (') +
        num(r.withCpu) +
        ' with CPU, ' +
        num(r.measured) +
        ' with wall, ' +
        num(r.withPeak) +
        ' with a peak).';
  tickCost();
}

/** Every second: how old the cost shown is. */
function tickCost() {
  if (costAt == null) return;
  $('cost-age').textContent = 'as of ' + new Date(costAt).toLocaleTimeString() + ' (' + dur((Date.now() - costAt) / 1000) + ' old; asked every ' + COST_REFRESH_MS / 1000 + ' s)';
}
setInterval(tickCost, 1000);
