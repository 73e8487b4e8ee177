// deliver, reset and the exit codes, through the real CLI against the real server.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const orders = () => k.db.collection('orders');
const seed = (rows: string[][]) => orders().insertMany(rows.map((a) => ({ status: 'READY', arguments: a, attempts: 0 })));
const tmp = () => mkdtemp(join(tmpdir(), 'waiter-'));

describe('deliver', () => {
  test('runs <command> <command-args> <order args> as an argv: metacharacters arrive verbatim', async () => {
    const nasty = ['; rm -rf ~', '$(touch /tmp/pwned)', '`id`', "it's", '"q"', 'a b', '*', ''];
    await seed([nasty]);
    const r = await waiter(k, ['deliver', `${FIXTURES}ok.sh`, '--some-param', 'some value']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe([...['--some-param', 'some value', ...nasty].map((a) => `arg: ${a}`), 'Done. Delivered 1 order.'].join('\n'));
    const o = await orders().findOne({});
    expect(o).toMatchObject({ status: 'DONE', exitCode: 0, attempts: 1 });
    expect(o!.waiter).toMatch(/\/\d+$/); // <hostname>/<pid>
    expect(o!.start).toBeInstanceOf(Date);
    expect(o!.stop).toBeInstanceOf(Date);
  });

  test('the child gets WAITER_ORDER_ID, WAITER_NAME, WAITER_ATTEMPT; failures record exit code, error, output tail; exit 1', async () => {
    await seed([['one'], ['two']]);
    const script = 'echo "$WAITER_ORDER_ID $WAITER_NAME $WAITER_ATTEMPT $1"; [ "$1" = one ] || { echo boom >&2; exit 3; }';
    const r = await waiter(k, ['-n', 'tester', 'deliver', '--shell', script]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout.split('\n').at(-1)).toBe('Done. Delivered 2 orders.');
    const [one, two] = await orders().find({}).sort({ _id: 1 }).toArray();
    expect(r.stdout).toContain(`${one!._id.toHexString()} tester 1 one`);
    expect(one).toMatchObject({ status: 'DONE', exitCode: 0, waiter: 'tester' });
    expect(two).toMatchObject({ status: 'ERROR', exitCode: 3, error: 'exit code 3', waiter: 'tester' });
    expect(two!.output).toContain('boom');
    expect(two!.history).toMatchObject([{ attempt: 1, result: 'ERROR', exitCode: 3, waiter: 'tester' }]);
  });

  test('a missing program chosen by the order ends that order in ERROR and the waiter goes on', async () => {
    // (A missing program the same for every order is the box's problem: deliver refuses
    // to start, test/containment-box.test.ts.)
    await seed([['./nope.sh'], ['./nope2.sh']]);
    const r = await waiter(k, ['deliver', '{1}']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('Done. Delivered 2 orders.');
    const all = await orders().find({}).sort({ _id: 1 }).toArray();
    expect(all.map((o) => [o.status, o.error])).toEqual([
      ['ERROR', 'command not found: ./nope.sh'],
      ['ERROR', 'command not found: ./nope2.sh'],
    ]);
  });

  test('--once and --max stop after that many; an empty list ends at once', async () => {
    await seed([['1'], ['2'], ['3'], ['4']]);
    expect((await waiter(k, ['deliver', '--once', `${FIXTURES}ok.sh`])).stdout).toMatch(/Done\. Delivered 1 order\.$/);
    expect((await waiter(k, ['deliver', '-x', '2', '--max', '2', `${FIXTURES}ok.sh`])).stdout).toMatch(/Done\. Delivered 2 orders\.$/);
    expect(await orders().countDocuments({ status: 'READY' })).toBe(1);
    await waiter(k, ['deliver', `${FIXTURES}ok.sh`]);
    const r = await waiter(k, ['deliver', `${FIXTURES}ok.sh`]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('Done. Delivered 0 orders.');
  });

  test('-x prefixes each output line with the order id', async () => {
    await seed([['p'], ['q']]);
    const r = await waiter(k, ['deliver', '-x', '2', `${FIXTURES}ok.sh`]);
    const ids = (await orders().find({}).sort({ _id: 1 }).toArray()).map((o) => o._id.toHexString());
    expect(r.stdout).toContain(`[${ids[0]}] arg: p`);
    expect(r.stdout).toContain(`[${ids[1]}] arg: q`);
  });

  test('--wait keeps polling an empty list and picks up orders added later', async () => {
    const w = waiter(k, ['deliver', '--wait', '--poll', '200ms', '--max', '1', `${FIXTURES}ok.sh`]);
    await until(async () => (await k.db.listCollections({ name: 'orders' }).toArray()).length > 0, 20_000, 'the claim index');
    await waiter(k, ['add', 'late']);
    const r = await w;
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('arg: late');
    expect(await orders().findOne({})).toMatchObject({ status: 'DONE' });
  });

  test('three `deliver -x 3` processes over 300 orders: each order runs exactly once', async () => {
    const dir = await tmp();
    const log = join(dir, 'runs.log');
    // 300, not 600: on the FerretDB test server every claim sorts the list in memory, so
    // this test's time grows with the square of the orders (150: 13 s, 300: 50 s for one
    // waiter); 9 slots in 3 processes still race for every one of them.
    await seed(Array.from({ length: 300 }, (_, i) => [`job${i}`]));
    const runs = await Promise.all([1, 2, 3].map((n) => waiter(k, ['-n', `w${n}`, 'deliver', '-x', '3', `${FIXTURES}echo.sh`], { env: { ECHO_LOG: log } })));
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 0]);
    const delivered = runs.map((r) => Number(/Delivered ([\d,]+) orders?\./.exec(r.stdout)?.[1]?.replaceAll(',', '')));
    expect(delivered.reduce((a, b) => a + b, 0)).toBe(300);
    // The child's own log: one line per run, each order once.
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(300);
    const jobs = lines.map((l) => /\[(job\d+)\]$/.exec(l)?.[1]);
    expect(new Set(jobs).size).toBe(300);
    expect(await orders().countDocuments({ status: 'DONE', attempts: 1 })).toBe(300);
    expect(delivered.filter((n) => n > 0).length).toBeGreaterThan(1); // the work really was shared
  }, 180_000);
});

describe('the finish fence', () => {
  test('an order reset while it runs is not overwritten by its old waiter', async () => {
    // The command holds until released (hang.sh), so the reset surely comes while it runs
    // however slow the machine; the waiter never heartbeats here, only the finish fence acts.
    const dir = await tmp();
    await seed([['hold']]);
    const w = waiter(k, ['deliver', '--once', '--lease', '10m', '--heartbeat', '5m', `${FIXTURES}hang.sh`], { env: { HANG_DIR: dir } });
    const o1 = await until(() => orders().findOne({ status: 'RUNNING' }), 20_000, 'the order to start');
    expect((await waiter(k, ['reset', '--force'])).stdout).toBe('Reset 1 order');
    await writeFile(join(dir, `${o1._id.toHexString()}.1.release`), '');
    const r = await w;
    expect(r.stderr).toMatch(/reset or taken over/);
    const o = await orders().findOne({});
    expect(o).toMatchObject({ status: 'READY' });
    expect(o).not.toHaveProperty('exitCode');
    expect(o).not.toHaveProperty('claim');
  });
});

describe('reset', () => {
  test('ERROR orders back to READY; --status restricts', async () => {
    await orders().insertMany([
      { status: 'ERROR', arguments: ['e'], attempts: 1, error: 'exit code 1' },
      { status: 'DONE', arguments: ['d'], attempts: 1 },
      { status: 'RUNNING', arguments: ['r'], attempts: 1, expires: new Date(0), claim: 'x' },
    ]);
    expect((await waiter(k, ['reset', '--status', 'ERROR'])).stdout).toBe('Reset 1 order');
    expect(await orders().countDocuments({ status: 'READY' })).toBe(1);
    expect((await waiter(k, ['reset'])).stdout).toBe('Reset 1 order');
    expect(await orders().countDocuments({ status: 'READY' })).toBe(2);
    expect(await orders().countDocuments({ status: 'DONE' })).toBe(1);
  });
});

describe('exit codes and errors', () => {
  test('usage errors: exit 2 with one line naming the option', async () => {
    const cases: [string[], RegExp][] = [
      [['deliver', '-x', 'zero', 'cmd'], /--concurrency: 'zero' is not a whole number/],
      [['deliver', '--timeout', 'soon', 'cmd'], /--timeout: 'soon' is not a duration/],
      [['deliver'], /missing <command>/],
      [['status', '--bogus'], /Unknown argument: bogus/],
      [['reset', '--status', 'DONE'], /--status: 'DONE' is not one of ERROR, RUNNING/],
      [['frobnicate'], /Unknown argument: frobnicate/],
      [[], /Name a command/],
      [['-k', 'notauri', 'status'], /^waiter: --kitchen \(or WAITER_KITCHEN\): not a usable MongoDB connection string: Invalid scheme/],
      [['-k', 'mongodb://alice:s3cr3t-pw@127.0.0.1:1/?serverSelectionTimeoutMS=abc', 'status'], /--kitchen \(or WAITER_KITCHEN\): .*serverSelectionTimeoutMS/],
      // A one-letter user name is no secret: the driver's words stay whole (was "a***thMechanism").
      [['-k', 'mongodb://u:s3cr3t-pw@127.0.0.1:1/?authMechanism=BOGUS', 'status'], /: authMechanism one of .*, got BOGUS$/],
      [['extract', '-o', '/nonexistent-dir/report.csv'], /^waiter: -o \/nonexistent-dir\/report\.csv: cannot write it \(no such directory\)$/],
    ];
    for (const [args, message] of cases) {
      const r = await waiter(k, args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).not.toContain('s3cr3t-pw');
    }
  });

  test('kitchen unreachable: exit 3, names host and database, never the password', async () => {
    const r = await waiter(k, ['status'], { env: { WAITER_KITCHEN: 'mongodb://alice:s3cr3t-pw@127.0.0.1:1/?serverSelectionTimeoutMS=500', WAITER_DB: 'mydb' } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^waiter: cannot reach the kitchen at 127\.0\.0\.1:1\/mydb/);
    expect(r.stderr).not.toContain('s3cr3t-pw');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('--help documents the exit codes', async () => {
    const r = await waiter(k, ['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Exit codes: 0 ok · 1 some delivered orders failed · 2 usage error · 3 kitchen/);
  });
});
