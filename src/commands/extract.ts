import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Argv } from 'yargs';
import { LATER_COLUMNS, REPORT_COLUMNS, reportWriter } from '../csv.js';
import { namedFields, type Order, type State } from '../order.js';
import { progress } from '../progress.js';
import { orderReport } from '../app/show.js';
import { UsageError } from '../errors.js';
import { state, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { jsonLine } from '../words.js';

export const describe = 'Write a CSV report of the orders (NDJSON with --json)';

export function builder(y: Argv) {
  return y
    .option('output', { alias: 'o', type: 'string', describe: 'Write to this file instead of stdout' })
    .option('status', { type: 'string', describe: 'Only orders in this state' })
    .option('json', { type: 'boolean', describe: 'One JSON object per line, with every field and the attempt history' })
    .option('raw', { type: 'boolean', describe: "Cells as they are: no ' before those a spreadsheet would run as a formula (=, +, -, @, TAB, CR)" })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'No progress bar (there is one only when stderr is a terminal)' });
}

export interface ExtractOptions {
  output?: string;
  status?: State;
  json: boolean;
  quiet: boolean;
  /** --raw: no cell neutralised (src/formulas.ts). */
  raw: boolean;
}

export function options(argv: Record<string, unknown>): ExtractOptions {
  const o: ExtractOptions = { json: Boolean(argv.json), quiet: Boolean(argv.quiet), raw: Boolean(argv.raw) };
  if (argv.output !== undefined) o.output = String(argv.output);
  if (argv.status !== undefined) o.status = state('status', argv.status);
  return o;
}

/** One report row: the columns of REPORT_COLUMNS and LATER_COLUMNS; empty for what the order does not have (priority: 0, its default). */
export function reportRow(o: Order): Record<string, string | number> {
  return {
    _id: o._id.toHexString(),
    status: o.status,
    waiter: o.waiter ?? '',
    start: o.start?.toISOString() ?? '',
    stop: o.stop?.toISOString() ?? '',
    arguments: JSON.stringify(o.arguments ?? []),
    error: o.error ?? '',
    exit_code: o.exitCode ?? '',
    // Every attempt made, given-back ones too (held, a spot notice): --json's `uncounted` says how many of those.
    attempts: o.attempts ?? 0,
    workdir: o.workdir ?? '',
    priority: o.priority ?? 0,
    // Pipelines: the ids it waits (waited) for, comma-separated; a barrier (--after-all) as before:<its id>.
    after: [...(o.after ?? []).map((id) => id.toHexString()), ...(o.barrier ? [`before:${o.barrier.toHexString()}`] : [])].join(','),
    // The last attempt's usage (src/usage/); `measured` says how, and 'wall' (no /proc, or CPU not known) leaves cpu and peak empty.
    wall_ms: o.usage?.wallMs ?? '',
    cpu_ms: o.usage?.cpuMs ?? '',
    peak_rss_bytes: o.usage?.peakRssBytes ?? '',
    measured: o.usage?.measured ?? '',
  };
}

/**
 * The named columns of a list, for extract's CSV: every name of every columns document,
 * in order of first appearance; a name equal to a report column gets an `arg_` prefix.
 */
export function namedColumns(all: Map<string, string[]>) {
  const names = [...new Set([...all.values()].flat())];
  const fixed: readonly string[] = [...REPORT_COLUMNS, ...LATER_COLUMNS];
  const header = names.map((n) => (fixed.includes(n) ? `arg_${n}` : n));
  return { names, header };
}

export async function run(g: Globals, o: ExtractOptions, io: IO): Promise<CommandResult> {
  await withKitchen(g, async (k) => {
    const all = await k.allColumns();
    const named = namedColumns(all);
    const out: Writable = o.output ? await openOutput(o.output) : io.stdout;
    const bar = await progress(io.stderr, io.env, o.quiet);
    bar.start('extract', undefined, 'orders');
    // The total, for the bar only: counted alongside, never waited for.
    if (bar.enabled)
      k.countOrders(o.status).then(
        (n) => bar.setTotal(n),
        () => undefined,
      );
    const rows = Readable.from(
      (async function* () {
        try {
          for await (const order of k.list(o.status)) {
            bar.add(1);
            const own = order.columns ? all.get(order.columns) : undefined;
            if (o.json) {
              yield `${jsonLine(orderReport(order, own))}\n`;
              continue;
            }
            const row = reportRow(order);
            if (named.names.length > 0) {
              const f = own ? namedFields(own, order.arguments ?? []) : {};
              named.names.forEach((n, i) => (row[named.header[i]!] = f[n] ?? ''));
            }
            yield row;
          }
        } finally {
          bar.stop();
        }
      })(),
      { objectMode: true },
    );
    // Writing to our own stdout: do not close it when done.
    const end = out !== io.stdout;
    if (o.json) await pipeline(rows, out, { end });
    else await pipeline(rows, reportWriter(named.header, o.raw), out, { end });
  });
  return {};
}

/**
 * The -o file, opened (created or truncated) before any order is read: a path that
 * cannot be written is the user's option, a one-line usage error, not a crash midway.
 */
async function openOutput(path: string): Promise<Writable> {
  const out = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    out.once('open', () => resolve());
    out.once('error', (err: NodeJS.ErrnoException) => {
      const why = { ENOENT: 'no such directory', EACCES: 'permission denied', EISDIR: 'is a directory', EROFS: 'read-only file system' }[err.code ?? ''];
      reject(new UsageError(`-o ${path}: cannot write it (${why ?? err.message})`));
    });
  });
  return out;
}
