// HELD orders in pipelines (issues 18, 26): an order held from WAITING keeps what it waits
// for (`after`, `barrier`) and waits on it again once released. So show marks what holds
// it back as for a WAITING order (said for a held one), and status counts what a failed
// order holds back through it: WAITING orders down a chain (waitingOnFailed) and the held
// orders themselves (heldOnFailed). A HELD order is not a failed one: what waits only on
// a held order is not counted. In process on the real kitchen, and one real `show`.
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { kitchens } from './support/explain.js';
import { orders, type OrderDoc } from './support/recovery.js';
import type { Kitchen } from '../src/kitchen.js';
import { holdOrders } from '../src/app/hold.js';
import { showOrder } from '../src/app/show.js';
import { statusReport } from '../src/app/status.js';
import { render as renderStatus } from '../src/commands/status.js';
import { waitLines } from '../src/pipeline/show.js';

const k = useDb();
const open = kitchens();
const by = 'alice@box';
const insert = async (doc: Partial<OrderDoc>) => (await orders(k.db).insertOne({ arguments: ['x'], attempts: 0, prio: 0, ...doc } as OrderDoc)).insertedId;
const waitingOn = (...after: ObjectId[]) => insert({ status: 'WAITING', after, wait: 1 });
/** The human lines of show about what the order waits for. */
const shown = async (kitchen: Kitchen, id: ObjectId) => {
  const s = (await showOrder(kitchen, id))!;
  return waitLines(s.order, s.waits!).join('\n');
};

describe('HELD from WAITING, on failed orders', () => {
  test('show says what will hold a held order back once released, and what holds a WAITING one back through a held one', async () => {
    const kitchen = await open(k);
    await kitchen.ensureIndexes();
    await kitchen.pipeline.ensureIndexes();
    const failed = await insert({ status: 'ERROR', attempts: 1 });
    const cancelled = await insert({ status: 'CANCELLED', cancelled: { by, at: new Date() } });
    const b = await waitingOn(failed);
    const d = await waitingOn(cancelled);
    const e = await waitingOn(b);
    const g = await waitingOn(e);
    expect(await holdOrders(kitchen, { ids: [b, d, g], by })).toMatchObject({ held: 3 });

    const hex = (id: ObjectId) => id.toHexString();
    expect(await shown(kitchen, b)).toContain(`${hex(failed)}  ERROR  (failed: will hold this order back once released; reset it)`);
    expect(await shown(kitchen, d)).toContain(`${hex(cancelled)}  CANCELLED  (cancelled: will hold this order back once released)`);
    expect(await shown(kitchen, g)).toContain(`${hex(e)}  WAITING  (waits on failed orders itself: will hold this order back once released; reset them)`);
    // A WAITING order on a held one that a failed one holds back: releasing it is not enough.
    expect(await shown(kitchen, e)).toContain(`${hex(b)}  HELD  (held, and waits on failed orders itself: holds this order back; reset them)`);
    expect((await showOrder(kitchen, e))!.waits).toEqual({ after: [{ id: hex(b), status: 'HELD', onFailed: true }] });

    // The real command, as a user runs it.
    const r = await waiter(k, ['show', hex(d)]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('status    HELD');
    expect(r.stdout).toContain(`  ${hex(cancelled)}  CANCELLED  (cancelled: will hold this order back once released)`);
    expect(JSON.parse((await waiter(k, ['show', '--json', hex(g)])).stdout).waitingFor).toEqual({ after: [{ id: hex(e), status: 'WAITING', onFailed: true }] });
  });

  test('status counts a WAITING order held back through a held one, and the held ones apart; a held order alone is no failure', async () => {
    const kitchen = await open(k);
    await kitchen.ensureIndexes();
    await kitchen.pipeline.ensureIndexes();
    const cancelled = await insert({ status: 'CANCELLED', cancelled: { by, at: new Date() } });
    const b = await waitingOn(cancelled);
    const e = await waitingOn(b);
    // Not on failed orders: held from WAITING on a READY one, held from READY, and what waits on them.
    const ready = await insert({ status: 'READY', due: new Date() });
    const x = await waitingOn(ready);
    const y = await insert({ status: 'READY', due: new Date() });
    await waitingOn(x);
    await waitingOn(y);
    expect(await holdOrders(kitchen, { ids: [b, x, y], by })).toMatchObject({ held: 3 });

    const r = await statusReport(kitchen);
    expect(r).toMatchObject({ WAITING: 3, HELD: 3, waitingOnFailed: 1, heldOnFailed: 1 });
    const text = renderStatus(r).join('\n');
    expect(text).toMatch(/^WAITING +3 +\(1 on failed orders\)$/m);
    expect(text).toMatch(/^HELD +3 +\(1 on failed orders once released\)$/m);
    expect(await kitchen.pipeline.summary()).toEqual({ waiting: 3, onFailed: 1, heldOnFailed: 1 });
    const blocked = await kitchen.pipeline.blocked();
    expect([...blocked.ids]).toEqual([e.toHexString()]);
    expect([...blocked.held]).toEqual([b.toHexString()]);

    // Only the chain on the cancelled order left WAITING: every WAITING order is on failed ones (a waiter does not wait for it).
    await orders(k.db).deleteMany({ _id: { $nin: [cancelled, b, e] } });
    expect((await kitchen.pipeline.blocked()).all).toBe(true);
    // The cancelled order put back: nothing is on failed orders, and a held order alone is none.
    await orders(k.db).updateOne({ _id: cancelled }, { $set: { status: 'READY', due: new Date() }, $unset: { cancelled: '' } });
    expect(await statusReport(kitchen)).toMatchObject({ WAITING: 1, HELD: 1, waitingOnFailed: 0, heldOnFailed: 0 });
    expect(renderStatus(await statusReport(kitchen)).join('\n')).toMatch(/^HELD +1$/m);
  });

  test('barriers: one held back by a held order on failed ones below it counts; held orders on a barrier with a failed one below count as held', async () => {
    const kitchen = await open(k);
    await kitchen.ensureIndexes();
    await kitchen.pipeline.ensureIndexes();
    const soon = Math.floor(Date.now() / 1000);
    // An ERROR order above the first barrier (another box's clock): only the held order below holds it back.
    const failed = ObjectId.createFromTime(soon + 3600);
    await insert({ _id: failed, status: 'ERROR', attempts: 1 });
    const h = await waitingOn(failed);
    const x = new ObjectId();
    const w = await insert({ status: 'WAITING', hold: x, barrier: x });
    // A barrier above the ERROR order, whose only order is held: no WAITING order has it.
    const y = ObjectId.createFromTime(soon + 7200);
    const z = await insert({ _id: ObjectId.createFromTime(soon + 7201), status: 'WAITING', hold: y, barrier: y });
    const gone = await insert({ _id: ObjectId.createFromTime(soon + 7202), status: 'CANCELLED', barrier: y, cancelled: { by, at: new Date() } });
    expect(await holdOrders(kitchen, { ids: [h, z], by })).toMatchObject({ held: 2 });

    expect(await kitchen.pipeline.summary()).toEqual({ waiting: 1, onFailed: 1, heldOnFailed: 2 });
    expect(await shown(kitchen, w)).toContain(
      `every order added before barrier ${x.toHexString()}: 1 not DONE, some waiting on failed orders (they hold this order back; reset those)`,
    );
    expect(await shown(kitchen, z)).toContain(
      `every order added before barrier ${y.toHexString()}: 3 not DONE, 1 of them ERROR or CANCELLED (they will hold this order back once released)`,
    );
    // A finished order's barrier holds it back no more.
    expect(await shown(kitchen, gone)).toMatch(/: 3 not DONE, 1 of them ERROR or CANCELLED$/);
  });
});
