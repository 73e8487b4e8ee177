// CSV in (load) and out (extract), as streams: a file of any size in bounded memory.
import { isUtf8 } from 'node:buffer';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { stringify, type Stringifier } from 'csv-stringify';
import { InputError } from './errors.js';
import { argvProblem } from './limits.js';
import { envName } from './template.js';
import { neutralise, restoreRow } from './formulas.js';

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
 * line for unterminated quotes, invalid UTF-8, a row over MAX_ROW_BYTES, or one whose
 * fields no program could receive as arguments (src/limits.ts).
 */
export async function* parseRows(input: Readable, opts: ParseOptions): AsyncGenerator<string[]> {
  const { parser, marked } = checkedParse(input, opts, true);
  // The line the last good row ended on: a row that fails starts after it.
  let lastLine = 0;
  let lastBytes = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number; bytes: number } }>) {
      if (info.bytes - lastBytes > MAX_ROW_BYTES && rowBytes(record) > MAX_ROW_BYTES) {
        throw new InputError(`${opts.source} line ${lastLine + 1}: row longer than ${MAX_ROW_BYTES} bytes`);
      }
      const tooLong = argvProblem(record, (i) => `field ${i + 1}`);
      if (tooLong) throw new InputError(`${opts.source} line ${lastLine + 1}: ${tooLong}`);
      lastLine = info.lines;
      lastBytes = info.bytes;
      yield marked() ? restoreRow(record) : record;
    }
  } catch (err) {
    throw toInputError(err, opts.source, lastLine);
  }
}

/**
 * Validates a whole CSV file and counts its rows, fast: no line tracking. Only when
 * something is wrong does it read the file again with parseRows, to name the line.
 * `open` must give the same bytes each time.
 */
export async function validateRows(open: () => Readable, opts: ParseOptions): Promise<number> {
  let n = 0;
  try {
    const { parser, marked } = checkedParse(open(), opts, false);
    for await (const row of parser as AsyncIterable<string[]>) {
      const record = marked() ? restoreRow(row) : row;
      if (mayExceed(record) && rowBytes(record) > MAX_ROW_BYTES) throw new InputError('row too long');
      if (argvProblem(record)) throw new InputError('row cannot be passed to a program');
      n++;
    }
    return n;
  } catch (err) {
    if (!(err instanceof InputError || err instanceof CsvError)) throw toInputError(err, opts.source, 0);
    for await (const _ of parseRows(open(), opts)); // throws the located error
    throw toInputError(err, opts.source, 0);
  }
}

/**
 * The header row (the first record) of a file validateRows has accepted, and the line
 * it ends on. Throws InputError, naming the line, for an empty or duplicate name, or
 * two names that would give the same WAITER_ARG_ variable.
 */
export async function readHeader(input: Readable, opts: ParseOptions): Promise<string[]> {
  const parser = parse({ delimiter: opts.delimiter ?? ',', bom: true, record_delimiter: ['\r\n', '\n'], skip_empty_lines: true, relax_column_count: true, to: 1, info: true });
  input.on('error', (err) => parser.destroy(err));
  const marked = watchMark(input);
  let header: { record: string[]; info: { lines: number } } | undefined;
  for await (const r of input.pipe(parser) as AsyncIterable<{ record: string[]; info: { lines: number } }>) header ??= r;
  input.destroy();
  if (!header) throw new InputError(`${opts.source}: --header, but the file is empty`);
  if (marked()) restoreRow(header.record);
  checkColumnNames(header.record, `${opts.source} line ${header.info.lines}`);
  return header.record;
}

/** Column names must be non-empty, distinct, and distinct as WAITER_ARG_ variables. `where` starts the message. */
export function checkColumnNames(names: readonly string[], where: string): void {
  const seen = new Map<string, number>();
  const envs = new Map<string, number>();
  names.forEach((name, i) => {
    if (name.trim() === '') throw new InputError(`${where}: column ${i + 1} has an empty name`);
    const before = seen.get(name);
    if (before !== undefined) throw new InputError(`${where}: duplicate column name '${name}' (columns ${before + 1} and ${i + 1})`);
    seen.set(name, i);
    const env = envName(name);
    const clash = envs.get(env);
    if (clash !== undefined) throw new InputError(`${where}: columns '${names[clash]}' and '${name}' would both be ${env}`);
    envs.set(env, i);
  });
}

/** UTF-8 takes at most 3 bytes per UTF-16 unit: below that, a row cannot be too long. */
function mayExceed(record: string[]): boolean {
  let units = record.length;
  for (const f of record) units += f.length;
  return units * 3 > MAX_ROW_BYTES;
}

/**
 * Rows of input that parseRows has already read through without error (load's second
 * pass): the same parse, without the UTF-8, size and line checks, which cost about as
 * much as the parse itself.
 */
export async function* readCheckedRows(input: Readable, opts: ParseOptions): AsyncGenerator<string[]> {
  const parser = csvParser(opts, false);
  input.on('error', (err) => parser.destroy(err));
  const marked = watchMark(input);
  const rows = input.pipe(parser) as AsyncIterable<string[]>;
  // A file extract marked: its cells as they were (src/formulas.ts); any other, untouched.
  for await (const row of rows) yield marked() ? restoreRow(row) : row;
}

/** input -> UTF-8 check -> parser; an error in any of them ends the parser's iteration. */
function checkedParse(input: Readable, opts: ParseOptions, info: boolean) {
  const parser = csvParser(opts, info);
  const checker = new Utf8Check(opts.source);
  input.on('error', (err) => parser.destroy(err));
  checker.on('error', (err) => parser.destroy(err));
  const marked = watchMark(input);
  return { parser: input.pipe(checker).pipe(parser), marked };
}

function csvParser(opts: ParseOptions, info: boolean) {
  return parse({
    delimiter: opts.delimiter ?? ',',
    bom: true,
    record_delimiter: ['\r\n', '\n'],
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: MAX_ROW_BYTES + 1, // characters: a memory guard; the exact byte check is in parseRows
    from: opts.header ? 2 : 1,
    info,
  });
}

/** The bytes of a row's fields and the delimiters between them (quotes and line end not counted). */
function rowBytes(record: string[]): number {
  return record.reduce((n, f) => n + Buffer.byteLength(f), Math.max(0, record.length - 1));
}

function toInputError(err: unknown, source: string, lastLine: number): Error {
  if (err instanceof InputError) return err;
  if (err instanceof CsvError) {
    const e = err as CsvError & { lines?: number; index?: number };
    const line = err.code === 'CSV_QUOTE_NOT_CLOSED' ? lastLine + 1 : e.lines;
    const code = String(err.code); // csv-parse names one code without its CSV_ prefix
    const quote: Record<string, string> = {
      INVALID_OPENING_QUOTE: 'a stray quote in an unquoted field (quote the whole field and double the quote: "a""b")',
      CSV_INVALID_CLOSING_QUOTE: 'text after a closing quote (inside a quoted field a quote is written twice: "a""b")',
    };
    // csv-parse counts fields from 0; people (and the other messages) from 1.
    const field = quote[code] && typeof e.index === 'number' ? `, field ${e.index + 1}` : '';
    const what =
      code === 'CSV_QUOTE_NOT_CLOSED'
        ? 'unterminated quote'
        : code === 'CSV_MAX_RECORD_SIZE'
          ? `row longer than ${MAX_ROW_BYTES} bytes`
          : (quote[code] ?? err.message.replace(/\s+at line \d+.*$/s, ''));
    return new InputError(`${source}${line ? ` line ${line}` : ''}${field}: ${what}`);
  }
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new InputError(`${source}: no such file`);
  if (e.code === 'EISDIR') return new InputError(`${source}: is a directory`);
  if (e.code === 'EACCES') return new InputError(`${source}: permission denied`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Passes the bytes through once they are known to be valid UTF-8 (a bad byte is an
 * error, not U+FFFD), counting lines for the message. Native checks, no decoding:
 * csv-parse decodes the bytes itself.
 */
class Utf8Check extends Transform {
  /** The bytes of a character cut by the chunk boundary, carried to the next chunk. */
  private pending = Buffer.alloc(0);
  private line = 1;

  constructor(private readonly source: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const bytes = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const cut = bytes.length - cutCharacterBytes(bytes);
    this.pending = Buffer.from(bytes.subarray(cut));
    this.check(bytes.subarray(0, cut), done);
  }

  override _flush(done: TransformCallback): void {
    this.check(this.pending, done);
  }

  private check(bytes: Buffer, done: TransformCallback): void {
    if (!isUtf8(bytes)) {
      this.line += countNewlines(bytes.subarray(0, validPrefix(bytes)));
      done(new InputError(`${this.source} line ${this.line}: invalid UTF-8`));
      return;
    }
    this.line += countNewlines(bytes);
    done(null, bytes);
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

function countNewlines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) n++;
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

export const REPORT_COLUMNS = ['_id', 'status', 'waiter', 'start', 'stop', 'arguments', 'error', 'exit_code', 'attempts', 'workdir'] as const;

/**
 * Report columns added since, written after the named columns: every column a report
 * had before keeps its place (a reader by position reads what it did).
 */
export const LATER_COLUMNS = ['priority', 'after', 'wall_ms', 'cpu_ms', 'peak_rss_bytes', 'measured'] as const;

/**
 * A CSV writer for extract's report: the header (then the list's named columns, then
 * LATER_COLUMNS), then one record per row object. Unless `raw`, every string cell a
 * spreadsheet would run as a formula is neutralised (src/formulas.ts), and the file is
 * marked as such by its first name written in quotes, `"_id"` (EXTRACT_MARK): the same
 * header to any CSV reader, and how load knows to restore the cells.
 */
export function reportWriter(named: readonly string[] = [], raw = false): Stringifier {
  const columns = [...REPORT_COLUMNS, ...named, ...LATER_COLUMNS];
  if (raw) return stringify({ header: true, columns });
  const cast = (cell: string, at: { header: boolean; index: number }) => (at.header && at.index === 0 ? { value: cell, quoted: true } : neutralise(cell));
  return stringify({ header: true, columns, cast: { string: cast } });
}

/** The first bytes of a file extract wrote without --raw: its header, the first name quoted. */
const EXTRACT_MARK = Buffer.from(`"${REPORT_COLUMNS[0]}",${REPORT_COLUMNS.slice(1).join(',')},`);
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Whether `input` starts with EXTRACT_MARK (after a BOM), known from its first bytes:
 * watched as they come (added before the parser's pipe, so it sees each chunk first:
 * the answer is there before the first row, which holds the mark, is parsed). Costs
 * nothing once decided; an unmarked file's cells are never touched.
 */
function watchMark(input: Readable): () => boolean {
  let head = Buffer.alloc(0);
  let marked = false;
  const decide = (yes: boolean) => {
    marked = yes;
    input.off('data', onData);
    head = Buffer.alloc(0);
  };
  const onData = (chunk: Buffer | string) => {
    head = Buffer.concat([head, Buffer.from(chunk)]);
    if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) return;
    const body = head.subarray(0, BOM.length).equals(BOM) ? head.subarray(BOM.length) : head;
    const n = Math.min(body.length, EXTRACT_MARK.length);
    if (!body.subarray(0, n).equals(EXTRACT_MARK.subarray(0, n))) decide(false);
    else if (n === EXTRACT_MARK.length) decide(true);
  };
  input.on('data', onData);
  return () => marked;
}
