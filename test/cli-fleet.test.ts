// The fleet view through the real CLI against the real server: the waiter registry
// written by real deliver processes (one of them kill -9'd), status's pace and ETA
// from orders with known stop times, and show.
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { afterEach, describe, expect, test } from 'vitest';
import { execa } from 'execa';
import { BIN, kitchenEnv, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const orders = () => k.db.collection('orders');
const registry = () => k.db.collection<{ _id: string } & Record<string, unknown>>('orders.waiters');

/** A registry document as deliver writes it, last written at `seen` (ms), lease 60 s. */
const liveWaiter = (seen: number) => ({
  _id: `w-${seen}`,
  name: 'box',
  host: 'h',
  pid: 1,
  command: ['true'],
  concurrency: 1,
  lease: 60_000,
  heartbeat: 10_000,
  started: new Date(seen - 60_000),
  seen: new Date(seen),
  expires: new Date(seen + 60_000),
  running: [],
  delivered: 0,
  failed: 0,
});

interface Row {
  id: string;
  name: string;
  pid: number;
  state: string;
  running: string[];
  delivered: number;
  reason?: string;
  ended?: string;
}

const rows = async (...args: string[]): Promise<Row[]> => {
  const r = await waiter(k, ['waiters', '--json', ...args]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout === '' ? [] : r.stdout.split('\n').map((l) => JSON.parse(l) as Row);
};

/** Process groups of the commands the test's waiters started, killed after each test (a kill -9'd waiter leaves its command running). */
let pidFile = '';
afterEach(async () => {
  const pids = (await readFile(pidFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(-Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  pidFile = '';
});

describe('waiters', () => {
  test('PROCESSING, IDLE, EXITED with its reason, STALE after a kill -9; one --name twice is two rows', async () => {
    pidFile = join(tmpdir(), `waiter-fleet-${randomBytes(4).toString('hex')}`);
    await writeFile(pidFile, '');
    await orders().insertOne({ status: 'READY', arguments: ['slow', 'two words'], attempts: 0 });
    // A lease long enough that another test file holding the (serialised) test server for
    // a few seconds cannot make a live waiter read STALE; the job outlives the test.
    const short = ['--lease', '8s', '--heartbeat', '300ms'];
    const job = ['--shell', 'echo $$ >> "$PIDS"; exec sleep 300'];
    const env = { PIDS: pidFile };

    // a takes the only order; b (same name) then waits on an empty list; c finds nothing and exits
    // (--leave-early: without it, c would wait for a's order, test/deliver-tail.test.ts).
    const a = waiter(k, ['-n', 'twin', 'deliver', ...short, ...job], { env });
    const [order] = await orders().find().toArray();
    const id = order!._id.toHexString();
    const aRow = await until(async () => (await rows()).find((w) => w.pid === a.pid && w.state === 'PROCESSING'), 30_000, 'a PROCESSING');
    expect(aRow.running).toEqual([id]);
    const b = waiter(k, ['-n', 'twin', 'deliver', '--wait', '--poll', '200ms', '--grace', '100ms', ...short, ...job], { env });
    await until(async () => (await rows()).find((w) => w.pid === b.pid && w.state === 'IDLE'), 30_000, 'b IDLE');
    const c = waiter(k, ['-n', 'solo', 'deliver', '--leave-early', 'true']);
    expect((await c).exitCode).toBe(0);

    let all = await rows();
    expect(all.map((w) => [w.name, w.state])).toEqual([
      ['twin', 'PROCESSING'],
      ['twin', 'IDLE'],
      ['solo', 'EXITED'],
    ]);
    expect(new Set(all.map((w) => w.id)).size).toBe(3);
    expect(all[2]).toMatchObject({ reason: 'empty list', delivered: 0, pid: c.pid });
    const status = JSON.parse((await waiter(k, ['status', '--json'])).stdout) as { waiters: number };
    expect(status.waiters).toBe(2);
    // deliver made the indexes status's pace and live waiters are ranges on.
    expect((await orders().indexes()).map((i) => i.name)).toEqual(expect.arrayContaining(['status_1_stop_1', 'spent.cpuMs_-1_spent.attempts_1']));
    expect((await registry().indexes()).map((i) => i.name)).toEqual(expect.arrayContaining(['ended_1_expires_1', 'name_1_started_1']));

    // The table: NOW is the running order and its arguments; EXITED says why.
    const table = (await waiter(k, ['waiters'])).stdout.split('\n');
    expect(table[0]).toMatch(/^NAME +HOST +STATE +RUNNING +DELIVERED +FAILED +UP +SEEN +NOW$/);
    expect(table[1]).toMatch(new RegExp(`^twin .* PROCESSING +1 +0 +0 .* ago +${id} \\["slow","two words"\\]$`));
    expect(table[3]).toMatch(/^solo .* EXITED .* exited: empty list$/);
    // Piped with COLUMNS (a terminal gives its own width): lines cut, NOW going first.
    const narrow = (await waiter(k, ['waiters'], { env: { COLUMNS: '72' } })).stdout.split('\n');
    expect(narrow).toHaveLength(table.length);
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(72);
    expect(table[1]!.length).toBeGreaterThan(72);
    expect(narrow[1]).toMatch(/^twin .* PROCESSING .*…$/);

    // kill -9: nobody writes a's document again; after its 8 s lease it reads STALE.
    a.kill('SIGKILL');
    await a;
    await until(async () => (await rows()).find((w) => w.pid === a.pid && w.state === 'STALE'), 30_000, 'a STALE');

    // b is stopped by a signal (it may have taken a's order over meanwhile): EXITED, and why.
    b.kill('SIGTERM');
    expect((await b).exitCode).toBe(143);
    all = await rows();
    expect(all.find((w) => w.pid === b.pid)).toMatchObject({ state: 'EXITED', reason: 'signal SIGTERM' });
    expect(all.find((w) => w.pid === a.pid)!.state).toBe('STALE');
  });

  test('exited more than an hour ago: only with --all; clean forgets the waiters', async () => {
    const doc = (name: string, startedAgoH: number, endedAgoMs?: number) => ({
      _id: name,
      name,
      host: 'h',
      pid: 1,
      command: ['x'],
      concurrency: 1,
      lease: 60_000,
      heartbeat: 10_000,
      started: new Date(Date.now() - startedAgoH * 3600_000),
      seen: new Date(),
      expires: new Date(Date.now() + 60_000),
      running: [],
      delivered: 3,
      failed: 1,
      ...(endedAgoMs !== undefined ? { ended: new Date(Date.now() - endedAgoMs), reason: '--max 3 reached' } : {}),
    });
    await registry().insertMany([doc('old', 3, 2 * 3600_000), doc('recent', 2, 60_000), doc('live', 1)] as never[]);
    expect((await rows()).map((w) => w.name)).toEqual(['recent', 'live']);
    expect((await rows('--all')).map((w) => w.name)).toEqual(['old', 'recent', 'live']);
    expect((await rows('--all'))[0]).toMatchObject({ state: 'EXITED', reason: '--max 3 reached' });
    expect((await waiter(k, ['clean'])).exitCode).toBe(0);
    expect(await rows('--all')).toEqual([]);
    expect((await waiter(k, ['waiters'])).stdout).toMatch(/^No waiters/);
  });

  test('waiters --json | head -1: the reader goes away, waiter stops quietly (no EPIPE stack)', async () => {
    // More than a pipe's buffer of output, so writes go on after head has exited.
    await registry().insertMany(
      Array.from({ length: 2000 }, (_, i) => ({
        _id: `w${i}`,
        name: `box-${i}`,
        host: 'h'.repeat(200),
        pid: i,
        command: ['x'],
        concurrency: 1,
        lease: 60_000,
        heartbeat: 10_000,
        started: new Date(),
        seen: new Date(),
        expires: new Date(Date.now() + 60_000),
        running: [],
        delivered: 0,
        failed: 0,
      })),
    );
    const r = await execa('bash', ['-c', `set -o pipefail; node '${BIN}' waiters --json | head -1`], { reject: false, env: kitchenEnv(k) });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout.split('\n')[0]!)).toMatchObject({ name: 'box-0' });
  });
});

describe('status', () => {
  test('pace per minute over 1 and 10 minutes, median run time and ETA from known stop times', async () => {
    const now = Date.now();
    const finished = (status: string, stopAgoS: number, runS: number) => ({
      status,
      arguments: [],
      attempts: 1,
      start: new Date(now - (stopAgoS + runS) * 1000),
      stop: new Date(now - stopAgoS * 1000),
    });
    await orders().insertMany([
      ...Array.from({ length: 6 }, () => finished('DONE', 20, 2)), // the last minute
      ...Array.from({ length: 10 }, () => finished('DONE', 300, 4)), // the last 10 minutes
      ...Array.from({ length: 2 }, () => finished('ERROR', 400, 4)),
      ...Array.from({ length: 5 }, () => finished('DONE', 3600, 9)), // an hour ago: no pace, still in the median
      ...Array.from({ length: 30 }, () => ({ status: 'READY', arguments: [], attempts: 0 })),
    ]);
    await registry().insertOne(liveWaiter(now));
    const r = await waiter(k, ['status', '--json']);
    expect(r.exitCode).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ READY: 30, DONE: 21, ERROR: 2, total: 53, pace1m: 6, pace10m: 1.8, medianRunSeconds: 4, waiters: 1, slots: 1, etaReason: null });
    // 18 finished in 10 minutes, fewer than 30: the pace is the larger of theirs (18 over the
    // 404 s since the first of them began: 2.7/min) and 1 slot ÷ the mean run time of those
    // 18 of the last 10 minutes (3.33 s: 18/min; the hour-old ones are not this run's).
    // 30 READY ÷ 18/min + 3.33 s ÷ 2 = 102 s (src/eta.ts).
    expect(s).toMatchObject({ etaSeconds: 102, etaPace: 18 });
    expect(Math.abs(+new Date(s.eta as string) - (now + 102_000))).toBeLessThan(30_000);

    const text = (await waiter(k, ['status'])).stdout;
    expect(text).toContain('pace     6/min over the last minute, 1.8/min over 10 minutes');
    expect(text).toContain('median   4.0s per order');
    expect(text).toMatch(/ETA {6}1m42s \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\) at 18\/min$/m);
  });

  test('the median is of the last 300 finished (DONE or ERROR), newest by stop time, not of all of them', async () => {
    const now = Date.now();
    const finished = (status: string, stopAgoS: number, runS: number) => ({
      status,
      arguments: [],
      attempts: 1,
      start: new Date(now - (stopAgoS + runS) * 1000),
      stop: new Date(now - stopAgoS * 1000),
    });
    // The newest 300 ran 10 s (one in six failed); the 400 before them 1 s: over all 700
    // the median would be 1 s, over the last 300 it is 10 s. Inserted oldest last, so
    // neither _id nor insertion order is the stop order.
    await orders().insertMany([
      ...Array.from({ length: 300 }, (_, i) => finished(i % 6 ? 'DONE' : 'ERROR', 1 + i, 10)),
      ...Array.from({ length: 400 }, (_, i) => finished('DONE', 400 + i, 1)),
    ]);
    const s = JSON.parse((await waiter(k, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ DONE: 650, ERROR: 50, medianRunSeconds: 10 });
    expect((await waiter(k, ['status'])).stdout).toContain('median   10s per order (the last 300 finished)');
  });

  test('a STALE row names what that waiter holds now (RUNNING under its name), not what its last write said', async () => {
    const now = Date.now();
    const [done, held1, held2, twins] = [new ObjectId(), new ObjectId(), new ObjectId(), new ObjectId()];
    await orders().insertMany([
      { _id: done, status: 'DONE', arguments: ['img-103'], attempts: 1, waiter: 'box-g' },
      { _id: held1, status: 'RUNNING', arguments: ['img-113'], attempts: 1, waiter: 'box-g' },
      { _id: held2, status: 'RUNNING', arguments: ['img-114'], attempts: 1, waiter: 'box-g' },
      { _id: twins, status: 'RUNNING', arguments: ['img-115'], attempts: 1, waiter: 'box-g' },
    ]);
    await registry().insertMany([
      // Killed: its last write (two minutes ago, lease 60 s) named img-103, since finished.
      { ...liveWaiter(now - 120_000), _id: 'killed', name: 'box-g', running: [done.toHexString()], current: { order: done.toHexString(), arguments: ['img-103'] } },
      // A live process under the same --name runs img-115: that one is not the dead one's.
      { ...liveWaiter(now), _id: 'twin', name: 'box-g', running: [twins.toHexString()], current: { order: twins.toHexString(), arguments: ['img-115'] } },
    ]);
    const all = await rows();
    const killed = all.find((w) => w.id === 'killed')!;
    expect(killed).toMatchObject({ state: 'STALE', running: [held1.toHexString(), held2.toHexString()], current: { order: held1.toHexString(), arguments: ['img-113'] } });
    expect(all.find((w) => w.id === 'twin')).toMatchObject({ state: 'PROCESSING', running: [twins.toHexString()] });
    const text = (await waiter(k, ['waiters'])).stdout;
    expect(text).toMatch(new RegExp(`STALE +2 .*${held1.toHexString()} \\["img-113"\\]`));
  });

  test('with no live waiter there is no ETA, however fast the last minutes were, and it says so (text and --json)', async () => {
    const now = Date.now();
    await orders().insertMany([
      ...Array.from({ length: 6 }, () => ({ status: 'DONE', arguments: [], attempts: 1, start: new Date(now - 22_000), stop: new Date(now - 20_000) })),
      ...Array.from({ length: 3 }, () => ({ status: 'READY', arguments: [], attempts: 0 })),
    ]);
    // One waiter that exited, one not seen for longer than its lease: neither is working.
    await registry().insertMany([
      { ...liveWaiter(now), _id: 'gone', ended: new Date(now - 5_000), reason: 'empty list' },
      { ...liveWaiter(now - 120_000), _id: 'stale' },
    ]);
    const s = JSON.parse((await waiter(k, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ READY: 3, pace1m: 6, waiters: 0, etaSeconds: null, eta: null, etaReason: 'no live waiters' });
    expect((await waiter(k, ['status'])).stdout).toContain('ETA      no live waiters');
  });

  test('no finished orders in the last 10 minutes: no pace, no ETA, and it says so', async () => {
    await registry().insertOne(liveWaiter(Date.now()));
    await orders().insertMany([
      { status: 'DONE', arguments: [], attempts: 1, start: new Date(Date.now() - 3600_000), stop: new Date(Date.now() - 3590_000) },
      { status: 'READY', arguments: [], attempts: 0 },
    ]);
    const s = JSON.parse((await waiter(k, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ pace1m: 0, pace10m: 0, medianRunSeconds: 10, etaSeconds: null, eta: null });
    expect((await waiter(k, ['status'])).stdout).toContain('ETA      no finished orders in the last 10 minutes');
  });
});

describe('show', () => {
  test('a retried order: status, arguments, times, exit code, every attempt, the output tail', async () => {
    const { insertedId } = await orders().insertOne({ status: 'READY', arguments: ['x y', '--z'], attempts: 0 });
    const script = '[ "$WAITER_ATTEMPT" -ge 3 ] && echo "third time lucky" || { echo "try $WAITER_ATTEMPT failed"; exit 7; }';
    const d = await waiter(k, ['-n', 'tester', 'deliver', '--max-attempts', '3', '--shell', script]);
    expect(d.exitCode).toBe(0);

    const id = insertedId.toHexString();
    const r = await waiter(k, ['show', id]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([`order     ${id}`, 'status    DONE (attempt 3)', 'arguments ["x y","--z"]', 'waiter    tester']);
    expect(r.stdout).toMatch(/^stop {6}\S+Z \(\d/m);
    expect(r.stdout).toContain('exit code 0');
    const history = lines.slice(lines.indexOf('history (3 attempts):') + 1, lines.indexOf('history (3 attempts):') + 4);
    // Each attempt's usage after how it ended (src/usage/); its peak only if a look (each second) came while it ran.
    const usage = ' {2}\\(wall \\S+, cpu \\S+, peak ([\\d.]+ [KMG]iB|not seen \\(it ended before a look\\))\\)$';
    expect(history[0]).toMatch(new RegExp(`^ {2}#1 {2}ERROR +tester {2}\\S+Z {2}\\S+ {2}exit code 7${usage}`));
    expect(history[1]).toMatch(new RegExp(`^ {2}#2 {2}ERROR +tester .* exit code 7${usage}`));
    expect(history[2]).toMatch(new RegExp(`^ {2}#3 {2}DONE +tester {2}\\S+Z {2}\\S+ {2}exit code 0${usage}`));
    expect(r.stdout).toMatch(/^usage {5}wall \S+, cpu \S+, peak .* \(CPU: the kernel's count for the command and what it waited for; peak: \/proc looks each second\)$/m);
    expect(lines.slice(-2)).toEqual(['output (the last 4 KiB):', '  third time lucky']);

    const json = JSON.parse((await waiter(k, ['show', id, '--json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ _id: id, status: 'DONE', attempts: 3, arguments: ['x y', '--z'] });
    expect(json.history).toHaveLength(3);
    expect(json).not.toHaveProperty('claim');
    // The last attempt's usage on the order, as in its history entry; CPU exact (one order at a time: each reap alone).
    expect(json.usage).toMatchObject({ wallMs: expect.any(Number), cpuMs: expect.any(Number), measured: 'proc-sample+wait' });
    expect((json.history as { usage?: unknown }[]).at(-1)!.usage).toEqual(json.usage);
  });

  test('a READY order not yet due says when it will be', async () => {
    const before = Date.now();
    const added = await waiter(k, ['add', '--at', '+1h', '--', 'later']);
    const after = Date.now();
    const id = /Added order ([0-9a-f]{24})/.exec(added.stdout)![1]!;
    const r = await waiter(k, ['show', id]);
    expect(r.stdout.split('\n').slice(0, 4)).toEqual([
      `order     ${id}`,
      'status    READY',
      'arguments ["later"]',
      expect.stringMatching(/^due {7}\S+Z \(not taken before then\)$/),
    ]);
    // The time shown is the order's own: an hour after it was added, within the add's run.
    const shown = /^due {7}(\S+Z) /m.exec(r.stdout)![1]!;
    expect(shown).toBe(new Date(Date.parse(shown)).toISOString());
    expect(Date.parse(shown)).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(Date.parse(shown)).toBeLessThanOrEqual(after + 3_600_000);
  });

  test('a malformed or unknown id: one line, exit 4', async () => {
    const bad = await waiter(k, ['show', 'nope']);
    expect([bad.exitCode, bad.stderr]).toEqual([4, 'waiter: show: "nope" is not an order id (24 hex digits)']);
    const id = new ObjectId().toHexString();
    const unknown = await waiter(k, ['show', id]);
    expect([unknown.exitCode, unknown.stderr]).toEqual([4, `waiter: show: no order ${id} in list 'orders'`]);
  });
});
