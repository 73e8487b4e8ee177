import { clearScreenDown, moveCursor } from 'node:readline';
import type { Writable } from 'node:stream';
import type { Argv } from 'yargs';
import { span } from '../fleet.js';
import { Kitchen } from '../kitchen.js';
import { STATES, type State } from '../order.js';
import { status, MEDIAN_OF, type StatusReport, type Storage } from '../app/status.js';
import { costReport, TOP_MAX } from '../app/cost.js';
import { UsageError } from '../errors.js';
import { sizeText } from '../output/size.js';
import { costLines } from './status-cost.js';
import { counted, jsonLine, printable } from '../words.js';
import { positiveInt, print, timerDuration, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { finishByAt, finishByLine, finishByOption } from './finish-by.js';
import { withFinishBy } from '../app/sizing.js';
import type { FinishBy } from '../sizing.js';

export const describe = 'Show how many orders are in each state, the pace, the live waiters, an ETA and what the orders used';

export function builder(y: Argv) {
  return y
    .option('json', {
      type: 'boolean',
      describe:
        "Print one JSON object: the counts READY, RUNNING, DONE, ERROR, WAITING, CANCELLED, HELD, waitingOnFailed (WAITING orders that failed ones hold back, directly or down a chain), heldOnFailed (HELD orders that, released, would wait so), total, stale, notYetDue, nextDue, oldestReadySince and oldestReadySeconds (since when and how long the READY order waiting longest has waited: from when it last became claimable), and pace1m, pace10m, medianRunSeconds, waiters, slots (their --concurrency summed), backlog (READY orders due now and stale RUNNING ones), backlogPerWaiter (per live waiter not asked to stop), etaSeconds, eta, etaReason (why there is none: nothing READY, nothing due yet, no live waiters, no finished orders in the last 10 minutes), etaPace (the orders per minute the ETA assumed), asOf (when read), paused ({by, at, reason}: only when the list is paused), readyByPriority ([{priority, READY}], highest first), storage ({outputBytes, outputDocuments, outputDiskBytes, fileBytes, files, fileDiskBytes, checkpointBytes, checkpointFiles, checkpointDiskBytes}: what live output, result files and checkpoints take, the server's own collection figures: data size, and disk), cost ({cpuSeconds, cpuOrders, cpuAttempts: the CPU every recorded attempt of the list's orders used, null before a waiter of this version ran; recent: {finished, measured, withCpu, withPeak, cpuMeanSeconds, cpuMedianSeconds, wallMeanSeconds, wallMedianSeconds, peakMedianBytes, peakMaxBytes}: the last attempt of the last 300 finished orders; top: with --top)",
    })
    .option('watch', { type: 'string', describe: 'Refresh every interval (default 2s) until Ctrl-C: in place on a terminal, one line each otherwise' })
    .option('finish-by', finishByOption)
    .option('top', {
      type: 'string',
      describe: `Also list the N orders that used the most CPU (every attempt recorded; 1 to ${TOP_MAX}): id, CPU, wall, peak memory, attempts, state, arguments (--json: cost.top)`,
    });
}

export interface StatusOptions {
  json: boolean;
  /** --top: the N orders of the most CPU. */
  top?: number;
  /** Refresh every this many ms (--watch). */
  watchMs?: number;
  /** --finish-by: size the fleet to finish by then (src/sizing.ts), the time as of the first read. */
  finishBy?: (now: Date) => Date;
}

export const DEFAULT_WATCH_MS = 2000;

export function options(argv: Record<string, unknown>): StatusOptions {
  const o: StatusOptions = { json: Boolean(argv.json) };
  if (argv.watch !== undefined) o.watchMs = argv.watch === '' ? DEFAULT_WATCH_MS : timerDuration('watch', argv.watch);
  const at = finishByAt(argv);
  if (at) o.finishBy = at;
  if (argv.top !== undefined) {
    const n = positiveInt('top', argv.top);
    if (n > TOP_MAX) throw new UsageError(`--top: ${n} is more than ${TOP_MAX} (a listing of every order is \`waiter extract\`)`);
    // --watch refreshes every few seconds: the cost is read by a plain status.
    if (o.watchMs !== undefined) throw new UsageError('--top goes without --watch');
    o.top = n;
  }
  return o;
}

export async function run(g: Globals, o: StatusOptions, io: IO): Promise<CommandResult> {
  if (o.watchMs !== undefined) return watch(g, o, o.watchMs, io);
  const now = new Date();
  const at = o.finishBy?.(now);
  const r = await withKitchen(g, async (k) => {
    const read: Promise<StatusReport & { storage: Storage; finishBy?: FinishBy }> = status(k, { now, storage: true, oldest: true });
    const [s, cost] = await Promise.all([at ? withFinishBy(k, read, at, now) : read, costReport(k, o.top ? { top: o.top } : {})]);
    return { ...s, cost };
  });
  const sizing = r.finishBy ? [finishByLine(r.finishBy, r, now)] : [];
  for (const line of o.json ? [jsonLine(r)] : [...render(r), ...sizing, storageLine(r.storage), ...costLines(r.cost)]) print(io.stdout, line);
  return {};
}

export function storageLine(s: Storage): string {
  const disk = sizeText(s.outputDiskBytes + s.fileDiskBytes + s.checkpointDiskBytes);
  // Checkpoints (deliver --checkpoint) only when there are some: a list without them reads as before; the disk figure counts them always.
  const checkpoints = s.checkpointFiles > 0 || s.checkpointBytes > 0 ? `, ${sizeText(s.checkpointBytes)} in ${counted(s.checkpointFiles, 'checkpoint file')}` : '';
  return `stored   ${sizeText(s.outputBytes)} of live output (${counted(s.outputDocuments, 'document')}), ${sizeText(s.fileBytes)} in ${counted(s.files, 'result file')}${checkpoints} (the server's data size; ${disk} on disk)`;
}

/** The report for people: counts, then pace, median, waiters and ETA. */
export function render(r: StatusReport): string[] {
  // WAITING (pipelines), CANCELLED and HELD only when there are some: a list without them reads as before.
  const rows: [string, number][] = shownStates(r).map((s) => [s, r[s]]);
  rows.push(['total', r.total]);
  const width = Math.max(...rows.map(([, n]) => String(n).length));
  const lines = rows.map(([label, n]) => {
    const note =
      label === 'RUNNING' && r.stale > 0
        ? `  (${r.stale} stale)`
        : label === 'READY' && r.notYetDue > 0
          ? `  (${r.notYetDue} not yet due, the next at ${r.nextDue})`
          : label === 'WAITING'
            ? `  (${r.waitingOnFailed} on failed orders)`
            : label === 'HELD' && r.heldOnFailed > 0
              ? `  (${r.heldOnFailed} on failed orders once released)`
              : '';
    return `${label.padEnd(8)} ${String(n).padStart(width)}${note}`;
  });
  lines.splice(1, 0, ...byPriority(r));
  // A paused list says so first (a list not paused reads as before).
  if (r.paused) lines.unshift(pausedLine(r.paused), '');
  lines.push('');
  lines.push(`pace     ${perMinute(r.pace1m)} over the last minute, ${perMinute(r.pace10m)} over 10 minutes`);
  lines.push(`median   ${r.medianRunSeconds === null ? 'no finished orders yet' : `${span(r.medianRunSeconds * 1000)} per order (the last ${MEDIAN_OF} finished)`}`);
  lines.push(`waiters  ${r.waiters} live`);
  lines.push(`ETA      ${eta(r)}`);
  return lines;
}

/** `PAUSED since <at> by <by> (reason)`: status's first line on a paused list. */
export function pausedLine(p: NonNullable<StatusReport['paused']>): string {
  return printable(`PAUSED since ${p.at} by ${p.by}${p.reason ? ` (${p.reason})` : ''}`);
}

/** The report on one line, for --watch when stdout is not a terminal. */
export function oneLine(r: StatusReport, now: Date): string {
  const due = r.notYetDue > 0 ? ` notYetDue ${r.notYetDue} nextDue ${r.nextDue}` : '';
  const counts = [...shownStates(r), 'total', 'stale'].map((s) => `${s} ${r[s as keyof StatusReport] as number}`).join(' ') + due;
  const median = r.medianRunSeconds === null ? '-' : span(r.medianRunSeconds * 1000);
  const paused = r.paused ? ` | ${pausedLine(r.paused)}` : '';
  return `${now.toISOString()} ${counts}${paused} | pace ${perMinute(r.pace1m)} (1m) ${perMinute(r.pace10m)} (10m) | median ${median} | waiters ${r.waiters} | ETA ${eta(r)}`;
}

/** The states a report shows: WAITING, CANCELLED and HELD only when there are some. */
function shownStates(r: StatusReport): State[] {
  return STATES.filter((s) => (s !== 'WAITING' && s !== 'CANCELLED' && s !== 'HELD') || r[s] > 0);
}

/** Under READY, one line per priority, when more than one is in use (issue 15). */
function byPriority(r: StatusReport): string[] {
  const p = r.readyByPriority ?? [];
  if (p.length < 2) return [];
  const width = Math.max(...p.map((x) => String(x.READY).length));
  return p.map((x) => `  priority ${String(x.priority).padEnd(6)} ${String(x.READY).padStart(width)}`);
}

function perMinute(n: number): string {
  return `${Number.isInteger(n) ? n : n.toFixed(1)}/min`;
}

function eta(r: StatusReport): string {
  // Left out of the ETA, and said: READY not yet due, WAITING (pipelines: they wait on other orders) and HELD (until released).
  const out = [r.notYetDue > 0 ? `${r.notYetDue} not yet due` : '', r.WAITING > 0 ? `${r.WAITING} WAITING` : '', r.HELD > 0 ? `${r.HELD} HELD` : ''].filter(Boolean);
  const later = out.length ? `; ${out.join(', ')} not counted` : '';
  if (r.etaSeconds === null || r.eta === null) return (r.etaReason ?? 'no finished orders in the last 10 minutes') + later;
  const pace = r.etaPace === null ? '' : ` at ${perMinute(r.etaPace)}`;
  return `${span(r.etaSeconds * 1000)} (${r.eta.replace(/\.\d+Z$/, 'Z')})${pace}${later}`;
}

/**
 * --watch: a report every interval until SIGINT/SIGTERM (exit 0). On a terminal it
 * redraws in place; otherwise one line per refresh. A kitchen that stops answering is
 * shown and retried, never fatal.
 */
async function watch(g: Globals, o: StatusOptions, everyMs: number, io: IO): Promise<CommandResult> {
  const out = io.stdout as Writable & { isTTY?: boolean; columns?: number };
  const redraw = Boolean(out.isTTY) && !o.json;
  const stop = new AbortController();
  const stopped = new Promise<'stopped'>((resolve) => stop.signal.addEventListener('abort', () => resolve('stopped')));
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let kitchen: Kitchen | undefined;
  let drawn = 0;
  const finishBy = o.finishBy?.(new Date());
  try {
    while (!stop.signal.aborted) {
      const now = new Date();
      let lines: string[];
      try {
        const r: (StatusReport & { finishBy?: FinishBy }) | 'stopped' = await Promise.race([
          (async () => {
            if (!kitchen) {
              const opened = await Kitchen.open({ uri: g.kitchen, db: g.db, list: g.list });
              // Stopped while connecting: this client would keep the process alive.
              if (stop.signal.aborted) await opened.close();
              else kitchen = opened;
            }
            const read = status(kitchen!, { now, oldest: true });
            return finishBy ? withFinishBy(kitchen!, read, finishBy, now) : read;
          })(),
          stopped,
        ]);
        if (r === 'stopped') break;
        const sizing = r.finishBy ? finishByLine(r.finishBy, r, now) : undefined;
        lines = o.json
          ? [jsonLine(r)]
          : redraw
            ? [`every ${span(everyMs)} · ${now.toISOString()} · Ctrl-C to stop`, '', ...render(r), ...(sizing ? [sizing] : [])]
            : [oneLine(r, now) + (sizing ? ` | ${sizing}` : '')];
      } catch (err) {
        if (stop.signal.aborted) break;
        lines = [`${now.toISOString()} kitchen unreachable, retrying: ${printable((err as Error).message)}`];
      }
      if (redraw) {
        if (drawn > 0) {
          moveCursor(out, 0, -drawn);
          clearScreenDown(out);
        }
        // A line wider than the terminal would wrap and spoil the next redraw.
        const cols = out.columns || Infinity; // 0 when the terminal does not say
        lines = lines.map((l) => (l.length >= cols ? l.slice(0, cols - 1) : l));
        drawn = lines.length;
      }
      for (const line of lines) print(out, line);
      // Not unref'd: while the kitchen is unreachable (even from the start) nothing
      // else keeps the process alive between tries. A signal clears it.
      await new Promise<void>((resolve) => {
        const onAbort = () => (clearTimeout(t), resolve());
        // Removed when the timer fires: one listener per refresh would pile up.
        const t = setTimeout(() => (stop.signal.removeEventListener('abort', onAbort), resolve()), everyMs);
        stop.signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await kitchen?.close().catch(() => undefined);
  }
  return {};
}
