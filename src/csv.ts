// CSV in (load) and out (extract), as streams: a file of any size in bounded memory.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { stringify, type Stringifier } from 'csv-stringify';
import { InputError } from './errors.js';

/** A row longer than this is a mistake (a runaway quote, a binary file), not an order. */
export const MAX_ROW_BYTES = 1024 * 1024;

export interface ParseOptions {
  /** Name used in error messages: the file path, or "stdin". */
  source: string;
  header?: boolean;
  delimiter?: string;
}

/**
 * Rows of a CSV file (RFC 4180: quotes, embedded delimiters and newlines) as arrays of
 * strings, in file order; empty lines skipped. Throws InputError naming the source and
 * line for unterminated quotes, invalid UTF-8, or a row over MAX_ROW_BYTES.
 */
export async function* parseRows(input: Readable, opts: ParseOptions): AsyncGenerator<string[]> {
  const decoder = new Utf8Check(opts.source);
  const parser = parse({
    delimiter: opts.delimiter ?? ',',
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: MAX_ROW_BYTES,
    from: opts.header ? 2 : 1,
  });
  input.on('error', (err) => parser.destroy(err));
  decoder.on('error', (err) => parser.destroy(err));
  input.pipe(decoder).pipe(parser);
  try {
    for await (const row of parser) yield row as string[];
  } catch (err) {
    throw toInputError(err, opts.source);
  }
}

function toInputError(err: unknown, source: string): Error {
  if (err instanceof InputError) return err;
  if (err instanceof CsvError) {
    const line = (err as CsvError & { lines?: number }).lines;
    const what =
      err.code === 'CSV_QUOTE_NOT_CLOSED'
        ? 'unterminated quote'
        : err.code === 'CSV_MAX_RECORD_SIZE'
          ? `row longer than ${MAX_ROW_BYTES} bytes`
          : err.message.replace(/\s+at line \d+.*$/s, '');
    return new InputError(`${source}${line ? ` line ${line}` : ''}: ${what}`);
  }
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new InputError(`${source}: no such file`);
  if (e.code === 'EISDIR') return new InputError(`${source}: is a directory`);
  if (e.code === 'EACCES') return new InputError(`${source}: permission denied`);
  return err instanceof Error ? err : new Error(String(err));
}

/** Decodes UTF-8 strictly (a bad byte is an error, not U+FFFD), counting lines for the message. */
class Utf8Check extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private line = 1;

  constructor(private readonly source: string) {
    super({ decodeStrings: true, readableObjectMode: false });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.decode(chunk, true, done);
  }

  override _flush(done: TransformCallback): void {
    this.decode(new Uint8Array(), false, done);
  }

  private decode(bytes: Uint8Array, stream: boolean, done: TransformCallback): void {
    let text: string;
    try {
      text = this.decoder.decode(bytes, { stream });
    } catch {
      const good = validPrefix(bytes);
      this.line += countNewlines(bytes.subarray(0, good));
      done(new InputError(`${this.source} line ${this.line}: invalid UTF-8`));
      return;
    }
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.line++;
    done(null, text);
  }
}

function countNewlines(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n++;
  return n;
}

/** How many leading bytes of a chunk decode cleanly (for the line number of a bad byte). */
function validPrefix(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

export const REPORT_COLUMNS = ['_id', 'status', 'waiter', 'start', 'stop', 'arguments', 'error', 'exit_code', 'attempts'] as const;

/** A CSV writer for extract's report: the header, then one record per row object. */
export function reportWriter(): Stringifier {
  return stringify({ header: true, columns: [...REPORT_COLUMNS] });
}
