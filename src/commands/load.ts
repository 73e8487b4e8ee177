import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { parseRows } from '../csv.js';
import { InputError, UsageError } from '../errors.js';
import { loadRows } from '../load.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Load a CSV file (or - for stdin): each row becomes one READY order';

export function builder(y: Argv) {
  return y
    .positional('file', { type: 'string', describe: 'CSV file, or - for standard input' })
    .option('header', { type: 'boolean', describe: 'Skip the first row' })
    .option('delimiter', { type: 'string', describe: 'Field delimiter (default ,)' });
}

export interface LoadOptions {
  file: string;
  header: boolean;
  delimiter: string;
}

export function options(argv: Record<string, unknown>): LoadOptions {
  const delimiter = argv.delimiter === undefined ? ',' : String(argv.delimiter).replace(/^\\t$/, '\t');
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new UsageError(`--delimiter: '${delimiter}' must be one character other than a quote or newline`);
  }
  return { file: String(argv.file), header: Boolean(argv.header), delimiter };
}

export async function run(g: Globals, o: LoadOptions, io: IO): Promise<CommandResult> {
  const fromStdin = o.file === '-';
  if (!fromStdin) {
    // Fail on a missing file before touching the kitchen.
    const s = await stat(o.file).catch(() => undefined);
    if (!s) throw new InputError(`${o.file}: no such file`);
    if (s.isDirectory()) throw new InputError(`${o.file}: is a directory`);
  }
  const n = await withKitchen(g, (k) => {
    const input = fromStdin ? io.stdin : createReadStream(o.file);
    return loadRows(k, parseRows(input, { source: fromStdin ? 'stdin' : o.file, header: o.header, delimiter: o.delimiter }));
  });
  print(io.stdout, `Loaded ${n} orders`);
  return {};
}
