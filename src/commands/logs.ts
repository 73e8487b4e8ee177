// waiter logs <id>: an order's live output (src/output/), from any machine; -f follows
// a running attempt to its end through kitchen outages, and says how it ended.
import { StringDecoder } from 'node:string_decoder';
import type { ObjectId } from 'mongodb';
import type { Argv } from 'yargs';
import { retrying } from '../deliver/retry.js';
import { resumedFrom } from '../checkpoint/shown.js';
import { InputError, UsageError } from '../errors.js';
import { orderId, type JobProgress, type Order } from '../order.js';
import { progressText, sameProgress } from '../deliver/progress.js';
import { attemptEnd, endText, readAfter, type Piece } from '../output/reader.js';
import { sizeText } from '../output/size.js';
import type { StreamName } from '../kitchen/output.js';
import { jsonLine, printable } from '../words.js';
import { positiveInt, print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = "Print an order's output (its last attempt), live with -f from any machine";

export function builder(y: Argv) {
  return y
    .positional('id', { type: 'string', describe: 'The order id' })
    .option('attempt', { type: 'string', describe: 'This attempt (1, 2, …) instead of the last' })
    .option('stream', { type: 'string', describe: 'Only stdout or stderr' })
    .option('follow', {
      alias: 'f',
      type: 'boolean',
      describe: 'Follow a running order until it ends (with a line on stderr when its progress changes), then say how it ended (exit 1 if it failed)',
    })
    .option('json', { type: 'boolean', describe: 'One JSON object a line: {stream, text, from, to, at}, {dropped}, and with -f {progress} and {end}' })
    .option('raw', { type: 'boolean', describe: 'On a terminal too, the bytes as they were printed (escape sequences and all); to a pipe or file they always are' });
}

export interface LogsOptions {
  id: ObjectId;
  attempt?: number;
  stream?: StreamName;
  follow: boolean;
  json: boolean;
  /** --raw: the bytes as printed even on a terminal (elsewhere they always are). */
  raw: boolean;
  /** How often -f looks again (ms). */
  pollMs?: number;
}

export function options(argv: Record<string, unknown>): LogsOptions {
  let id: ObjectId;
  try {
    id = orderId(String(argv.id ?? '').trim());
  } catch (err) {
    throw err instanceof InputError ? new InputError(`logs: ${err.message}`) : err;
  }
  const o: LogsOptions = { id, follow: Boolean(argv.follow), json: Boolean(argv.json), raw: Boolean(argv.raw) };
  if (argv.attempt !== undefined) o.attempt = positiveInt('attempt', argv.attempt);
  if (argv.stream !== undefined) {
    const s = String(argv.stream).toLowerCase();
    if (s !== 'stdout' && s !== 'stderr') throw new UsageError(`--stream: '${String(argv.stream)}' is not stdout or stderr`);
    o.stream = s === 'stdout' ? 'out' : 'err';
  }
  return o;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function run(g: Globals, o: LogsOptions, io: IO): Promise<CommandResult> {
  const log = (line: string) => io.stderr.write(`${line}\n`);
  const hex = o.id.toHexString();
  const printer = new Printer(io, o);
  return withKitchen(g, async (k) => {
    // Following rides out outages (the driver reconnects); a plain read fails at once (exit 3).
    const call = <T>(what: string, fn: () => Promise<T>) => (o.follow ? retrying(fn, { what: `logs: ${what}`, log, limitMs: Infinity }).then((r) => r as T) : fn());
    const readOrder = async (): Promise<Order> => {
      const found = await call('reading the order', () => k.order(o.id));
      if (!found) throw new InputError(`logs: no order ${hex} in list '${g.list}'`);
      return found;
    };
    let order = await readOrder();
    if (o.attempt !== undefined && o.attempt > (order.attempts ?? 0) && !o.follow) {
      throw new InputError(`logs: order ${hex} has no attempt ${o.attempt} (it has had ${order.attempts ?? 0})`);
    }
    let attempt = o.attempt ?? order.attempts ?? 0;
    const resumed = (a: number) => {
      const from = resumedFrom(order, a);
      if (from !== undefined) log(`waiter: attempt ${a} of ${hex} resumed from the checkpoint of attempt ${from}`);
    };
    if (!o.follow) {
      if (attempt === 0) return {};
      resumed(attempt);
      const pieces = await readAfter(k.outputs, o.id, attempt);
      if (pieces.length === 0 && attempt === order.attempts && order.output) {
        log(`waiter: no live output kept for ${hex} attempt ${attempt}; its last 4 KiB:`);
        printer.raw(order.output);
      }
      printer.pieces(pieces);
      return {};
    }
    const target = o.attempt ?? Math.max(1, attempt + (order.status === 'RUNNING' ? 0 : order.status === 'READY' ? 1 : 0));
    if (order.status !== 'RUNNING' && (order.attempts ?? 0) < target) log(`waiter: ${hex} is ${order.status}; waiting for a waiter to take it`);
    while ((order.attempts ?? 0) < target) {
      await delay(o.pollMs ?? 500);
      order = await readOrder();
    }
    attempt = target;
    resumed(attempt);
    let cursor = 0;
    let said: JobProgress | undefined;
    for (;;) {
      // The order first, then the output: once the attempt has ended, its last batch is
      // written (a waiter writes it before the result), so this read has it all.
      const end = attemptEnd(order, attempt);
      const pieces = await call('reading the output', () => readAfter(k.outputs, o.id, attempt, cursor));
      printer.pieces(pieces);
      cursor = pieces.at(-1)?.to ?? cursor;
      // Its progress (WAITER_PROGRESS) as its heartbeats send it: a line each time it changes, from the order read anyway.
      const now = order.status === 'RUNNING' && order.attempts === attempt ? order.progress : undefined;
      if (now && !sameProgress(now, said)) printer.progress(hex, attempt, now);
      said = now ?? said;
      if (end) {
        printer.end(hex, attempt, end);
        return end.result === 'DONE' ? {} : { failedOrders: true };
      }
      await delay(o.pollMs ?? 500);
      order = await readOrder();
    }
  });
}

/**
 * Writes pieces as they were printed (or as NDJSON), one stream if asked. To a terminal
 * (unless --raw) with their control characters shown escaped, as show does: a job's
 * output must not set the title, clear the screen or write the clipboard of whoever
 * reads it; newlines and tabs stay. To a pipe or a file: byte for byte.
 */
class Printer {
  private decoders = { out: new StringDecoder('utf8'), err: new StringDecoder('utf8') };
  private lastByte = 10;
  private readonly escape: boolean;
  constructor(
    private readonly io: IO,
    private readonly o: LogsOptions,
  ) {
    this.escape = !o.raw && !o.json && Boolean((io.stdout as { isTTY?: boolean }).isTTY);
  }

  raw(text: string): void {
    this.io.stdout.write(this.escape ? printable(text, '\n\t') : text);
  }

  pieces(pieces: Piece[]): void {
    for (const p of pieces) {
      if ('dropped' in p) {
        if (this.o.json) print(this.io.stdout, jsonLine(p));
        else this.io.stdout.write(`${this.lastByte === 10 ? '' : '\n'}[waiter: ${sizeText(p.dropped)} not kept here (--keep-output keeps the start and the end)]\n`);
        this.lastByte = 10;
        continue;
      }
      if (this.o.stream && p.stream !== this.o.stream) continue;
      if (this.o.json) {
        const stream = p.stream === 'out' ? 'stdout' : 'stderr';
        print(this.io.stdout, jsonLine({ stream, text: this.decoders[p.stream].write(p.data), from: p.from, to: p.to, at: p.at }));
      } else if (this.escape) {
        // Decoded per stream: a character cut between two pieces is whole when shown.
        this.io.stdout.write(printable(this.decoders[p.stream].write(p.data), '\n\t'));
        this.lastByte = p.data[p.data.length - 1] ?? this.lastByte;
      } else {
        this.io.stdout.write(p.data);
        this.lastByte = p.data[p.data.length - 1] ?? this.lastByte;
      }
    }
  }

  /** A change of the attempt's progress: beside the output (stderr), as the end line is; with --json, a line of its own. */
  progress(hex: string, attempt: number, p: JobProgress): void {
    if (this.o.json) print(this.io.stdout, jsonLine({ progress: { order: hex, attempt, ...p } }));
    else {
      this.io.stderr.write(`${this.lastByte === 10 ? '' : '\n'}waiter: ${hex} attempt ${attempt}: ${printable(progressText(p))}\n`);
      this.lastByte = 10;
    }
  }

  end(hex: string, attempt: number, end: NonNullable<ReturnType<typeof attemptEnd>>): void {
    if (this.o.json) print(this.io.stdout, jsonLine({ end: { order: hex, attempt, ...end } }));
    else this.io.stderr.write(`${this.lastByte === 10 ? '' : '\n'}waiter: ${hex} attempt ${attempt} ended: ${printable(endText(end))}\n`);
  }
}
