// waiter hold / release (issue 26): orders set aside (HELD), never claimed, not finished,
// and put back where they were. In process on the real kitchen, but for one real
// waiter whose running order is held: its command is gone within a heartbeat.
import { join } from 'node:path';
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { FIXTURES, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { kitchens } from './support/explain.js';
import { addOrders, alive, background, byId, dumpOrders, killAfterTest, orders, pidFrom, tempDir, type OrderDoc } from './support/recovery.js';
import { holdOrders } from '../src/app/hold.js';
import { releaseOrders } from '../src/app/release.js';
import { cancelOrders } from '../src/app/cancel.js';
import { statusReport } from '../src/app/status.js';
import { holdLine } from '../src/commands/hold.js';
import { releaseLine } from '../src/commands/release.js';
import { render as renderShow } from '../src/commands/show.js';
import { render as renderStatus } from '../src/commands/status.js';
import { createApp } from '../src/serve/app.js';
import { attemptEnd } from '../src/output/reader.js';
import { UsageError } from '../src/errors.js';
import { PRIO_RUNNING, canTransition, countedAttempt, type Finish } from '../src/order.js';

const NAP = join(FIXTURES, 'nap.sh');
const HEARTBEAT_MS = 300;
const by = 'alice@box';

const k = useDb();
const open = kitchens();
const dump = () => dumpOrders(k.db);
const insert = async (doc: Partial<OrderDoc>) => (await orders(k.db).insertOne({ arguments: ['x'], attempts: 0, prio: 0, ...doc } as OrderDoc)).insertedId;
const done = (): Finish => ({ status: 'DONE', stop: new Date(), output: '', result: 'DONE', exitCode: 0 });

test('a RUNNING order held from another process: its command is gone within a heartbeat, its attempt HELD and not counted; released, it runs again as attempt 2, the first that counts', async () => {
  const dir = await tempDir('hold');
  const [id] = await addOrders(k.db, [['long']]);
  const hex = id!.toHexString();
  const a = background(k, ['-n', 'waiter-a', 'deliver', '--lease', '10s', '--heartbeat', `${HEARTBEAT_MS}ms`, NAP], { NAP_DIR: dir });
  const child = await pidFrom(join(dir, `${hex}.pid`), 'the long order to start');
  killAfterTest(child);

  const r = await waiter(k, ['hold', hex, '--reason', 'look first']);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('Held 1 order (1 running: its waiter stops it within one heartbeat)');
  const heldAt = Date.now();
  await until(() => !alive(child), HEARTBEAT_MS + 2000, "the held order's command to be gone");
  expect(Date.now() - heldAt).toBeLessThan(HEARTBEAT_MS + 2000);
  // Nothing else to claim: a HELD order is not waited for, the waiter ends.
  const ra = await a.proc;
  expect(ra.exitCode, String(ra.stderr)).toBe(0);
  expect(ra.stderr).toMatch(new RegExp(`waiter: order ${hex} held by \\S+@\\S+; stopping its command, recording nothing`));

  const o = await byId(k.db, id!);
  expect(o).toMatchObject({ status: 'HELD', attempts: 1, uncounted: 1, held: { by: expect.stringMatching(/^\S+@\S+$/), reason: 'look first', from: 'READY' } });
  expect(o.claim).toBeUndefined();
  expect(o.due).toBeUndefined();
  expect(o.history).toEqual([{ attempt: 1, waiter: 'waiter-a', start: expect.any(Date), stop: o.held!.at, result: 'HELD', by: o.held!.by }]);

  // Released, it is claimed as attempt 2 (a number is never given twice), the first that counts: holds never use up --max-attempts.
  expect((await waiter(k, ['release', hex])).stdout).toBe('Released 1 order');
  const kitchen = await open(k);
  const c = (await kitchen.claim('waiter-b', 60_000))!;
  expect([c.attempt, c.uncounted, countedAttempt(c)]).toEqual([2, 1, 1]);
  expect(await kitchen.finish(c, done())).toBe(true);
  const after = await byId(k.db, id!);
  expect(after).toMatchObject({ status: 'DONE', attempts: 2, uncounted: 1, released: { by: o.held!.by } });
  expect(after.held).toBeUndefined();
  expect(after.history!.map((h) => [h.attempt, h.result])).toEqual([
    [1, 'HELD'],
    [2, 'DONE'],
  ]);
  const show = renderShow(after).join('\n');
  expect(show).toMatch(/^released {2}by \S+@\S+ at /m);
  expect(show).toMatch(/#1 {2}HELD {9}waiter-a .* held by \S+@\S+/);
});

describe('hold and release, in process', () => {
  test('READY and WAITING (on ids, on a barrier): out of every claim, not finished for what waits; released back where they were, a not-yet-due one at its time', async () => {
    const kitchen = await open(k);
    const later = new Date(Date.now() + 3_600_000);
    const parent = await insert({ status: 'READY', arguments: ['parent'], due: new Date() });
    const ready = await insert({ status: 'READY', arguments: ['ready'], due: new Date() });
    const notYet = await insert({ status: 'READY', arguments: ['later'], due: later });
    const onIds = await insert({ status: 'WAITING', arguments: ['on ids'], after: [parent], wait: 1 });
    const barrier = new ObjectId();
    const onBarrier = await insert({ status: 'WAITING', arguments: ['on barrier'], hold: barrier, barrier });
    const child = await insert({ status: 'WAITING', arguments: ['child'], after: [ready], wait: 1 });

    const r = await holdOrders(kitchen, { ids: [ready, notYet, onIds, onBarrier], reason: 'check', by });
    expect(r).toEqual({ held: 4, running: 0, stale: 0, finished: 0, already: 0, busy: 0, dryRun: false });
    expect(holdLine(r)).toBe('Held 4 orders');
    expect(await byId(k.db, notYet)).toMatchObject({ status: 'HELD', at: later, held: { by, reason: 'check', from: 'READY' } });
    const w = await byId(k.db, onIds);
    expect(w).toMatchObject({ status: 'HELD', after: [parent], held: { from: 'WAITING' } });
    expect(w.wait).toBeUndefined();
    expect((await byId(k.db, onBarrier)).hold).toBeUndefined();
    expect(renderShow(await byId(k.db, notYet)).join('\n')).toMatch(/^held {6}by alice@box at \S+ \(check\); waiter release puts it back READY$/m);
    expect(renderShow(await byId(k.db, notYet)).join('\n')).toContain(`due       ${later.toISOString()} (once released: not taken before then)`);

    // Only the parent is claimed; its finish releases nothing held, and what waits on a HELD order waits on.
    const c = (await kitchen.claim('w', 60_000))!;
    expect(c.id).toEqual(parent);
    expect(await kitchen.claim('w', 60_000)).toBeNull();
    expect(await kitchen.finish(c, done())).toBe(true);
    await kitchen.pipeline.releaseAll();
    expect((await byId(k.db, child)).status).toBe('WAITING');
    expect((await byId(k.db, onIds)).status).toBe('HELD');
    const counts = await statusReport(kitchen);
    expect(counts).toMatchObject({ HELD: 4, WAITING: 1, waitingOnFailed: 0 });
    expect(renderStatus(counts).join('\n')).toMatch(/^HELD +4$/m);
    expect(renderStatus(counts).join('\n')).toContain('4 HELD not counted');

    // Held again: left alone and said so, nothing refused.
    const again = await holdOrders(kitchen, { ids: [ready], by });
    expect(holdLine(again)).toBe('Held 0 orders (1 already held, left alone)');

    const dry = await releaseOrders(kitchen, { status: 'HELD', dryRun: true, by });
    expect(releaseLine(dry)).toBe(
      `Would release 4 orders (2 to WAITING on what they wait for): ${[ready, notYet, onIds, onBarrier].map((i) => i.toHexString()).join(', ')}; nothing changed`,
    );
    const back = await releaseOrders(kitchen, { status: 'HELD', by: 'bob@box' });
    expect(back).toEqual({ released: 4, ready: 2, waiting: 2, notHeld: 0, dryRun: false });
    expect(releaseLine(back)).toBe('Released 4 orders (2 WAITING again on what they wait for)');
    expect(await byId(k.db, notYet)).toMatchObject({ status: 'READY', due: later, released: { by: 'bob@box' } });
    const rd = await byId(k.db, ready);
    expect(rd.status).toBe('READY');
    expect(rd.at).toBeUndefined();
    expect(rd.held).toBeUndefined();
    // Its parent is DONE: the release check after the release freed it at once.
    expect(await byId(k.db, onIds)).toMatchObject({ status: 'READY' });
    // Its barrier holds it again (READY orders below it).
    expect(await byId(k.db, onBarrier)).toMatchObject({ status: 'WAITING', hold: barrier });
    expect(canTransition('HELD', 'WAITING') && canTransition('HELD', 'READY')).toBe(true);
  });

  test('a RUNNING order held: its heartbeat answers held by whom, its finish lands nothing, its attempt is given back; a stale one is LOST and counted', async () => {
    const kitchen = await open(k);
    await insert({ status: 'READY', due: new Date() });
    const c = (await kitchen.claim('w', 60_000))!;
    const r = await holdOrders(kitchen, { status: 'RUNNING', by });
    expect(holdLine(r)).toBe('Held 1 order (1 running: its waiter stops it within one heartbeat)');
    expect(await kitchen.heartbeat(c, 60_000)).toEqual({ answer: 'held', by });
    expect(await kitchen.finish(c, done())).toBe(false);
    expect(await byId(k.db, c.id)).toMatchObject({ status: 'HELD', attempts: 1, uncounted: 1, prio: 0, held: { from: 'READY' } });

    const beat = new Date(Date.now() - 120_000);
    const stale = await insert({
      status: 'RUNNING',
      attempts: 1,
      waiter: 'box-a',
      claim: 't',
      prio: PRIO_RUNNING,
      start: beat,
      heartbeat: beat,
      expires: new Date(Date.now() - 60_000),
    });
    const s = await holdOrders(kitchen, { ids: [stale], by });
    expect(holdLine(s)).toBe('Held 1 order (1 was stale: its waiter is gone)');
    const o = await byId(k.db, stale);
    expect(o).toMatchObject({ status: 'HELD', attempts: 1 });
    expect(o.uncounted).toBeUndefined();
    expect(o.history!.map((h) => h.result)).toEqual(['LOST']);
  });

  test("a hold racing the order's own finish, 20 times: DONE or HELD, never both, and the hold's counts say which", async () => {
    const kitchen = await open(k);
    const seen = { DONE: 0, HELD: 0 };
    for (let i = 0; i < 20; i++) {
      await insert({ status: 'READY', arguments: [String(i)], due: new Date() });
      const c = (await kitchen.claim('w', 60_000))!;
      const [finished, held] = await Promise.all([
        // Somewhere within the hold's reads (a handful of round trips), or after its write.
        new Promise((r) => setTimeout(r, Math.random() * 60)).then(() => kitchen.finish(c, done())),
        holdOrders(kitchen, { ids: [c.id], by }).catch((err: unknown) => {
          // Finished before the hold read it (or between its reads): refused, nothing written.
          expect(err).toBeInstanceOf(UsageError);
          expect((err as Error).message).toMatch(/is DONE \(finished\)|no order to hold/);
          return null;
        }),
      ]);
      const o = await byId(k.db, c.id);
      const results = o.history!.map((h) => h.result);
      if (o.status === 'DONE') {
        expect(finished).toBe(true);
        expect(results).toEqual(['DONE']);
        expect(o.held).toBeUndefined();
        expect(held === null || held.finished === 1).toBe(true);
      } else {
        expect(o.status).toBe('HELD');
        expect(finished).toBe(false);
        expect(results).toEqual(['HELD']);
        expect([o.attempts, o.uncounted]).toEqual([1, 1]);
        expect(held).toMatchObject({ held: 1, running: 1 });
      }
      seen[o.status as keyof typeof seen]++;
    }
    expect(seen.DONE + seen.HELD).toBe(20);
  });

  test('cancel takes HELD orders: CANCELLED, no longer held', async () => {
    const kitchen = await open(k);
    const a = await insert({ status: 'READY', due: new Date() });
    const b = await insert({ status: 'WAITING', after: [a], wait: 1 });
    await holdOrders(kitchen, { ids: [a, b], by });
    const r = await cancelOrders(kitchen, { status: 'HELD', reason: 'not needed', by });
    expect(r).toMatchObject({ cancelled: 2, finished: 0 });
    for (const id of [a, b]) {
      const o = await byId(k.db, id);
      expect(o).toMatchObject({ status: 'CANCELLED', cancelled: { reason: 'not needed' } });
      expect(o.held).toBeUndefined();
    }
  });

  test('refusals: a UsageError (exit 2, 400), the list byte-for-byte unchanged; dry runs change nothing', async () => {
    const kitchen = await open(k);
    const ready = await insert({ status: 'READY', arguments: ['r'], due: new Date() });
    const doneId = await insert({ status: 'DONE', arguments: ['d'], attempts: 1 });
    const heldId = await insert({ status: 'READY', arguments: ['h'], due: new Date() });
    await holdOrders(kitchen, { ids: [heldId], by });
    const before = await dump();
    const none = new ObjectId('ffffffffffffffffffffffff');
    // Thunks, run one at a time: each refusal is read before the next starts.
    const hold = (r: object) => () => holdOrders(kitchen, { by, ...r });
    const release = (r: object) => () => releaseOrders(kitchen, { by, ...r });
    const cases: [() => Promise<unknown>, RegExp][] = [
      [hold({}), /^hold: name the orders/],
      [hold({ ids: [none] }), /^hold: no order ffffffffffffffffffffffff in the list: nothing changed$/],
      [hold({ ids: [ready, doneId] }), /is DONE \(finished\): nothing changed$/],
      [hold({ status: 'RUNNING' }), /^hold: no order to hold in that selection: nothing changed$/],
      [hold({ where: [{ column: 1, value: 'd' }] }), /^hold: no order to hold in that selection \(1 finished, left alone\): nothing changed$/],
      [hold({ ids: [ready], reason: 'x'.repeat(501) }), /^hold: --reason 501 characters long: at most 500: nothing changed$/],
      [release({}), /^release: name the orders/],
      [release({ ids: [heldId, ready] }), new RegExp(`^release: order ${ready.toHexString()} is READY, not held: nothing changed$`)],
      [release({ ids: [doneId] }), /is DONE \(finished\), not held: nothing changed$/],
      [release({ where: [{ column: 1, value: 'r' }] }), /^release: no held order in that selection \(1 not held, left alone\): nothing changed$/],
      [release({ ids: [heldId], reason: 'x'.repeat(501) }), /^release: --reason 501 characters long/],
    ];
    for (const [run, message] of cases) {
      const err = await run().catch((e: unknown) => e);
      expect(err, String(message)).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(message);
    }
    expect(holdLine(await hold({ status: 'READY', dryRun: true })())).toBe(`Would hold 1 order: ${ready.toHexString()}; nothing changed`);
    expect(releaseLine(await release({ ids: [heldId], dryRun: true })())).toBe(`Would release 1 order: ${heldId.toHexString()}; nothing changed`);
    expect(await dump()).toBe(before);
  });

  test('POST /api/hold and /api/release: the same use cases, by "api <address>", the token required, 400 for what the CLI refuses', async () => {
    const kitchen = await open(k);
    const [a, b] = await addOrders(k.db, [['a'], ['b']]);
    const app = createApp({ kitchen, list: 'orders', db: k.name, token: 'secret', publicRead: false, log: () => undefined });
    const post = async (path: string, json: unknown, token: string | null = 'secret') => {
      const res = await app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(json),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const before = await dump();
    expect((await post('/api/hold', { ids: [a!.toHexString()] }, null)).status).toBe(401);
    expect((await post('/api/release', { status: 'HELD' }, 'wrong')).status).toBe(401);
    for (const [path, json] of [
      ['/api/hold', {}],
      ['/api/hold', { status: 'HELD' }],
      ['/api/hold', { ids: [a!.toHexString()], withDependants: true }],
      ['/api/hold', { ids: ['zz'] }],
      ['/api/release', { status: 'READY' }],
      ['/api/release', { ids: [a!.toHexString()] }],
      ['/api/release', { status: 'HELD' }],
    ] as const) {
      const r = await post(path, json);
      expect(r.status, `${path} ${JSON.stringify(json)}`).toBe(400);
      expect(r.body.error).toBeTruthy();
    }
    expect(await dump()).toBe(before);
    const held = await post('/api/hold', { status: 'READY', reason: 'from the api' });
    expect(held).toMatchObject({ status: 200, body: { held: 2, running: 0, already: 0, dryRun: false } });
    expect((await byId(k.db, a!)).held).toMatchObject({ by: 'api unknown', reason: 'from the api', from: 'READY' });
    const released = await post('/api/release', { ids: [b!.toHexString()] });
    expect(released).toMatchObject({ status: 200, body: { released: 1, ready: 1, waiting: 0, notHeld: 0, dryRun: false } });
    expect((await byId(k.db, b!)).status).toBe('READY');
  });
});

test('logs, on a list an older waiter ran: an attempt run again under its number (a hold, like a preempt, took the number back then) is running, then ends as its last entry says', () => {
  const start = new Date();
  const heldLine = { attempt: 1, waiter: 'a', start, stop: start, result: 'HELD' as const, by };
  const o = { _id: new ObjectId(), status: 'RUNNING' as const, arguments: [], attempts: 1, history: [heldLine] };
  expect(attemptEnd(o, 1)).toBeNull();
  expect(attemptEnd({ ...o, status: 'DONE', history: [heldLine, { ...heldLine, result: 'DONE', exitCode: 0 }] }, 1)).toMatchObject({ result: 'DONE' });
  expect(attemptEnd({ ...o, status: 'HELD', attempts: 0 }, 1)).toMatchObject({ result: 'HELD' });
});
