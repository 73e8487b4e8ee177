import type { Readable } from 'node:stream';
import type { Argv } from 'yargs';
import { readCheckedRows, readHeader, validateRows } from '../csv.js';
import { InputError, UsageError } from '../errors.js';
import { openLoadInput } from '../load-input.js';
import { waitOptions, type WaitAsked } from '../pipeline/wait.js';
import { loadOrders } from '../app/load.js';
import { progress } from '../progress.js';
import { columnWarnings } from '../template.js';
import { moment, print, priority, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { counted } from '../words.js';

export const describe = 'Load a CSV file (or - for stdin): each row becomes one READY order (WAITING with --after-all, until the orders before it are DONE)';

export function builder(y: Argv) {
  return (
    y
      // [file] to yargs, so that a missing file gets our message, not yargs' count of arguments.
      .usage(`$0 load <file>\n\n${describe}`)
      // No type: as a string, yargs-parser would turn a lone "-" into "".
      .positional('file', { describe: 'CSV file, or - for standard input' })
      .option('header', { type: 'boolean', describe: 'The first row names the columns: {name} in deliver, WAITER_ARG_<NAME>, extract columns' })
      .option('unique', { type: 'boolean', describe: 'Skip rows already in the list (or earlier in the file): a load can be repeated' })
      .option('delimiter', { type: 'string', describe: 'Field delimiter (default ,)' })
      .option('at', { type: 'string', describe: 'Orders not to be taken before this time: +30m, +2h, or 2026-12-01T06:00:00Z' })
      .option('priority', { type: 'string', describe: 'Its orders are claimed before those of a lower priority (a whole number, default 0)' })
      .option('after-all', { type: 'boolean', describe: 'Its orders are WAITING until every order in the list before this load is DONE (map, then reduce)' })
      .option('quiet', { alias: 'q', type: 'boolean', describe: 'No progress bar (there is one only when stderr is a terminal)' })
  );
}

export interface LoadOptions {
  file: string;
  header: boolean;
  delimiter: string;
  unique: boolean;
  /** When the orders may first be taken (default: when loaded). */
  at?: Date;
  /** --priority: higher is claimed first (default 0). */
  priority?: number;
  quiet: boolean;
  /** --after-all (src/pipeline/). */
  wait?: WaitAsked;
}

export function options(argv: Record<string, unknown>): LoadOptions {
  const delimiter = argv.delimiter === undefined ? ',' : String(argv.delimiter).replace(/^\\t$/, '\t');
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new UsageError(`--delimiter: '${delimiter}' must be one character other than a quote or newline`);
  }
  if (argv.file === undefined) throw new UsageError('load needs a file: a CSV file, or - for standard input');
  // yargs-parser reads a lone "-" positional as `true`.
  const file = argv.file === true ? '-' : String(argv.file);
  if (file === '') throw new UsageError('load: the file name is empty');
  const o: LoadOptions = { file, header: Boolean(argv.header), delimiter, unique: Boolean(argv.unique), quiet: Boolean(argv.quiet) };
  if (argv.at !== undefined) o.at = moment('at', argv.at);
  if (argv.priority !== undefined) o.priority = priority('priority', argv.priority);
  const wait = waitOptions(argv, false);
  if (wait) o.wait = wait;
  return o;
}

export async function run(g: Globals, o: LoadOptions, io: IO): Promise<CommandResult> {
  // The rows are read twice (check, then insert) but the input only once: anything but
  // a regular file is first copied to a temporary file (src/load-input.ts).
  const input = await openLoadInput(o.file, io.stdin);
  try {
    const csv = { source: input.source, header: o.header, delimiter: o.delimiter };
    const bar = await progress(io.stderr, io.env, o.quiet);
    // Checking, by KiB read (the row count is not known yet); then loading, by rows inserted.
    bar.start('checking', Math.ceil(input.size / 1024), 'KiB');
    let bytes = 0;
    const expected = await validateRows(() => {
      const pass = input.open();
      pass.on('data', (chunk: Buffer) => {
        const before = Math.ceil(bytes / 1024);
        bytes += chunk.length;
        bar.add(Math.ceil(bytes / 1024) - before);
      });
      return pass;
    }, csv).finally(() => bar.stop());
    const names = o.header ? await readHeader(input.open(), csv) : undefined;
    for (const line of names ? columnWarnings(names) : []) io.stderr.write(`waiter: ${line}\n`);
    bar.start('loading', expected, 'rows');
    const r = await withKitchen(g, (k) =>
      loadOrders(k, {
        rows: () => sameCount(readCheckedRows(input.open(), csv), expected, input.source),
        expected,
        unique: o.unique,
        ...(names ? { names } : {}),
        ...(o.at ? { at: o.at } : {}),
        ...(o.priority ? { priority: o.priority } : {}),
        ...(o.wait ? { wait: o.wait } : {}),
        firstRow: () => firstRow(input.open(), csv),
        rejoined: (held) =>
          io.stderr.write(
            `waiter: --after-all: the file's first row is already in the list, WAITING on barrier ${held.toHexString()} (an earlier load of it): the new rows join that stage\n`,
          ),
        inserted: (n) => bar.add(n),
        log: (line) => io.stderr.write(`${line}\n`),
      }),
    ).finally(() => bar.stop());
    const loaded = `Loaded ${counted(r.inserted, 'order')}`;
    print(io.stdout, o.unique ? `${loaded} (${r.existing.toLocaleString('en-US')} already there)` : loaded);
    return {};
  } finally {
    await input.close();
  }
}

/** The file's first row (after the header), read again: the file is checked already. */
async function firstRow(input: Readable, csv: Parameters<typeof readCheckedRows>[1]): Promise<string[] | undefined> {
  try {
    for await (const row of readCheckedRows(input, csv)) return row;
    return undefined;
  } finally {
    input.destroy();
  }
}

/**
 * The rows of the second pass, which must be as many as the check counted: a file
 * rewritten in place between the passes (same size, other rows) is an InputError before
 * the last batch is sent (the batches before it are written: load.ts says how many). The
 * real guard is that each pass ends at the size the file had when opened (load-input.ts).
 */
async function* sameCount(rows: AsyncIterable<string[]>, expected: number, source: string): AsyncGenerator<string[]> {
  let n = 0;
  const changed = (how: string) => new InputError(`${source} changed while it was loaded (${how} than the ${expected.toLocaleString('en-US')} checked)`);
  // Each row handed on once the next is read: the last batch is not sent before its count is known.
  let last: string[] | undefined;
  for await (const row of rows) {
    if (++n > expected) throw changed('more rows');
    if (last) yield last;
    last = row;
  }
  if (n < expected) throw changed('fewer rows');
  if (last) yield last;
}
