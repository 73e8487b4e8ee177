// `waiter status`'s cost lines (issue 28; the figures: src/app/cost.ts), and --top's table.
import { span } from '../fleet.js';
import { type CostReport, type RecentCost, type TopOrder } from '../app/cost.js';
import { sizeText } from '../output/size.js';
import { counted, printable } from '../words.js';

/**
 * cpu used 12.34 hours by 9,812 orders (10,240 attempts: every attempt recorded, retries too)
 * cpu      4.5s mean, 4.1s median per order (its last attempt; 280 of the last 300 finished orders)
 * wall     …
 * memory   peak 301.2 MiB median, 3.9 GiB max (250 of the last 300 finished orders)
 */
export function costLines(c: CostReport): string[] {
  return [usedLine(c), ...recentLines(c.recent), ...(c.top ? topLines(c.top) : [])];
}

function usedLine(c: CostReport): string {
  if (c.cpuSeconds === null) return 'cpu used no figure: no waiter of this version has run on this list (it records what each attempt uses)';
  if (c.cpuOrders === 0) return 'cpu used 0 hours: no order has a CPU figure yet';
  return `cpu used ${hours(c.cpuSeconds)} by ${counted(c.cpuOrders, 'order')} (${counted(c.cpuAttempts, 'attempt')}: every attempt recorded, retries too)`;
}

/** 123.4 hours, 12.34 hours; under an hour as a span (2m06s): hours would read as 0.00. */
function hours(s: number): string {
  const h = s / 3600;
  return h >= 1 ? `${h.toFixed(h >= 10 ? 1 : 2)} hours` : span(s * 1000);
}

function recentLines(r: RecentCost): string[] {
  const window = `the last ${counted(r.finished, 'finished order')}`;
  if (r.finished === 0) return ['cpu      no finished orders yet'];
  // Always `n of the last m`: how many of them the figure is of, said even when all.
  const of = (n: number) => `${n.toLocaleString('en-US')} of ${window}`;
  const pair = (m: number | null, med: number | null) => `${span(m! * 1000)} mean, ${span(med! * 1000)} median per order`;
  return [
    r.withCpu ? `cpu      ${pair(r.cpuMeanSeconds, r.cpuMedianSeconds)} (its last attempt; ${of(r.withCpu)})` : `cpu      no CPU figure in ${window}`,
    r.measured ? `wall     ${pair(r.wallMeanSeconds, r.wallMedianSeconds)} (its last attempt; ${of(r.measured)})` : `wall     no usage recorded in ${window}`,
    r.withPeak
      ? `memory   peak ${sizeText(r.peakMedianBytes!)} median, ${sizeText(r.peakMaxBytes!)} max (${of(r.withPeak)})`
      : `memory   no peak seen in ${window} (orders under a second can end before a look)`,
  ];
}

/** --top: one row per order, costliest first: id, cpu, wall, peak, attempts, state, arguments. */
export function topLines(top: readonly TopOrder[]): string[] {
  if (top.length === 0) return ['', 'top      no order has a CPU figure'];
  const rows = top.map((t) => [
    t.id,
    span(t.cpuSeconds * 1000),
    span(t.wallSeconds * 1000),
    t.peakBytes === null ? '-' : sizeText(t.peakBytes),
    String(t.attempts),
    t.status,
    printable(JSON.stringify(t.arguments)),
  ]);
  const head = ['ORDER', 'CPU', 'WALL', 'PEAK', 'ATTEMPTS', 'STATE', 'ARGUMENTS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Figures right-aligned, words left.
  const right = new Set([1, 2, 3, 4]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return ['', `the ${counted(top.length, 'order')} of the most CPU (every attempt recorded):`, line(head), ...rows.map(line)];
}
