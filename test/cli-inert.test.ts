// Text from jobs and users is inert (issue 31, items 3 and 4): in extract's CSV (no
// cell a spreadsheet would run as a formula, unless --raw; load reads extract's cells
// back as they were) and on a terminal (waiters, logs: control characters shown escaped;
// logs to a pipe, or with --raw, stays byte-exact).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Readable } from 'node:stream';
import { readCheckedRows } from '../src/csv.js';
import { neutralise, restore } from '../src/formulas.js';
import { BIN, ROOT, kitchenEnv, waiter } from './support/cli.js';
import { extractHeader } from './support/extract.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'waiter-inert-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `waiter <args>` with a pseudo-terminal for stdin, stdout and stderr (as in cli-terminal.test.ts); its output. */
async function inTerminal(args: string[]) {
  const cmd = 'exec ' + ['node', BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = await execa('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, reject: false, env: { ...kitchenEnv(k), SHELL: '/bin/sh' }, stdin: 'pipe', stripFinalNewline: false });
  return { exitCode: r.exitCode, out: r.stdout };
}

// What a spreadsheet runs: a leading =, +, -, @, TAB or CR (OWASP's list).
const HOSTILE = ['=HYPERLINK("http://x","y")', '+1+2', '-2+3', '@SUM(1)', '\tx', '\r=1'];
// Cells that must come back exactly: a number (left as it is), a user's own leading quote.
const PLAIN = ['-5', '-1.5e3', '+7', "'=lit", "'plain", 'a=b'];

describe('extract: no formulas in the CSV', () => {
  test('the rule: formula starts get a quote, numbers stay, restore undoes exactly what neutralise did', () => {
    for (const v of HOSTILE) expect(neutralise(v)).toBe(`'${v}`);
    expect(['-5', '-1.5e3', '+7', '.5', 'a=b', "'plain", ''].map(neutralise)).toEqual(['-5', '-1.5e3', '+7', '.5', 'a=b', "'plain", '']);
    expect(neutralise("'=lit")).toBe("''=lit");
    expect(neutralise('-5 ')).toBe("'-5 ");
    for (const v of [...HOSTILE, ...PLAIN, "''@x", "'", '', '5']) expect(restore(neutralise(v))).toBe(v);
  });

  async function hostileList() {
    const csv = join(dir, 'in.csv');
    // Named columns with hostile names and cells; csv-stringify-style quoting for the CR and quotes.
    const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const header = ['=cmd', 'n', 'lit'];
    const rows = HOSTILE.map((h, i) => [h, PLAIN[i]!, PLAIN[(i + 3) % PLAIN.length]!]);
    await writeFile(csv, [header, ...rows].map((r) => r.map(q).join(',')).join('\n') + '\n');
    expect((await waiter(k, ['load', '--header', csv])).exitCode).toBe(0);
    const orders = k.db.collection('orders');
    // The columns the waiter fills in: a waiter name, an error, a workdir from users and jobs.
    await orders.updateMany({}, { $set: { status: 'ERROR', waiter: '=evil()', error: '@SUM(1)', workdir: '-2+3', attempts: 1 } });
    return { header, rows };
  }

  test('the default extract neutralises every cell a spreadsheet would run: named cells, names, waiter, error, workdir', async () => {
    const { rows } = await hostileList();
    const r = await waiter(k, ['extract']);
    expect(r.exitCode).toBe(0);
    const [head, ...body]: string[][] = parse(r.stdout);
    expect(head).toEqual(extractHeader(["'=cmd", 'n', 'lit']));
    for (const [i, row] of body.entries()) {
      expect(row.slice(10, 13)).toEqual(rows[i]!.map(neutralise));
      expect([row[2], row[6], row[9]]).toEqual(["'=evil()", "'@SUM(1)", "'-2+3"]);
      expect(JSON.parse(row[5]!)).toEqual(rows[i]);
    }
    // Not one cell starts with what a spreadsheet runs (numbers aside).
    for (const cell of [head!, ...body].flat()) expect(cell).not.toMatch(/^(?![-+]?\d)[=+\-@\t\r]/);
  });

  test('--raw writes the cells as they are (csv-parse reads back the originals)', async () => {
    const { header, rows } = await hostileList();
    const r = await waiter(k, ['extract', '--raw']);
    expect(r.exitCode).toBe(0);
    const [head, ...body]: string[][] = parse(r.stdout);
    expect(head!.slice(10, 13)).toEqual(header);
    expect(body.map((row) => row.slice(10, 13))).toEqual(rows);
    expect(body.map((row) => [row[2], row[6], row[9]])).toEqual(rows.map(() => ['=evil()', '@SUM(1)', '-2+3']));
  });

  test('load of a default extract gets the original values back; of a --raw extract and of a plain CSV, the cells as written', async () => {
    await hostileList();
    const file = join(dir, 'report.csv');
    const rawFile = join(dir, 'raw.csv');
    expect((await waiter(k, ['extract', '-o', file])).exitCode).toBe(0);
    expect((await waiter(k, ['extract', '--raw', '-o', rawFile])).exitCode).toBe(0);
    const [rawHead, ...rawBody]: string[][] = parse(await readFile(rawFile));
    for (const [list, f] of [
      ['copy', file],
      ['rawcopy', rawFile],
    ] as const) {
      const r = await waiter(k, ['-l', list, 'load', '--header', f]);
      expect([r.exitCode, r.stderr]).toEqual([0, expect.any(String)]);
      const got = await k.db
        .collection(list)
        .find({}, { sort: { _id: 1 } })
        .toArray();
      expect(got.map((o) => o.arguments)).toEqual(rawBody);
      const names = await k.db.collection(`${list}.columns`).find().toArray();
      expect(names.map((n) => n.names)).toEqual([rawHead]);
    }
    // A user's own CSV (no extract mark) with a leading quote: loaded as written.
    const mine = join(dir, 'mine.csv');
    await writeFile(mine, "'=x,'+1,''@y\n");
    expect((await waiter(k, ['-l', 'mine', 'load', mine])).exitCode).toBe(0);
    expect((await k.db.collection('mine').findOne())?.arguments).toEqual(["'=x", "'+1", "''@y"]);
  });

  test('the mark is found however the bytes come (a pipe a byte at a time, a BOM); only at the very start', async () => {
    const read = async (text: string, chunk: number) => {
      const bytes = Buffer.from(text);
      const parts = Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk));
      const out: string[][] = [];
      for await (const r of readCheckedRows(Readable.from(parts), { source: 't', header: true })) out.push(r);
      return out;
    };
    const head = '_id,status,waiter,start,stop,arguments,error,exit_code,attempts,workdir,priority,after\n';
    const row = "1,DONE,'=w,,,[],'@e,,1,''=x,0,\n";
    for (const chunk of [1, 3, 1 << 16]) {
      expect(await read(`"${head.slice(0, 3)}"${head.slice(3)}${row}`, chunk)).toEqual([['1', 'DONE', '=w', '', '', '[]', '@e', '', '1', "'=x", '0', '']]);
      expect(await read(`\ufeff"_id"${head.slice(3)}${row}`, chunk)).toEqual([['1', 'DONE', '=w', '', '', '[]', '@e', '', '1', "'=x", '0', '']]);
      expect(await read(`${head}${row}`, chunk)).toEqual([['1', 'DONE', "'=w", '', '', '[]', "'@e", '', '1', "''=x", '0', '']]);
      expect(await read(`x\n"${head.slice(0, 3)}"${head.slice(3)}${row}`, chunk)).toContainEqual(['1', 'DONE', "'=w", '', '', '[]', "'@e", '', '1', "''=x", '0', '']);
    }
  });
});

// Sets the terminal's title, then clears the screen; an OSC 52 clipboard write.
const TITLE = '\u001b]0;pwned\u0007\u001b[2J';
const CLIPBOARD = '\u001b]52;c;aGk=\u0007';

describe('terminal escapes', () => {
  test('waiters prints a name holding escape sequences escaped, never a raw ESC or BEL', async () => {
    const d = await waiter(k, ['-n', `w${TITLE}`, 'deliver', 'true']); // an empty list: it registers and exits
    expect(d.exitCode).toBe(0);
    const r = await waiter(k, ['waiters']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('w\\x1b]0;pwned\\x07\\x1b[2J');
    // --json keeps the name as it is (JSON escapes it).
    expect(JSON.parse((await waiter(k, ['waiters', '--json'])).stdout).name).toBe(`w${TITLE}`);
  });

  test("what deliver says of an order, and an error quoting a file's column names, come escaped", async () => {
    expect((await waiter(k, ['add', `./no${TITLE}such`])).exitCode).toBe(0);
    const d = await waiter(k, ['deliver', '{1}']);
    expect(d.exitCode).toBe(1);
    expect(d.stderr).toContain('failed: command not found: ./no\\x1b]0;pwned\\x07\\x1b[2Jsuch');
    expect(d.stderr).not.toMatch(/[\u001b\u0007]/);
    const csv = join(dir, 'dup.csv');
    await writeFile(csv, `a${TITLE},a${TITLE}\n1,2\n`);
    const l = await waiter(k, ['load', '--header', csv]);
    expect(l.exitCode).toBe(4);
    expect(l.stderr).toContain("duplicate column name 'a\\x1b]0;pwned\\x07\\x1b[2J'");
    expect(l.stderr).not.toMatch(/[\u001b\u0007]/);
  });

  test('logs: to a terminal escaped, to a pipe byte-exact, --raw to a terminal raw', async () => {
    expect((await waiter(k, ['add', 'x'])).exitCode).toBe(0);
    const script = `printf '${CLIPBOARD}hi\\tthere${TITLE}\\n'`;
    const d = await waiter(k, ['deliver', '--shell', script]);
    expect(d.exitCode).toBe(0);
    const id = (await k.db.collection('orders').findOne())!._id.toHexString();
    const text = `${CLIPBOARD}hi\tthere${TITLE}\n`;

    const piped = await waiter(k, ['logs', id], { stripFinalNewline: false, encoding: 'buffer' });
    expect(Buffer.from(piped.stdout as unknown as Uint8Array).toString('latin1')).toBe(Buffer.from(text).toString('latin1'));

    const tty = await inTerminal(['logs', id]);
    expect(tty.exitCode).toBe(0);
    expect(tty.out).not.toMatch(/[\u001b\u0007]/);
    // The terminal turns \n into \r\n: that \r is the terminal's, not the job's.
    expect(tty.out).toBe('\\x1b]52;c;aGk=\\x07hi\tthere\\x1b]0;pwned\\x07\\x1b[2J\r\n');

    const raw = await inTerminal(['logs', '--raw', id]);
    expect(raw.exitCode).toBe(0);
    expect(raw.out).toContain(CLIPBOARD);
    expect(raw.out).toContain(TITLE);
  });
});

describe('escapes JSON and stacks leave raw', () => {
  test('--json escapes C1 controls (an 8-bit CSI, U+009B) and U+2028/9, which JSON.stringify leaves raw; the value parses back as it was', async () => {
    const name = 'w\u009b2J\u0085x\u2028y';
    expect((await waiter(k, ['-n', name, 'deliver', 'true'])).exitCode).toBe(0);
    const r = await waiter(k, ['waiters', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u007f-\u009f\u2028\u2029]/);
    expect(r.stdout).toContain('w\\u009b2J\\u0085x\\u2028y');
    expect(JSON.parse(r.stdout).name).toBe(name);
  });

  test("an internal error's stack is printed with its control characters escaped, its lines kept", async () => {
    const { main } = await import('../src/cli.js');
    const { Writable } = await import('node:stream');
    let err = '';
    const io = {
      stdin: Readable.from([]),
      stdout: new Writable({
        write: () => {
          throw new Error(`boom${TITLE}`);
        },
      }),
      stderr: new Writable({
        write: (c, _e, done) => {
          err += String(c);
          done();
        },
      }),
      env: { WAITER_KITCHEN: k.uri, WAITER_DB: k.name },
    };
    expect(await main(['status', '--json'], io)).toBe(70);
    expect(err).not.toMatch(/[\u001b\u0007]/);
    expect(err).toContain('Error: boom\\x1b]0;pwned');
    expect(err.split('\n').length).toBeGreaterThan(3); // the stack's lines
  });
});
