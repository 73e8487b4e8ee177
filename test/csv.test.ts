import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { MAX_ROW_BYTES, parseRows, readCheckedRows, validateRows } from '../src/csv.js';
import { InputError } from '../src/errors.js';
import { FIXTURES } from './support/cli.js';

async function rows(input: Readable | string, opts: { header?: boolean; delimiter?: string } = {}) {
  const stream = typeof input === 'string' ? Readable.from([Buffer.from(input)]) : input;
  const out: string[][] = [];
  for await (const r of parseRows(stream, { source: 'test.csv', ...opts })) out.push(r);
  return out;
}

describe('parseRows', () => {
  test('RFC 4180: quotes, embedded commas, newlines and quotes; unicode; empty lines skipped', async () => {
    const csv = 'a,"b,c","line1\nline2","say ""hi"""\n\n\nδέλτα,🍕\r\nlast\n';
    expect(await rows(csv)).toEqual([['a', 'b,c', 'line1\nline2', 'say "hi"'], ['δέλτα', '🍕'], ['last']]);
  });

  test('rows keep their own length; fields stay strings', async () => {
    expect(await rows('1\n2,3,4\n,\n')).toEqual([['1'], ['2', '3', '4'], ['', '']]);
  });

  test('--header skips the first row; --delimiter changes the separator', async () => {
    expect(await rows(createReadStream(`${FIXTURES}header.csv`), { header: true })).toEqual([
      ['x', '1'],
      ['y', '2'],
    ]);
    expect(await rows(createReadStream(`${FIXTURES}semicolon.csv`), { delimiter: ';' })).toEqual([
      ['a', 'b', 'c'],
      ['d;e', 'f'],
    ]);
  });

  test('a UTF-8 byte-order mark is not part of the first field', async () => {
    expect(await rows('\uFEFFa,b\n')).toEqual([['a', 'b']]);
  });

  test('an unterminated quote names the line it starts on', async () => {
    const err = await rows(createReadStream(`${FIXTURES}malformed-quote.csv`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^test\.csv line \d+: unterminated quote$/);
  });

  test('invalid UTF-8 names its line, even when split across chunks', async () => {
    const err = await rows(createReadStream(`${FIXTURES}bad-utf8.csv`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe('test.csv line 3: invalid UTF-8');
    const split = Readable.from([Buffer.from('ok\nx\xe2'.split('').map((c) => c.charCodeAt(0))), Buffer.from([0x28, 0x0a])]);
    expect(((await rows(split).catch((e: unknown) => e)) as Error).message).toBe('test.csv line 2: invalid UTF-8');
  });

  test('a multi-byte character split across chunks is fine', async () => {
    const bytes = Buffer.from('é,ü\n');
    expect(await rows(Readable.from([bytes.subarray(0, 1), bytes.subarray(1)]))).toEqual([['é', 'ü']]);
  });

  test('a row over 1 MiB is refused with its line', async () => {
    const big = `ok\n"${'x'.repeat(MAX_ROW_BYTES + 10)}"\n`;
    const err = await rows(big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^test\.csv line 2: row longer than 1048576 bytes$/);
  });
});

describe("validateRows and readCheckedRows (load's two passes)", () => {
  const open = (text: string) => () => Readable.from([Buffer.from(text)]);

  test('count the rows parseRows gives, and give the same rows', async () => {
    const csv = 'a,"b,c"\n\n"x\ny",z\r\nlast\n';
    expect(await validateRows(open(csv), { source: 't.csv' })).toBe(3);
    const rows: string[][] = [];
    for await (const r of readCheckedRows(open(csv)(), { source: 't.csv' })) rows.push(r);
    expect(rows).toEqual(await rows_(csv));
  });

  test.each([
    ['malformed-quote.csv', 'm.csv line 3: unterminated quote'],
    ['bad-utf8.csv', 'm.csv line 3: invalid UTF-8'],
  ])('a malformed %s is reported with its line, as parseRows does', async (file, message) => {
    const err = await validateRows(() => createReadStream(`${FIXTURES}${file}`), { source: 'm.csv' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(message);
  });

  test.each([
    ['a,b\nc,d"e\nf\n', 'q.csv line 2, field 2: a stray quote in an unquoted field (quote the whole field and double the quote: "a""b")'],
    ['a\n"multi\nline",b\n"c"x,d\n', 'q.csv line 4, field 1: text after a closing quote (inside a quoted field a quote is written twice: "a""b")'],
    ['a,b,c\nx,y,"z"w\n', 'q.csv line 2, field 3: text after a closing quote (inside a quoted field a quote is written twice: "a""b")'],
  ])('a stray quote names the line and the field, counted from 1: %j', async (csv, message) => {
    const err = await validateRows(open(csv), { source: 'q.csv' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(message);
  });

  test('a row over 1 MiB of multi-byte characters is caught by bytes, not characters', async () => {
    const big = `ok\n${'é'.repeat(MAX_ROW_BYTES / 2 + 1)}\n`; // under 1 Mi characters, over 1 MiB
    const err = await validateRows(open(big), { source: 'm.csv' }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('m.csv line 2: row longer than 1048576 bytes');
    // A row of exactly 1 MiB passes the row check, and is refused for its field instead:
    // no program can receive a 1 MiB argument (src/limits.ts).
    const exact = await validateRows(open(`ok\n${'é'.repeat(MAX_ROW_BYTES / 2)}\n`), { source: 'm.csv' }).catch((e: unknown) => e);
    expect((exact as Error).message).toMatch(/^m\.csv line 2: field 1 is 1,048,576 bytes: argument too long/);
  });
});

async function rows_(text: string) {
  const out: string[][] = [];
  for await (const r of parseRows(Readable.from([Buffer.from(text)]), { source: 't.csv' })) out.push(r);
  return out;
}
