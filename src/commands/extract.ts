import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Argv } from 'yargs';
import { reportWriter } from '../csv.js';
import type { Order, State } from '../order.js';
import { progress } from '../progress.js';
import { state, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Write a CSV report of the orders (NDJSON with --json)';

export function builder(y: Argv) {
  return y
    .option('output', { alias: 'o', type: 'string', describe: 'Write to this file instead of stdout' })
    .option('status', { type: 'string', describe: 'Only orders in this state' })
    .option('json', { type: 'boolean', describe: 'One JSON object per line, with every field and the attempt history' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'No progress bar (there is one only when stderr is a terminal)' });
}

export interface ExtractOptions {
  output?: string;
  status?: State;
  json: boolean;
  quiet: boolean;
}

export function options(argv: Record<string, unknown>): ExtractOptions {
  const o: ExtractOptions = { json: Boolean(argv.json), quiet: Boolean(argv.quiet) };
  if (argv.output !== undefined) o.output = String(argv.output);
  if (argv.status !== undefined) o.status = state('status', argv.status);
  return o;
}

/** One report row: the columns of REPORT_COLUMNS; empty for what the order does not have. */
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
    attempts: o.attempts ?? 0,
  };
}

export async function run(g: Globals, o: ExtractOptions, io: IO): Promise<CommandResult> {
  await withKitchen(g, async (k) => {
    const out: Writable = o.output ? createWriteStream(o.output) : io.stdout;
    const bar = progress(io.stderr, io.env, o.quiet);
    bar.start('extract', undefined, 'orders');
    // The total, for the bar only: counted alongside, never waited for.
    if (bar.enabled) k.countOrders(o.status).then((n) => bar.setTotal(n), () => undefined);
    const rows = Readable.from(
      (async function* () {
        try {
          for await (const order of k.list(o.status)) {
            bar.add(1);
            yield o.json ? `${JSON.stringify(withoutInternals(order))}\n` : reportRow(order);
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
    else await pipeline(rows, reportWriter(), out, { end });
  });
  return {};
}

/** The document as users see it: without the claim token. */
export function withoutInternals(o: Order): Omit<Order, 'claim'> {
  const { claim: _claim, ...rest } = o;
  return rest;
}
