import type { Writable } from 'node:stream';
import type { Argv } from 'yargs';
import { span } from '../fleet.js';
import { shownState, waitersReport, type WaiterReport } from '../app/waiters.js';
import { jsonLine, printable } from '../words.js';
import { progressText } from '../deliver/progress.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'List the waiters of the list: PROCESSING, IDLE, PAUSED (the list is paused), STOPPING (waiter stop), STALE (not seen for its lease) or EXITED';

export function builder(y: Argv) {
  return y
    .option('json', { type: 'boolean', describe: 'One JSON object per waiter (NDJSON)' })
    .option('all', { type: 'boolean', describe: 'Also waiters that exited more than an hour ago' });
}

export interface WaitersOptions {
  json: boolean;
  all: boolean;
}

export function options(argv: Record<string, unknown>): WaitersOptions {
  return { json: Boolean(argv.json), all: Boolean(argv.all) };
}

export async function run(g: Globals, o: WaitersOptions, io: IO): Promise<CommandResult> {
  const now = new Date();
  const ws = await withKitchen(g, (k) => waitersReport(k, { all: o.all, now }));
  if (o.json) {
    for (const w of ws) print(io.stdout, jsonLine(w));
    return {};
  }
  if (ws.length === 0) {
    print(io.stdout, o.all ? 'No waiters.' : 'No waiters (none live, none exited in the last hour; --all shows older ones).');
    return {};
  }
  const out = io.stdout as Writable & { isTTY?: boolean; columns?: number };
  const width = out.isTTY ? out.columns : Number(io.env.COLUMNS) || undefined;
  for (const line of table(ws, now, width)) print(io.stdout, line);
  return {};
}

const HEAD = ['NAME', 'HOST', 'STATE', 'RUNNING', 'DELIVERED', 'FAILED', 'UP', 'SEEN', 'NOW'];

/** Aligned columns; each line cut to `width` when given (the NOW column goes first). */
export function table(ws: WaiterReport[], now: Date, width?: number): string[] {
  const rows = ws.map((w) => {
    // Up until it ended, or (STALE) until it was last seen (its last sign of life: waitersReport).
    const end = w.ended ? new Date(w.ended) : w.state === 'STALE' ? new Date(w.seen) : now;
    return [
      w.name,
      w.host,
      shownState(w),
      String(w.running.length),
      // Beside another process of its name a dead one's later results cannot be told apart: at least.
      `${w.delivered}${w.countsAtLeast ? '+' : ''}`,
      `${w.failed}${w.countsAtLeast ? '+' : ''}`,
      span(+end - +new Date(w.started)),
      `${span(+now - +new Date(w.seen))} ago`,
      nowColumn(w),
    ];
  });
  // Names, hosts, arguments and exit reasons come from users and jobs: shown escaped, inert on a terminal.
  for (const r of rows) r.forEach((c, i) => (r[i] = printable(c)));
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = new Set([3, 4, 5]);
  return [HEAD, ...rows].map((cells) => {
    const line = cells
      .map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
    return width && line.length > width ? `${line.slice(0, width - 1)}…` : line;
  });
}

/** What it is doing: its first running order, its progress (WAITER_PROGRESS) and its arguments; why it ended; who paused or stopped it. */
function nowColumn(w: WaiterReport): string {
  if (w.state === 'EXITED') return `exited: ${w.reason ?? ''}`;
  if (w.current) return `${w.current.order} ${w.current.progress ? `(${progressText(w.current.progress)}) ` : ''}${JSON.stringify(w.current.arguments)}`;
  if (w.state === 'STALE') return '(not seen for longer than its lease)';
  if (w.stop) return `(stop asked by ${w.stop.by} at ${w.stop.at}${w.stop.now ? ', now' : ''})`;
  if (w.paused) return `(paused since ${w.paused.at} by ${w.paused.by}${w.paused.reason ? `: ${w.paused.reason}` : ''})`;
  return '';
}
