// waiter edit (issue 26): a new priority or --at for orders not yet claimed. In process on
// the real kitchen (claims after the edit show the order at once); the CLI spawned once,
// for its exit codes; the API through the app itself (createApp), token and all.
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { kitchens } from './support/explain.js';
import { byId, dumpOrders, orders } from './support/recovery.js';
import type { Kitchen } from '../src/kitchen.js';
import { MAX_PRIORITY, PRIO_RUNNING } from '../src/order.js';
import { editPlan, editUpdate } from '../src/kitchen/edit-plans.js';
import { editOrders } from '../src/app/edit.js';
import { holdOrders } from '../src/app/hold.js';
import { releaseOrders } from '../src/app/release.js';
import { editLine, options } from '../src/commands/edit.js';
import { render } from '../src/commands/show.js';
import { createApp } from '../src/serve/app.js';
import { UsageError } from '../src/errors.js';

const k = useDb();
const open = kitchens();
const dump = () => dumpOrders(k.db);
const by = 't@test';

/** The arguments of the next `n` claims (each finished DONE, so the next claim moves on). */
async function claims(kitchen: Kitchen, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = await kitchen.claim('box-a', 60_000);
    if (!c) break;
    out.push(c.arguments[0]!);
    expect(await kitchen.finish(c, { status: 'DONE', stop: new Date(), output: '', result: 'DONE' })).toBe(true);
  }
  return out;
}

describe('edit plans', () => {
  const s = { by, at: new Date(1000) };
  const at = new Date(5000);
  const normal = { $ne: PRIO_RUNNING };
  const later = { 'edited.at': { $ne: s.at } };
  test('a priority alone: over READY, WAITING and HELD, prio with it (a release never sets prio) except where it is PRIO_RUNNING (crashed work first); 0 unsets priority, as insert keeps it', () => {
    expect(editPlan({ _id: { $in: [] } }, { priority: 7 }, s)).toStrictEqual([
      { filter: { _id: { $in: [] }, status: { $in: ['READY', 'WAITING', 'HELD'] }, prio: normal }, update: { $set: { edited: s, priority: 7, prio: 7 } } },
      { filter: { _id: { $in: [] }, status: { $in: ['READY', 'WAITING', 'HELD'] }, prio: PRIO_RUNNING, ...later }, update: { $set: { edited: s, priority: 7 } } },
    ]);
    expect(editUpdate({ priority: 0 }, s, true)).toStrictEqual({ $set: { edited: s, prio: 0 }, $unset: { priority: '' } });
    expect(editUpdate({ priority: 0 }, s, true, true)).toStrictEqual({ $set: { edited: s }, $unset: { priority: '' } });
  });

  test('an --at: the not-READY (WAITING, HELD) first ($set at), then READY ($set due and at); every write after the first skips what this edit wrote', () => {
    expect(editPlan({ error: { $regex: 'x' } }, { at, priority: -2 }, s)).toStrictEqual([
      { filter: { error: { $regex: 'x' }, status: { $in: ['WAITING', 'HELD'] }, prio: normal }, update: { $set: { edited: s, priority: -2, prio: -2, at } } },
      { filter: { error: { $regex: 'x' }, status: { $in: ['WAITING', 'HELD'] }, prio: PRIO_RUNNING, ...later }, update: { $set: { edited: s, priority: -2, at } } },
      { filter: { error: { $regex: 'x' }, status: 'READY', prio: normal, ...later }, update: { $set: { edited: s, priority: -2, prio: -2, at, due: at } } },
      { filter: { error: { $regex: 'x' }, status: 'READY', prio: PRIO_RUNNING, ...later }, update: { $set: { edited: s, priority: -2, at, due: at } } },
    ]);
    // Without a priority, prio is not read; a selection's own status keeps only its group.
    expect(editPlan({ error: { $regex: 'x' } }, { at }, s)).toStrictEqual([
      { filter: { error: { $regex: 'x' }, status: { $in: ['WAITING', 'HELD'] } }, update: { $set: { edited: s, at } } },
      { filter: { error: { $regex: 'x' }, status: 'READY', ...later }, update: { $set: { edited: s, at, due: at } } },
    ]);
    expect(editPlan({ status: 'READY' }, { at }, s)).toStrictEqual([{ filter: { status: 'READY' }, update: { $set: { edited: s, at, due: at } } }]);
    expect(editPlan({ status: 'WAITING' }, { priority: 1 }, s)).toStrictEqual([
      { filter: { status: 'WAITING', prio: normal }, update: { $set: { edited: s, priority: 1, prio: 1 } } },
      { filter: { status: 'WAITING', prio: PRIO_RUNNING, ...later }, update: { $set: { edited: s, priority: 1 } } },
    ]);
  });
});

describe('edit', () => {
  test('--priority reorders the next claims at once; a WAITING order claims with its new priority once released', async () => {
    const kitchen = await open(k);
    const { ids } = await kitchen.insertOrders([['a'], ['b'], ['c']]);
    const [a, , c] = ids;
    expect(await editOrders(kitchen, { ids: [c!], priority: 5, by })).toMatchObject({ edited: 1, running: 0, finished: 0, dryRun: false });
    expect(await editOrders(kitchen, { ids: [a!], priority: -1, reason: 'later', by })).toMatchObject({ edited: 1 });
    expect(await byId(k.db, c!)).toMatchObject({ priority: 5, prio: 5, edited: { by, at: expect.any(Date) } });
    expect((await byId(k.db, c!)).edited).not.toHaveProperty('reason');
    expect(await byId(k.db, a!)).toMatchObject({ priority: -1, prio: -1, edited: { by, reason: 'later' } });
    expect(await claims(kitchen, 3)).toEqual(['c', 'b', 'a']);

    // WAITING: prio is written now (its release leaves prio as it is).
    const {
      ids: [p],
    } = await kitchen.insertOrders([['parent']]);
    const {
      ids: [w],
    } = await kitchen.insertOrders([['waiting']], { wait: { after: [p!] } });
    expect(await editOrders(kitchen, { status: 'WAITING', priority: 10, by })).toMatchObject({ edited: 1 });
    expect(await byId(k.db, w!)).toMatchObject({ status: 'WAITING', priority: 10, prio: 10 });
    expect(await claims(kitchen, 1)).toEqual(['parent']);
    await kitchen.pipeline.releaseAll();
    await kitchen.insertOrders([['five']], { priority: 5 });
    expect(await claims(kitchen, 2)).toEqual(['waiting', 'five']);

    // Back to 0: priority unset, as an order added without one; prio 0.
    const {
      ids: [z],
    } = await kitchen.insertOrders([['z']], { priority: 3 });
    await editOrders(kitchen, { ids: [z!], priority: 0, by });
    const zo = await byId(k.db, z!);
    expect(zo.priority).toBeUndefined();
    expect(zo.prio).toBe(0);
  });

  test('a READY order reset while it ran keeps PRIO_RUNNING (crashed work first): its priority is set, its prio back to it once that attempt ends', async () => {
    const kitchen = await open(k);
    const {
      ids: [a, b],
    } = await kitchen.insertOrders([['a'], ['b']]);
    expect(await kitchen.claim('box-a', 60_000)).toMatchObject({ arguments: ['a'] });
    expect(await kitchen.reset({ statuses: ['RUNNING'], force: true })).toMatchObject({ reset: 1 });
    expect(await byId(k.db, a!)).toMatchObject({ status: 'READY', prio: PRIO_RUNNING });
    expect(await editOrders(kitchen, { ids: [a!, b!], priority: -5, by })).toMatchObject({ edited: 2 });
    expect(await byId(k.db, a!)).toMatchObject({ priority: -5, prio: PRIO_RUNNING });
    expect(await byId(k.db, b!)).toMatchObject({ priority: -5, prio: -5 });
    await kitchen.insertOrders([['c']]);
    expect(await claims(kitchen, 3)).toEqual(['a', 'c', 'b']);
    expect(await byId(k.db, a!)).toMatchObject({ status: 'DONE', prio: -5 });
  });

  test("--at moves a READY order's due (and back); a WAITING one gets it as `at`: its due once released", async () => {
    const kitchen = await open(k);
    const {
      ids: [r],
    } = await kitchen.insertOrders([['r']]);
    const {
      ids: [p],
    } = await kitchen.insertOrders([['p']], { due: new Date(Date.now() + 3_600_000) });
    const {
      ids: [w],
    } = await kitchen.insertOrders([['w']], { wait: { after: [p!] } });
    const later = new Date(Date.now() + 7_200_000);
    expect(await editOrders(kitchen, { ids: [r!, w!], at: later, by })).toMatchObject({ edited: 2 });
    expect(await byId(k.db, r!)).toMatchObject({ status: 'READY', due: later, at: later });
    expect(await byId(k.db, w!)).toMatchObject({ status: 'WAITING', at: later });
    expect((await byId(k.db, w!)).due).toBeUndefined();
    expect(await kitchen.claim('box-a', 60_000)).toBeNull();

    // p due now: claimed and DONE; w released to its `at`, still not claimable.
    await editOrders(kitchen, { ids: [p!], at: new Date(Date.now() - 1000), by });
    expect(await claims(kitchen, 1)).toEqual(['p']);
    await kitchen.pipeline.releaseAll();
    expect(await byId(k.db, w!)).toMatchObject({ status: 'READY', due: later });
    expect(await kitchen.claim('box-a', 60_000)).toBeNull();
    expect(await editOrders(kitchen, { status: 'READY', at: new Date(Date.now() - 1000), by })).toMatchObject({ edited: 2 });
    expect((await claims(kitchen, 2)).sort()).toEqual(['r', 'w']);
  });

  test('a HELD order takes --priority and --at as a WAITING one (priority and prio; at, its due once released); released, it is due at the edited at with the edited priority', async () => {
    const kitchen = await open(k);
    const {
      ids: [a, b],
    } = await kitchen.insertOrders([['a'], ['b'], ['c']]);
    expect(await holdOrders(kitchen, { ids: [a!, b!], by })).toMatchObject({ held: 2 });
    const later = new Date(Date.now() + 3_600_000);
    expect(await editOrders(kitchen, { ids: [a!], priority: 7, at: later, by })).toMatchObject({ edited: 1, meanwhile: 0 });
    expect(await editOrders(kitchen, { status: 'HELD', priority: 3, by, dryRun: true })).toMatchObject({ edited: 2, dryRun: true });
    expect(await editOrders(kitchen, { ids: [b!], priority: 3, by })).toMatchObject({ edited: 1 });
    const held = await byId(k.db, a!);
    expect(held).toMatchObject({ status: 'HELD', priority: 7, prio: 7, at: later, held: { from: 'READY' }, edited: { by } });
    expect(held.due).toBeUndefined();
    expect(render(held).join('\n')).toMatch(/^due {7}\S+ \(once released: not taken before then\)$/m);

    expect(await releaseOrders(kitchen, { ids: [a!, b!], by })).toMatchObject({ released: 2, ready: 2 });
    const a1 = await byId(k.db, a!);
    expect(a1).toMatchObject({ status: 'READY', due: later, priority: 7, prio: 7 });
    expect(a1.at).toBeUndefined();
    expect(await byId(k.db, b!)).toMatchObject({ status: 'READY', priority: 3, prio: 3 });
    // b before c (its edited priority); a not before its edited time.
    expect(await claims(kitchen, 3)).toEqual(['b', 'c']);
  });

  test('--where reaches RUNNING and finished orders: left alone and counted; --dry-run changes nothing', async () => {
    const kitchen = await open(k);
    const mk = (status: string, extra: object = {}) => ({ status, arguments: ['x', status], attempts: 0, prio: 0, due: new Date(), ...extra });
    const { insertedIds } = await orders(k.db).insertMany([
      mk('READY'),
      mk('READY'),
      mk('RUNNING', { prio: PRIO_RUNNING, claim: 't', expires: new Date(Date.now() + 60_000) }),
      mk('DONE'),
      mk('ERROR'),
    ] as never[]);
    const before = await dump();
    const dry = await editOrders(kitchen, { where: [{ column: 1, value: 'x' }], priority: 3, dryRun: true, by });
    expect(dry).toEqual({ edited: 2, running: 1, finished: 2, meanwhile: 0, dryRun: true, ids: [insertedIds[0]!.toHexString(), insertedIds[1]!.toHexString()] });
    expect(editLine(dry)).toBe(
      `Would edit 2 orders (1 running, left alone; 2 finished, left alone): ${insertedIds[0]!.toHexString()}, ${insertedIds[1]!.toHexString()}; nothing changed`,
    );
    expect(await dump()).toBe(before);
    const r = await editOrders(kitchen, { where: [{ column: 1, value: 'x' }], priority: 3, by });
    expect(editLine(r)).toBe('Edited 2 orders (1 running, left alone; 2 finished, left alone)');
    expect(await byId(k.db, insertedIds[2]!)).toMatchObject({ prio: PRIO_RUNNING });
    expect((await byId(k.db, insertedIds[3]!)).edited).toBeUndefined();
  });

  test('refusals: a UsageError (exit 2, a 400), the list byte-for-byte unchanged', async () => {
    const kitchen = await open(k);
    const {
      ids: [ready],
    } = await kitchen.insertOrders([['r']]);
    const { insertedIds } = await orders(k.db).insertMany([
      { status: 'DONE', arguments: ['d'], attempts: 1 },
      { status: 'RUNNING', arguments: ['run'], attempts: 1, prio: PRIO_RUNNING, claim: 't', expires: new Date(Date.now() + 60_000), due: new Date(Date.now() + 60_000) },
    ] as never[]);
    const [done, running] = [insertedIds[0]!, insertedIds[1]!];
    const before = await dump();
    const id = (x: ObjectId) => x.toHexString();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ids: [id(ready!)] }, /give --priority N or --at TIME/],
      [{ priority: '5' }, /name the orders/],
      [{ ids: ['ffffffffffffffffffffffff'], priority: '5' }, /no order ffffffffffffffffffffffff in the list/],
      [{ ids: [id(ready!), id(done)], priority: '5' }, /is DONE \(finished\), not READY, WAITING or HELD: nothing changed/],
      [{ ids: [id(running)], priority: '5' }, /is RUNNING, not READY, WAITING or HELD: nothing changed/],
      [{ status: 'RUNNING', priority: '5' }, /--status: 'RUNNING' is not one of READY, WAITING, HELD/],
      [{ where: ['1=nothing-like-it'], priority: '5' }, /no order to edit in that selection/],
      [{ where: ['1=run'], priority: '5' }, /no order to edit in that selection \(only READY, WAITING or HELD ones are\) \(1 running, left alone\)/],
      [{ ids: [id(ready!)], priority: String(MAX_PRIORITY + 1) }, /--priority: '1000000001' is not a whole number from -1,000,000,000 to 1,000,000,000/],
      [{ ids: [id(ready!)], priority: '1.5' }, /--priority: '1.5' is not a whole number/],
      [{ ids: [id(ready!)], at: '+11y' }, /--at: '\+11y' is more than 10 years ahead/],
      [{ ids: [id(ready!)], at: 'tomorrow' }, /--at: 'tomorrow' is not a time/],
      [{ ids: [id(ready!)], priority: '1', reason: 'x'.repeat(501) }, /--reason 501 characters long: at most 500: nothing changed/],
    ];
    for (const [argv, message] of cases) {
      const what = JSON.stringify(argv).slice(0, 80);
      await expect((async () => editOrders(kitchen, options(argv)))(), what).rejects.toThrow(UsageError);
      await expect((async () => editOrders(kitchen, options(argv)))(), what).rejects.toThrow(message);
      expect(await dump(), what).toBe(before);
    }
    // The use case checks range and horizon itself too (an API or test caller past the parsers).
    await expect(editOrders(kitchen, { ids: [ready!], priority: MAX_PRIORITY + 1, by })).rejects.toThrow(UsageError);
    await expect(editOrders(kitchen, { ids: [ready!], at: new Date(Date.now() + 11 * 366 * 86_400_000), by })).rejects.toThrow(/more than 10 years ahead/);
    expect(await dump()).toBe(before);

    // The process: exit 2, one line, nothing on stdout; and a good edit, exit 0.
    const bad = await waiter(k, ['edit', id(running), '--priority', '5']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/is RUNNING, not READY, WAITING or HELD: nothing changed/);
    expect(bad.stdout).toBe('');
    expect(await dump()).toBe(before);
    const good = await waiter(k, ['edit', id(ready!), '--priority', '5', '--at', '+1h', '--reason', 'rush']);
    expect([good.exitCode, good.stdout, good.stderr]).toEqual([0, 'Edited 1 order', '']);
    const show = render(await byId(k.db, ready!)).join('\n');
    expect(show).toMatch(/^priority {2}5 /m);
    expect(show).toMatch(/^due {7}\S+ \(not taken before then\)$/m);
    expect(show).toMatch(/^edited {4}by \S+@\S+ at \S+ \(rush\)$/m);
  });
});

describe('edit racing a release (the release of a WAITING order reads its `at`, then writes due = that at)', () => {
  /** A WAITING order on a parent that is DONE, its release not yet made (as a waiter killed before it), with at = `at`. */
  async function waitingFree(kitchen: Kitchen, at: Date): Promise<ObjectId> {
    const {
      ids: [p],
    } = await kitchen.insertOrders([['parent']]);
    const {
      ids: [w],
    } = await kitchen.insertOrders([['waiting']], { wait: { after: [p!] } });
    await orders(k.db).updateOne({ _id: w! }, { $set: { at } });
    expect(await claims(kitchen, 1)).toEqual(['parent']);
    expect(await byId(k.db, w!)).toMatchObject({ status: 'WAITING', at });
    return w!;
  }

  /** Runs `between` once, after the release's find of the WAITING orders whose at is ahead and before its write. */
  function betweenFindAndWrite(kitchen: Kitchen, between: () => Promise<unknown>): void {
    // The kitchen's own collection (private: every query stays in src/kitchen*), reached by bracket access.
    const col = kitchen['orders'];
    const find = col.find.bind(col);
    let fired = false;
    col.find = ((filter: Record<string, unknown>, options: unknown) => {
      const cursor = find(filter, options as never);
      if (!fired && filter.status === 'WAITING' && (filter.at as { $gt?: Date } | undefined)?.$gt) {
        fired = true;
        const toArray = cursor.toArray.bind(cursor);
        cursor.toArray = async () => {
          const read = await toArray();
          await between();
          return read;
        };
      }
      return cursor;
    }) as typeof find;
  }

  test('an edit --at landing between the find and the write: due is the edited at (the write is fenced by the at it read)', async () => {
    const kitchen = await open(k);
    const other = await open(k);
    const first = new Date(Date.now() + 3_600_000);
    const edited = new Date(Date.now() + 7_200_000);
    const w = await waitingFree(kitchen, first);
    betweenFindAndWrite(kitchen, () => editOrders(other, { ids: [w], at: edited, by }));
    await kitchen.pipeline.releaseAll();
    expect(await byId(k.db, w)).toMatchObject({ status: 'READY', due: edited });
  });

  test("the edit's writes alone in between: the fenced release misses the order, the next sweep releases it to the edited at", async () => {
    const kitchen = await open(k);
    const other = await open(k);
    const first = new Date(Date.now() + 3_600_000);
    const edited = new Date(Date.now() + 7_200_000);
    const w = await waitingFree(kitchen, first);
    betweenFindAndWrite(kitchen, () => other.steer.edit({ _id: { $in: [w] } }, { at: edited }, { by, at: new Date() }));
    expect(await kitchen.pipeline.releaseAll()).toBe(0);
    expect(await byId(k.db, w)).toMatchObject({ status: 'WAITING', at: edited });
    expect(await other.pipeline.releaseAll()).toBe(1);
    expect(await byId(k.db, w)).toMatchObject({ status: 'READY', due: edited });
  });

  test('an --at moved into the past releases a free WAITING order now (the edit ends with the release check)', async () => {
    const kitchen = await open(k);
    const w = await waitingFree(kitchen, new Date(Date.now() + 3_600_000));
    expect(await editOrders(kitchen, { ids: [w], at: new Date(Date.now() - 1000), by })).toMatchObject({ edited: 1 });
    expect(await byId(k.db, w)).toMatchObject({ status: 'READY' });
    expect(await claims(kitchen, 1)).toEqual(['waiting']);
  });

  test("a release landing between the edit's two writes: the order edited exactly once, due = the edited at", async () => {
    const kitchen = await open(k);
    const other = await open(k);
    const edited = new Date(Date.now() + 7_200_000);
    const w = await waitingFree(kitchen, new Date(Date.now() + 3_600_000));
    const col = kitchen['orders'];
    const updateMany = col.updateMany.bind(col);
    const writes: number[] = [];
    col.updateMany = async (filter: never, update: { $set?: Record<string, unknown> }, options?: never) => {
      const r = await updateMany(filter, update, options);
      if (update.$set?.edited) {
        writes.push(r.modifiedCount);
        // After the edit's first write (WAITING: at), the release from elsewhere.
        if (writes.length === 1) expect(await other.pipeline.releaseAll()).toBe(1);
      }
      return r;
    };
    expect(await editOrders(kitchen, { ids: [w], at: edited, by })).toMatchObject({ edited: 1, meanwhile: 0 });
    expect(writes).toEqual([1, 0]);
    expect(await byId(k.db, w)).toMatchObject({ status: 'READY', due: edited, edited: { by } });
  });
});

describe("edit racing the order's claim", () => {
  test('--priority racing a claim, 20 times: edited before the claim (claimed with the new priority) or not at all (refused as RUNNING, or counted meanwhile), never half', async () => {
    const kitchen = await open(k);
    const waiterSide = await open(k);
    const seen = { edited: 0, refused: 0, meanwhile: 0 };
    for (let i = 0; i < 20; i++) {
      const {
        ids: [id],
      } = await kitchen.insertOrders([[String(i)]], { priority: 2 });
      const [claimed, edit] = await Promise.all([
        // Somewhere before, within or after the edit's reads and writes (a handful of round trips).
        new Promise((r) => setTimeout(r, Math.random() * 30)).then(() => waiterSide.claim('box-a', 60_000)),
        editOrders(kitchen, { ids: [id!], priority: 9, by }).catch((err: unknown) => {
          // Claimed before the edit read its state, or between that read and its count: refused, nothing written.
          expect(err).toBeInstanceOf(UsageError);
          expect((err as Error).message).toMatch(
            /^edit: (order [0-9a-f]{24} is RUNNING, not READY, WAITING or HELD|no order to edit in that selection \(only READY, WAITING or HELD ones are\)): nothing changed$/,
          );
          return null;
        }),
      ]);
      const c = claimed!;
      expect(c.id).toEqual(id);
      const o = await byId(k.db, id!);
      // RUNNING with the claim's sort key, whoever came first: an edit never writes prio over PRIO_RUNNING.
      expect(o).toMatchObject({ status: 'RUNNING', prio: PRIO_RUNNING, claim: c.token });
      if (o.edited) {
        // The edit landed first, whole: the claim took the new priority with it.
        expect([o.priority, c.priority, edit]).toEqual([9, 9, expect.objectContaining({ edited: 1, meanwhile: 0 })]);
        seen.edited++;
      } else {
        // The claim came first: nothing of the edit written, the old priority kept and claimed.
        expect([o.priority, c.priority]).toEqual([2, 2]);
        if (edit === null) seen.refused++;
        else {
          expect(edit).toMatchObject({ edited: 0, meanwhile: 1 });
          seen.meanwhile++;
        }
      }
      // The attempt ends with the priority it was claimed with, the document's own: nothing lost either way.
      expect(await waiterSide.finish(c, { status: 'DONE', stop: new Date(), output: '', result: 'DONE' })).toBe(true);
      expect(await byId(k.db, id!)).toMatchObject({ status: 'DONE', prio: o.priority, priority: o.priority });
    }
    expect(seen.edited + seen.refused + seen.meanwhile).toBe(20);
  });
});

describe('POST /api/edit', () => {
  test('the same use case, by "api …"; 400 for what the CLI refuses, 401 without the token, nothing changed', async () => {
    const kitchen = await open(k);
    const { ids } = await kitchen.insertOrders([['a'], ['b']]);
    const token = 'correct-horse-battery';
    const app = createApp({ kitchen, list: 'orders', db: k.name, token, publicRead: false, log: () => {} });
    const post = (json: unknown, withToken = true) =>
      app.request('/api/edit', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(withToken ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(json),
      });
    const a = ids[0]!.toHexString();
    const before = await dump();
    expect((await post({ ids: [a], priority: 5 }, false)).status).toBe(401);
    const bodies = [
      {},
      { ids: [a] },
      { priority: 5 },
      { ids: ['ffffffffffffffffffffffff'], priority: 5 },
      { ids: [a], priority: MAX_PRIORITY + 1 },
      { ids: [a], priority: '5' },
      { ids: [a], at: '+11y' },
      { ids: [a], at: 5 },
      { status: 'DONE', priority: 1 },
      { ids: [a], priority: 1, bogus: 1 },
      { ids: [a], priority: 1, dryRun: 'yes' },
      [],
    ];
    for (const json of bodies) {
      const r = await post(json);
      expect(r.status, JSON.stringify(json)).toBe(400);
      expect(((await r.json()) as { error: string }).error, JSON.stringify(json)).toBeTruthy();
    }
    expect(await dump()).toBe(before);
    const dry = await post({ status: 'READY', priority: 2, dryRun: true });
    expect(await dry.json()).toMatchObject({ edited: 2, dryRun: true, ids: ids.map((i) => i.toHexString()) });
    expect(await dump()).toBe(before);
    const r = await post({ ids: [a], priority: 2, at: '+1h', reason: 'from the api' });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ edited: 1, running: 0, finished: 0, meanwhile: 0, dryRun: false });
    expect(await byId(k.db, new ObjectId(a))).toMatchObject({ priority: 2, prio: 2, due: expect.any(Date), edited: { by: expect.stringMatching(/^api/), reason: 'from the api' } });
  });
});
