import type { ObjectId } from 'mongodb';
import type { Argv } from 'yargs';
import { InputError, UsageError } from '../errors.js';
import { span } from '../fleet.js';
import { namedFields, orderId, type Attempt, type Order, type Steered } from '../order.js';
import { fileReport, type StoredFile } from '../kitchen/files.js';
import { sizeText } from '../output/size.js';
import { orderReport, showOrder } from '../app/show.js';
import { waitLines } from '../pipeline/show.js';
import { jsonLine, printable } from '../words.js';
import { usageLine, usageShort } from '../usage/text.js';
import { progressText } from '../deliver/progress.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Everything about one order: status, arguments, times, exit, every attempt, the output tail';

export function builder(y: Argv) {
  return y.positional('id', { type: 'string', describe: 'The order id (24 hex digits, as status, extract and waiters print it)' }).option('json', {
    type: 'boolean',
    describe: "Print the order document as JSON, with its result files (files: [{path, size, attempt, sha256, uploaded}], every attempt's, when it has any)",
  });
}

/** What a missing id gets (src/cli.ts says it in place of yargs' count of arguments). */
export const MISSING_ID = 'show needs an order id (24 hex digits, as status, extract and waiters print it)';

export interface ShowOptions {
  id: ObjectId;
  json: boolean;
}

export function options(argv: Record<string, unknown>): ShowOptions {
  if (argv.id === undefined) throw new UsageError(MISSING_ID);
  try {
    return { id: orderId(String(argv.id ?? '').trim()), json: Boolean(argv.json) };
  } catch (err) {
    throw err instanceof InputError ? new InputError(`show: ${err.message}`) : err;
  }
}

export async function run(g: Globals, o: ShowOptions, io: IO): Promise<CommandResult> {
  const shown = await withKitchen(g, (k) => showOrder(k, o.id));
  if (!shown) throw new InputError(`show: no order ${o.id.toHexString()} in list '${g.list}'`);
  const { order, names, files, waits } = shown;
  const fields = names ? namedFields(names, order.arguments ?? []) : undefined;
  const lines = o.json
    ? [jsonLine({ ...orderReport(order, names), ...(waits ? { waitingFor: waits } : {}), ...(files.length ? { files: files.map(fileReport) } : {}) })]
    : [...render(order, fields), ...filesLines(files)];
  // What it waits for (pipelines), after its arguments.
  if (!o.json && waits) lines.splice(3, 0, ...waitLines(order, waits));
  for (const line of lines) print(io.stdout, line);
  return {};
}

/** The human form: one field a line, every value's control characters escaped (JSON: --json). */
export function render(o: Order, fields?: Record<string, string>): string[] {
  const row = (label: string, value: string) => `${label.padEnd(10)}${printable(value)}`;
  // Its last attempt's number; those given back (held, a spot notice) did not use up --max-attempts.
  const given = o.uncounted ? `; ${o.uncounted} not counted toward --max-attempts` : '';
  const lines = [row('order', o._id.toHexString()), row('status', `${o.status}${o.attempts ? ` (attempt ${o.attempts}${given})` : ''}`)];
  lines.push(row('arguments', JSON.stringify(o.arguments ?? [])));
  if (o.priority) lines.push(row('priority', `${o.priority} (higher is taken first; default 0)`));
  if (fields)
    lines.push(
      row(
        'fields',
        Object.entries(fields)
          .map(([n, v]) => `${n}=${JSON.stringify(v)}`)
          .join(' '),
      ),
    );
  if (o.status === 'READY' && o.due && +o.due > Date.now()) lines.push(row('due', `${o.due.toISOString()} (not taken before then)`));
  // A HELD order's `at` is its due once released (past: due at its release).
  if (o.at && (o.status === 'WAITING' || (o.status === 'HELD' && +o.at > Date.now()))) lines.push(row('due', `${o.at.toISOString()} (once released: not taken before then)`));
  if (o.waiter) lines.push(row('waiter', o.waiter));
  if (o.start) lines.push(row('start', o.start.toISOString()));
  if (o.stop) lines.push(row('stop', `${o.stop.toISOString()}${o.start ? ` (${span(+o.stop - +o.start)})` : ''}`));
  else if (o.status === 'RUNNING' && o.expires) {
    // A lease that ran out is not a lease: its waiter is gone (or cut off), and the next claim takes it over.
    const stale = +o.expires < Date.now();
    lines.push(
      row('lease', stale ? `stale since ${o.expires.toISOString()} (not renewed by its waiter; the next waiter to ask takes it over)` : `until ${o.expires.toISOString()}`),
    );
  }
  if (o.exitCode !== undefined) lines.push(row('exit code', String(o.exitCode)));
  if (o.signal) lines.push(row('signal', o.signal));
  if (o.error) lines.push(row('error', o.error));
  if (o.usage) lines.push(row('usage', usageLine(o.usage)));
  // What its command last wrote to WAITER_PROGRESS: as of the last heartbeat while it runs, its last word after.
  if (o.progress) {
    const as = o.status === 'RUNNING' ? (o.heartbeat ? ` (as of ${o.heartbeat.toISOString()})` : '') : " (the last attempt's last)";
    lines.push(row('progress', `${progressText(o.progress)}${as}`));
  }
  if (o.workdir) lines.push(row('workdir', o.workdir));
  // deliver --checkpoint: what the running attempt started from, and what the next would.
  if (o.status === 'RUNNING' && o.resumed !== undefined) lines.push(row('resumed', `from the checkpoint of attempt ${o.resumed}`));
  if (o.checkpoint) {
    const cp = o.checkpoint;
    // What the next attempt starts from (a label of 10 characters would touch its value).
    const what = `${cp.files} file${cp.files === 1 ? '' : 's'} (${sizeText(cp.bytes)}) stored ${new Date(cp.at).toISOString()}`;
    lines.push(row('resumes', `from the checkpoint of attempt ${cp.attempt}: ${what}`));
  }
  // `cancelled by alice@box at …Z (reason)`: who stopped it, from where (issue 26); held, released, edited alike.
  const steered = (s: Steered) => `by ${s.by} at ${new Date(s.at).toISOString()}${s.reason ? ` (${s.reason})` : ''}`;
  if (o.cancelled) lines.push(row('cancelled', steered(o.cancelled)));
  if (o.held) lines.push(row('held', `${steered(o.held)}; waiter release puts it back ${o.held.from}`));
  if (o.released) lines.push(row('released', steered(o.released)));
  if (o.edited) lines.push(row('edited', steered(o.edited)));
  const history = o.history ?? [];
  if (history.length > 0) {
    lines.push('', `history (${history.length} attempt${history.length === 1 ? '' : 's'}):`);
    for (const a of history) lines.push(`  ${printable(attemptLine(a))}`);
  }
  if (o.output) {
    lines.push('', 'output (the last 4 KiB):');
    for (const l of o.output.replace(/\n$/, '').split('\n')) lines.push(`  ${printable(l, '\t')}`);
  }
  return lines;
}

/** The order's result files (deliver --collect), newest attempt first: path, size, attempt. */
export function filesLines(files: readonly StoredFile[]): string[] {
  if (files.length === 0) return [];
  const sorted = [...files].sort((a, b) => b.metadata.attempt - a.metadata.attempt || (a.filename < b.filename ? -1 : 1));
  const width = Math.max(...sorted.map((f) => printable(f.metadata.path).length));
  const sizes = sorted.map((f) => sizeText(f.length));
  const sw = Math.max(...sizes.map((x) => x.length));
  return [
    '',
    `files (${files.length}; waiter gather writes the newest attempt's):`,
    ...sorted.map((f, i) => `  ${printable(f.metadata.path).padEnd(width)}  ${sizes[i]!.padStart(sw)}  #${f.metadata.attempt}`),
  ];
}

/**
 * How long an attempt ran. A LOST one's stop is its last heartbeat: it ran at least
 * that long (it died some time before the next), and one never renewed died before its
 * first heartbeat: not "0ms".
 */
export function attemptSpan(a: Pick<Attempt, 'result' | 'start' | 'stop'>): string {
  const ms = +new Date(a.stop) - +new Date(a.start);
  if (a.result !== 'LOST') return span(ms);
  return ms > 0 ? `at least ${span(ms)}` : 'less than one heartbeat';
}

/** One attempt on one line: #2 ERROR  host/12  2026-…Z  1.2s  exit code 3  (wall 1.2s, cpu 0.9s, peak 41.2 MiB) */
export function attemptLine(a: Attempt): string {
  const parts = [`#${a.attempt}`, a.result.padEnd(11), a.waiter, new Date(a.start).toISOString(), attemptSpan(a)];
  if (a.result === 'CANCELLED' || a.result === 'HELD') parts.push(`${a.result === 'HELD' ? 'held' : 'cancelled'} by ${a.by ?? 'someone'}`);
  else if (a.error) parts.push(a.error);
  else if (a.exitCode !== undefined) parts.push(`exit code ${a.exitCode}`);
  if (a.resumed !== undefined) parts.push(`resumed from #${a.resumed}`);
  if (a.usage) parts.push(`(${usageShort(a.usage)})`);
  // Where one that did not finish DONE had got to (a DONE one's last word says little).
  if (a.progress && a.result !== 'DONE') parts.push(`(progress ${progressText(a.progress)})`);
  return parts.join('  ');
}
