import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { MAX_ROW_BYTES, parseRows } from '../src/csv.js';
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
    expect(await rows(createReadStream(`${FIXTURES}header.csv`), { header: true })).toEqual([['x', '1'], ['y', '2']]);
    expect(await rows(createReadStream(`${FIXTURES}semicolon.csv`), { delimiter: ';' })).toEqual([['a', 'b', 'c'], ['d;e', 'f']]);
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
