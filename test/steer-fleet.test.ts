// Steering a fleet (issue 26, items 4-5) with real processes on the real server: pause
// and resume the list under 3 waiters × -x 2, a waiter started on a paused list, stop one
// named waiter (drained, exit 0) while the others go on, stop --now (its order back READY
// at once), bad input (exit 2, nothing written), and the same through the API.
import { join } from 'node:path';
import { hostname, userInfo } from 'node:os';
import { BSON } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { FIXTURES, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { FAST, addOrders, alive, background, orders } from './support/recovery.js';
import { serve } from './support/serve.js';
import type { WaiterDoc } from '../src/fleet.js';

const k = useDb();
const registry = () => k.db.collection<WaiterDoc>('orders.waiters');
const SLOW = join(FIXTURES, 'slow.sh');
const ME = `${userInfo().username}@${hostname()}`;
const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** FAST's heartbeat: a waiter hears a pause or a stop with its next registry write. */
const HEARTBEAT_MS = 300;

const count = (status: string) => orders(k.db).countDocuments({ status } as never);
const control = () => k.db.collection('orders.control');
/** The list's control document(s), byte for byte: what a pause or a resume writes. */
const controlDump = async () => BSON.EJSON.stringify(await control().find({}).toArray());
const startedAfter = (t: number) => orders(k.db).countDocuments({ start: { $gt: new Date(t) } });
const deliverer = (name: string, args: string[] = []) => background(k, ['-n', name, 'deliver', ...FAST, ...args, SLOW]);

describe('pause and resume', () => {
  test('3 waiters × -x 2: after pause no claim past heartbeat + 1 s, running orders finish, the waiters stay; resume finishes the list', async () => {
    await addOrders(
      k.db,
      Array.from({ length: 24 }, () => ['1']),
    );
    const ws = ['p1', 'p2', 'p3'].map((n) => deliverer(n, ['-x', '2']));
    await until(async () => (await count('RUNNING')) === 6, 30_000, 'six orders running');

    const p = await waiter(k, ['pause', '--reason', 'deploy']);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.stdout).toBe('Paused the list: 3 live waiters stop claiming within one heartbeat; running orders finish (waiter resume to go on)');
    const pausedAt = Date.now();

    // Running orders finish (1 s each); nothing is claimed after one heartbeat and a second.
    await until(async () => (await count('RUNNING')) === 0, 20_000, 'the running orders to finish');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await startedAfter(pausedAt + HEARTBEAT_MS + 1000)).toBe(0);
    expect(await count('RUNNING')).toBe(0);
    const ready = await count('READY');
    expect(ready).toBeGreaterThan(0);
    expect((await count('DONE')) + ready).toBe(24);
    for (const w of ws) expect(alive(w.pid)).toBe(true);

    // Said everywhere: status's first line, waiters' state, the registry documents.
    const st = await waiter(k, ['status']);
    expect(st.stdout.split('\n')[0]).toMatch(new RegExp(`^PAUSED since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z by ${ME.replace(/[.]/g, '\\.')} \\(deploy\\)$`));
    expect(JSON.parse((await waiter(k, ['status', '--json'])).stdout).paused).toMatchObject({ by: ME, reason: 'deploy' });
    const table = (await waiter(k, ['waiters'])).stdout;
    const since = ((await control().findOne({}))!.paused as { at: Date }).at.toISOString();
    expect(table.match(new RegExp(`^p\\d +\\S+ +PAUSED +0 .*\\(paused since ${since} by ${esc(ME)}: deploy\\)$`, 'gm'))).toHaveLength(3);
    const docs = await registry().find({}).toArray();
    expect(docs.map((d) => d.paused?.by)).toEqual([ME, ME, ME]);
    for (const w of ws) expect(w.stderr()).toContain(`waiter: the list is paused (by ${ME}`);

    // A second pause changes nothing and says so (exit 0).
    const again = await waiter(k, ['pause']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/^The list is already paused \(since .* by .* \(deploy\)\): nothing changed$/);

    const r = await waiter(k, ['resume']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Resumed the list \(paused since .*\): 3 live waiters claim again within one heartbeat$/);
    // Claiming again within a heartbeat (and a second or two) of the resume's return.
    const resumedAt = Date.now();
    await until(async () => (await startedAfter(pausedAt + HEARTBEAT_MS + 1000)) > 0, HEARTBEAT_MS + 2000, 'a claim after the resume');
    expect(Date.now() - resumedAt).toBeLessThan(HEARTBEAT_MS + 2000);
    const codes = await Promise.all(ws.map((w) => w.proc));
    expect(codes.map((c) => c.exitCode)).toEqual([0, 0, 0]);
    expect(await count('DONE')).toBe(24);
    expect((await waiter(k, ['status'])).stdout).not.toContain('PAUSED');
    const resumed = await waiter(k, ['resume']);
    expect([resumed.exitCode, resumed.stdout]).toEqual([0, 'The list is not paused: nothing changed']);
  }, 90_000);

  test('a waiter started on a paused list claims nothing until resumed, a whole clean meanwhile or not', async () => {
    expect((await waiter(k, ['pause'])).exitCode).toBe(0);
    await addOrders(k.db, [['0.2'], ['0.2']]);
    const w = deliverer('late');
    const doc = await until(() => registry().findOne({ name: 'late' }), 20_000, 'its registry document');
    await until(async () => (await registry().findOne({ _id: doc._id }))?.paused, 5_000, 'the pause on its document');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count('READY')).toBe(2);
    expect(alive(w.pid)).toBe(true);
    // A whole clean forgets the registry: the waiter writes itself back, reads the pause again, still claims nothing.
    expect((await waiter(k, ['clean'])).exitCode).toBe(0);
    await addOrders(k.db, [['0.2'], ['0.2']]);
    await until(async () => (await registry().findOne({ _id: doc._id }))?.paused, 5_000, 'the pause on its document again');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count('READY')).toBe(2);
    expect(alive(w.pid)).toBe(true);
    expect((await waiter(k, ['resume'])).exitCode).toBe(0);
    expect((await w.proc).exitCode).toBe(0);
    expect(await count('DONE')).toBe(2);
  }, 60_000);
});

describe('stop', () => {
  test('stop <name>: that waiter stops claiming, finishes its order and exits 0, reason in the registry; the other goes on', async () => {
    await addOrders(
      k.db,
      Array.from({ length: 12 }, () => ['1']),
    );
    const a = deliverer('a');
    const b = deliverer('b');
    await until(async () => (await count('RUNNING')) === 2, 30_000, 'both running');
    const s = await waiter(k, ['stop', 'a']);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stdout).toBe('Asked 1 waiter (a) to stop: within one heartbeat they stop claiming, finish their running orders and exit');
    const askedAt = Date.now();
    const done = await a.proc;
    expect(done.exitCode, a.stderr()).toBe(0);
    expect(a.stderr()).toContain(`waiter: stopped by ${ME}: no new orders; waiting for 1 running order(s)`);
    expect(alive(b.pid)).toBe(true);
    const doc = (await registry().findOne({ name: 'a' }))!;
    expect(doc.reason).toBe(`stopped by ${ME}`);
    expect(doc.ended).toBeInstanceOf(Date);
    // Its last order finished (DONE), none of its orders was interrupted, none claimed after the stop was heard.
    const mine = await orders(k.db)
      .find({ 'history.waiter': 'a' } as never)
      .toArray();
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((o) => o.status === 'DONE' && o.history!.every((h) => h.result === 'DONE'))).toBe(true);
    expect(mine.every((o) => +o.start! <= askedAt + HEARTBEAT_MS + 1000)).toBe(true);
    // The other finishes the list.
    expect((await b.proc).exitCode).toBe(0);
    expect(await count('DONE')).toBe(12);
  }, 90_000);

  test('stop --now: its running order is back READY at once, the waiter exits 0', async () => {
    const [id] = await addOrders(k.db, [['60']]);
    const w = deliverer('long');
    await until(async () => (await count('RUNNING')) === 1, 20_000, 'the order running');
    const t = Date.now();
    const s = await waiter(k, ['stop', '--host', hostname(), '--now', '--reason', 'reboot']);
    expect(s.exitCode, s.stderr).toBe(0);
    expect((await w.proc).exitCode).toBe(0);
    expect(Date.now() - t).toBeLessThan(10_000);
    const o = (await orders(k.db).findOne({ _id: id! }))!;
    expect(o.status).toBe('READY');
    expect(o.history?.at(-1)?.result).toBe('INTERRUPTED');
    expect((await registry().findOne({ name: 'long' }))!.reason).toBe(`stopped by ${ME} (reboot)`);
  }, 60_000);

  test('stop of a waiter that delivered a failed order: exit 1, as any such waiter (deploy/waiter@.service counts 1 a success: not restarted)', async () => {
    await addOrders(k.db, [['3']]);
    const w = background(k, ['-n', 'failing', 'deliver', ...FAST, '--wait', join(FIXTURES, 'fail.sh')]);
    await until(async () => (await count('ERROR')) === 1, 20_000, 'the order failed');
    const s = await waiter(k, ['stop', 'failing']);
    expect(s.exitCode, s.stderr).toBe(0);
    expect((await w.proc).exitCode, w.stderr()).toBe(1);
    expect((await registry().findOne({ name: 'failing' }))!.reason).toBe(`stopped by ${ME}`);
  }, 60_000);

  test('bad input: exit 2, one line, nothing written', async () => {
    await addOrders(k.db, [['30']]);
    const w = deliverer('only', ['--wait']);
    await until(async () => (await count('RUNNING')) === 1, 20_000, 'the order running');
    const before = await registry().findOne({ name: 'only' });
    const tries: [string[], RegExp][] = [
      [['stop', 'nobody'], /^waiter: no live waiter named 'nobody' \(waiter waiters lists them\)$/],
      [['stop', '-n', 'nobody'], /^waiter: no live waiter named 'nobody'/],
      [['stop', '--host', 'no-such-host'], /^waiter: no live waiter on host 'no-such-host'/],
      [['stop'], /^waiter: stop: name a waiter/],
      [['stop', 'only', '--all'], /^waiter: stop: give one of <name>, --host or --all$/],
      [['pause', '--reason', ' '], /^waiter: --reason is empty/],
      // Copied onto every waiter's document and read back with each heartbeat: kept short.
      [['pause', '--reason', 'é'.repeat(501)], /^waiter: --reason is 501 characters long: at most 500$/],
      [['stop', 'only', '--reason', 'x'.repeat(501)], /^waiter: --reason is 501 characters long: at most 500$/],
    ];
    for (const [args, err] of tries) {
      const r = await waiter(k, args);
      expect([r.exitCode, r.stdout], args.join(' ')).toEqual([2, '']);
      expect(r.stderr).toMatch(err);
    }
    const after = await registry().findOne({ name: 'only' });
    expect(after!.stop).toBeUndefined();
    expect(after!.paused).toBeUndefined();
    expect(await k.db.collection('orders.control').countDocuments()).toBe(0);
    expect(before!.started).toEqual(after!.started);
    expect(alive(w.pid)).toBe(true);

    // On a paused list: a bad resume lifts nothing, a bad pause rewrites nothing.
    expect((await waiter(k, ['pause', '--reason', 'deploy'])).exitCode).toBe(0);
    const paused = await controlDump();
    const copy = (await registry().findOne({ name: 'only' }))!.paused;
    expect(copy).toMatchObject({ by: ME, reason: 'deploy' });
    const onPaused: [string[], RegExp][] = [
      [['resume', '--bogus'], /^waiter: Unknown argument: bogus$/],
      // resume takes no --reason: refused, not dropped.
      [['resume', '--reason', 'x'.repeat(501)], /^waiter: Unknown argument: reason$/],
      [['resume', 'now'], /^waiter: Unknown argument: now$/],
      [['pause', '--bogus'], /^waiter: Unknown argument: bogus$/],
      [['pause', '--reason', 'x'.repeat(501)], /^waiter: --reason is 501 characters long: at most 500$/],
    ];
    for (const [args, err] of onPaused) {
      const r = await waiter(k, args);
      expect([r.exitCode, r.stdout], args.join(' ')).toEqual([2, '']);
      expect(r.stderr.split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(err);
      expect(await controlDump(), args.join(' ')).toBe(paused);
      const doc = (await registry().findOne({ name: 'only' }))!;
      expect([doc.paused, doc.stop], args.join(' ')).toEqual([copy, undefined]);
    }
  }, 60_000);
});

describe('the API', () => {
  test('POST /api/pause, /api/resume, /api/waiters/stop: the same use cases, by "api <address>", a token needed', async () => {
    const TOKEN = 'steer-token-0123456789';
    await addOrders(k.db, [['30']]);
    const w = deliverer('api-w', ['--wait']);
    await until(async () => (await count('RUNNING')) === 1, 20_000, 'the order running');
    const s = await serve(k, ['--token', TOKEN, '--public-read']);
    expect((await s.call('/api/pause', { method: 'POST', json: {} })).status).toBe(401);
    const long = await s.call('/api/pause', { method: 'POST', json: { reason: 'x'.repeat(501) }, token: TOKEN });
    expect([long.status, long.body.error]).toEqual([400, 'reason: 501 characters long: at most 500']);
    const longStop = await s.call('/api/waiters/stop', { method: 'POST', json: { all: true, reason: 'x'.repeat(501) }, token: TOKEN });
    expect([longStop.status, longStop.body.error]).toEqual([400, 'reason: 501 characters long: at most 500']);
    expect(await k.db.collection('orders.control').countDocuments()).toBe(0);
    expect((await registry().findOne({ name: 'api-w' }))!.stop).toBeUndefined();
    expect((await s.call('/api/pause', { method: 'POST', json: { reason: 'y'.repeat(500) }, token: TOKEN })).status).toBe(200);
    expect((await s.call('/api/resume', { method: 'POST', json: {}, token: TOKEN })).status).toBe(200);
    const p = await s.call('/api/pause', { method: 'POST', json: { reason: 'maintenance' }, token: TOKEN });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ paused: { by: 'api 127.0.0.1', reason: 'maintenance' }, already: false, waiters: 1 });
    expect((await s.call('/api/pause', { method: 'POST', json: {}, token: TOKEN })).body).toMatchObject({ already: true });
    // Without the token (or with a wrong one): 401, the pause stays, no stop asked.
    const pausedDoc = await controlDump();
    for (const token of [undefined, 'wrong-token-0123456789']) {
      expect((await s.call('/api/resume', { method: 'POST', json: {}, ...(token ? { token } : {}) })).status).toBe(401);
      expect((await s.call('/api/waiters/stop', { method: 'POST', json: { all: true, now: true }, ...(token ? { token } : {}) })).status).toBe(401);
      expect((await s.call('/api/waiters/stop', { method: 'POST', json: { name: 'api-w' }, ...(token ? { token } : {}) })).status).toBe(401);
    }
    expect(await controlDump()).toBe(pausedDoc);
    const unasked = (await registry().findOne({ name: 'api-w' }))!;
    expect(unasked.stop).toBeUndefined();
    expect(unasked.paused).toMatchObject({ by: 'api 127.0.0.1', reason: 'maintenance' });
    expect(alive(w.pid)).toBe(true);
    expect(await count('RUNNING')).toBe(1);
    const st = await s.call('/api/status');
    expect(st.body.paused).toMatchObject({ by: 'api 127.0.0.1', reason: 'maintenance' });
    await until(async () => (await s.call('/api/waiters')).body[0]?.paused, 5_000, 'the pause in /api/waiters');
    expect((await s.call('/api/resume', { method: 'POST', json: {}, token: TOKEN })).body).toMatchObject({ was: { by: 'api 127.0.0.1' }, waiters: 1 });
    expect((await s.call('/api/resume', { method: 'POST', json: {}, token: TOKEN })).body).toMatchObject({ was: null });
    const bad = await s.call('/api/waiters/stop', { method: 'POST', json: { name: 'nobody' }, token: TOKEN });
    expect([bad.status, bad.body.error]).toEqual([400, "no live waiter named 'nobody' (waiter waiters lists them)"]);
    expect((await s.call('/api/waiters/stop', { method: 'POST', json: { name: 'x', all: true }, token: TOKEN })).status).toBe(400);
    expect((await s.call('/api/waiters/stop', { method: 'POST', json: { all: true, now: true }, token: TOKEN })).body).toEqual({ asked: 1 });
    expect((await w.proc).exitCode).toBe(0);
    expect((await registry().findOne({ name: 'api-w' }))!.reason).toBe('stopped by api 127.0.0.1');
    expect(await count('READY')).toBe(1);
  }, 60_000);
});
