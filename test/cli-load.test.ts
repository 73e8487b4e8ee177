// load, add, status, clean, extract through the real CLI against the real server.
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, test } from 'vitest';
import { FIXTURES, waiter } from './support/cli.js';
import { extractHeader } from './support/extract.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const orders = () => k.db.collection('orders');
const args = async () => (await orders().find({}).sort({ _id: 1 }).toArray()).map((o) => o.arguments);

describe('load', () => {
  test('each row becomes one READY order, in file order, fields as strings', async () => {
    const r = await waiter(k, ['load', `${FIXTURES}edge-cases.csv`]);
    expect(r.stdout).toBe('Loaded 4 orders');
    expect(r.exitCode).toBe(0);
    expect(await args()).toEqual([
      ['alpha', '1'],
      ['beta', '2'],
      ['gam,ma', '3\nthree'],
      ['δέλτα', '4'],
    ]);
    const one = await orders().findOne({});
    expect(one).toMatchObject({ status: 'READY', attempts: 0 });
    expect(one).not.toHaveProperty('load');
    expect(one).not.toHaveProperty('columns'); // only with --header
    expect(one).not.toHaveProperty('key'); // only with --unique
  });

  test('--header, --delimiter, and - reads stdin', async () => {
    expect((await waiter(k, ['load', '--header', `${FIXTURES}header.csv`])).stdout).toBe('Loaded 2 orders');
    expect((await waiter(k, ['load', '--delimiter', ';', `${FIXTURES}semicolon.csv`])).stdout).toBe('Loaded 2 orders');
    const r = await waiter(k, ['load', '-'], { input: 'from,stdin\n"multi\nline"\n' });
    expect(r.stdout).toBe('Loaded 2 orders');
    // Three processes made these _ids: within a second, their order across loads is not file order.
    const byContent = (a: string[][]) => a.map((x) => JSON.stringify(x)).sort();
    expect(byContent(await args())).toEqual(byContent([['x', '1'], ['y', '2'], ['a', 'b', 'c'], ['d;e', 'f'], ['from', 'stdin'], ['multi\nline']]));
  });

  test('a file larger than one batch loads whole, in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    const file = join(dir, 'big.csv');
    await writeFile(file, Array.from({ length: 2503 }, (_, i) => `row${i},${i}`).join('\n'));
    expect((await waiter(k, ['load', file])).stdout).toBe('Loaded 2,503 orders');
    const all = await args();
    expect(all).toHaveLength(2503);
    expect(all.every((a, i) => a[0] === `row${i}`)).toBe(true);
  });

  test.each([
    ['malformed-quote.csv', /malformed-quote\.csv line 3: unterminated quote$/],
    ['bad-utf8.csv', /bad-utf8\.csv line 3: invalid UTF-8$/],
  ])('malformed %s loads nothing, exit 4, one line naming file and line', async (file, message) => {
    await orders().insertOne({ status: 'DONE', arguments: ['before'], attempts: 1 });
    const r = await waiter(k, ['load', `${FIXTURES}${file}`]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await args()).toEqual([['before']]);
  });

  test('an error after several batches removes every staged order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    const file = join(dir, 'late-error.csv');
    await writeFile(file, `${Array.from({ length: 2500 }, (_, i) => `ok${i}`).join('\n')}\n"never closed\n`);
    const r = await waiter(k, ['load', file]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/late-error\.csv line 2501: unterminated quote/);
    expect(await orders().countDocuments()).toBe(0);
  });

  test('a row over 1 MiB: exit 4, nothing loaded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    const file = join(dir, 'huge-row.csv');
    await writeFile(file, `small\n${'x'.repeat(1024 * 1024 + 1)}\n`);
    const r = await waiter(k, ['load', file]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/huge-row\.csv line 2: row longer than 1048576 bytes/);
    expect(await orders().countDocuments()).toBe(0);
  });

  test('a missing file: exit 4 before touching the kitchen', async () => {
    const r = await waiter(k, ['load', 'no-such.csv'], { env: { WAITER_KITCHEN: 'mongodb://127.0.0.1:1/' } });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toBe('waiter: no-such.csv: no such file');
  });
});

describe('add, status, clean', () => {
  test('add takes arguments verbatim after --', async () => {
    const r = await waiter(k, ['add', '--', '--flag', '; rm -rf ~', '$(whoami)']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Added order [0-9a-f]{24}$/);
    expect(await args()).toEqual([['--flag', '; rm -rf ~', '$(whoami)']]);
  });

  test('status: an aligned table, and --json with every state', async () => {
    await orders().insertMany([
      { status: 'READY', arguments: [], attempts: 0 },
      { status: 'READY', arguments: [], attempts: 0 },
      { status: 'DONE', arguments: [], attempts: 1 },
    ]);
    const json = JSON.parse((await waiter(k, ['status', '--json'])).stdout);
    expect(json).toMatchObject({ READY: 2, RUNNING: 0, DONE: 1, ERROR: 0, total: 3, stale: 0 });
    const table = (await waiter(k, ['status'])).stdout.split('\n');
    // The counts first; pace, median, waiters and ETA follow (test/cli-fleet.test.ts).
    expect(table.slice(0, 6)).toEqual(['READY    2', 'RUNNING  0', 'DONE     1', 'ERROR    0', 'total    3', '']);
  });

  test('status on an empty list: all zero', async () => {
    expect(JSON.parse((await waiter(k, ['status', '--json'])).stdout)).toMatchObject({ READY: 0, RUNNING: 0, DONE: 0, ERROR: 0, total: 0 });
  });

  test('clean deletes all, or only one state with --status; named lists are separate', async () => {
    await orders().insertMany([
      { status: 'READY', arguments: ['a'], attempts: 0 },
      { status: 'DONE', arguments: ['b'], attempts: 1 },
    ]);
    await waiter(k, ['add', 'other'], { env: { WAITER_LIST: 'other' } });
    expect((await waiter(k, ['clean', '--status', 'DONE'])).stdout).toBe('Cleaned 1 order.');
    expect(await args()).toEqual([['a']]);
    expect((await waiter(k, ['clean'])).stdout).toBe('Cleaned 1 order.');
    expect(await orders().countDocuments()).toBe(0);
    expect(await k.db.collection('other').countDocuments()).toBe(1);
    expect((await waiter(k, ['-l', 'other', 'clean'])).stdout).toBe('Cleaned 1 order.');
  });
});

describe('clean on a large list', () => {
  // 37,500 READY: more than SQLite's 32,766 variables, which one deleteMany of them needs on FerretDB v1.
  test('50,000 orders: all deleted, in _id ranges (one deleteMany of them fails on FerretDB v1)', async () => {
    const doc = (i: number) => ({ status: i % 4 === 0 ? 'DONE' : 'READY', arguments: [String(i)], attempts: 0 });
    for (let i = 0; i < 50_000; i += 10_000) await orders().insertMany(Array.from({ length: 10_000 }, (_, j) => doc(i + j)));
    expect((await waiter(k, ['clean', '--status', 'DONE'])).stdout).toBe('Cleaned 12,500 orders.');
    const r = await waiter(k, ['clean']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Cleaned 37,500 orders.');
    expect(await orders().countDocuments()).toBe(0);
  }, 120_000);
});

describe('extract', () => {
  test('CSV report in _id order; arguments as JSON round-trip; empty fields for what is missing', async () => {
    const tricky = ['a,b', 'quote " here', 'new\nline', 'δ', ''];
    await waiter(k, ['add', '--', ...tricky]);
    await orders().insertOne({
      status: 'ERROR',
      arguments: ['x'],
      attempts: 2,
      waiter: 'w1',
      start: new Date('2026-01-02T03:04:05Z'),
      stop: new Date('2026-01-02T03:04:06Z'),
      error: 'exit code 3',
      exitCode: 3,
    });
    const r = await waiter(k, ['extract']);
    expect(r.exitCode).toBe(0);
    const rows = parse<Record<string, string>>(r.stdout, { columns: true });
    const ids = rows.map((x) => x._id!);
    expect(ids).toEqual([...ids].sort()); // _id order (hex order is ObjectId order)
    // Two processes made these ids; within one second their order is their random part's.
    rows.sort((a, b) => (a.status! < b.status! ? 1 : -1));
    expect(Object.keys(rows[0]!)).toEqual(extractHeader());
    expect(JSON.parse(rows[0]!.arguments!)).toEqual(tricky);
    expect(rows[0]).toMatchObject({ status: 'READY', waiter: '', start: '', stop: '', error: '', exit_code: '', attempts: '0' });
    expect(rows[1]).toMatchObject({
      status: 'ERROR',
      waiter: 'w1',
      start: '2026-01-02T03:04:05.000Z',
      stop: '2026-01-02T03:04:06.000Z',
      error: 'exit code 3',
      exit_code: '3',
      attempts: '2',
    });
  });

  test('-o file, --status filter, --json NDJSON', async () => {
    await orders().insertMany([
      { status: 'DONE', arguments: ['d'], attempts: 1 },
      { status: 'ERROR', arguments: ['e'], attempts: 1, error: 'exit code 1' },
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    const file = join(dir, 'report.csv');
    expect((await waiter(k, ['extract', '-o', file, '--status', 'ERROR'])).exitCode).toBe(0);
    const rows = parse<Record<string, string>>(await readFile(file, 'utf8'), { columns: true });
    expect(rows.map((r) => r.arguments)).toEqual(['["e"]']);
    const lines = (await waiter(k, ['extract', '--json'])).stdout.split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.arguments)).toEqual([['d'], ['e']]);
    expect(lines[1]).toMatchObject({ status: 'ERROR', error: 'exit code 1' });
  });
});
