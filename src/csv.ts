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
    record_delimiter: ['\r\n', '\n'],
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: MAX_ROW_BYTES + 1, // characters: a memory guard; the exact byte check is below
    from: opts.header ? 2 : 1,
    info: true,
  });
  input.on('error', (err) => parser.destroy(err));
  decoder.on('error', (err) => parser.destroy(err));
  input.pipe(decoder).pipe(parser);
  // The line the last good row ended on: a row that fails starts after it.
  let lastLine = 0;
  let lastBytes = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number; bytes: number } }>) {
      if (info.bytes - lastBytes > MAX_ROW_BYTES && rowBytes(record) > MAX_ROW_BYTES) {
        throw new InputError(`${opts.source} line ${lastLine + 1}: row longer than ${MAX_ROW_BYTES} bytes`);
      }
      lastLine = info.lines;
      lastBytes = info.bytes;
      yield record;
    }
  } catch (err) {
    throw toInputError(err, opts.source, lastLine);
  }
}

/** The bytes of a row's fields and the delimiters between them (quotes and line end not counted). */
function rowBytes(record: string[]): number {
  return record.reduce((n, f) => n + Buffer.byteLength(f), Math.max(0, record.length - 1));
}

function toInputError(err: unknown, source: string, lastLine: number): Error {
  if (err instanceof InputError) return err;
  if (err instanceof CsvError) {
    const line = err.code === 'CSV_QUOTE_NOT_CLOSED' ? lastLine + 1 : (err as CsvError & { lines?: number }).lines;
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
  /** The bytes of a character cut by the chunk boundary, carried to the next chunk. */
  private pending = Buffer.alloc(0);
  private line = 1;

  constructor(private readonly source: string) {
    super({ decodeStrings: true, readableObjectMode: false });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const bytes = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const cut = bytes.length - cutCharacterBytes(bytes);
    this.pending = Buffer.from(bytes.subarray(cut));
    this.decode(bytes.subarray(0, cut), done);
  }

  override _flush(done: TransformCallback): void {
    this.decode(this.pending, done);
  }

  private decode(bytes: Uint8Array, done: TransformCallback): void {
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      this.line += countNewlines(bytes.subarray(0, validPrefix(bytes)));
      done(new InputError(`${this.source} line ${this.line}: invalid UTF-8`));
      return;
    }
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.line++;
    done(null, text);
  }
}

/** How many trailing bytes start a multi-byte character that the chunk cuts off (0-3). */
function cutCharacterBytes(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const b = bytes[bytes.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

function countNewlines(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n++;
  return n;
}

/** How many leading bytes decode cleanly (for the line number of a bad byte). */
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
