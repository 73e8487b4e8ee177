// reset with cancel's selection (issue 26): ids, --where, --failed-with narrow reset to
// some orders; its own --status (ERROR, RUNNING, CANCELLED) still says which states. In
// process on the real kitchen; the parsers (CLI and API) without a server.
import { BSON, ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { useDb } from './support/kitchen.js';
import { kitchens } from './support/explain.js';
import { byId, orders } from './support/recovery.js';
import { PRIO_RUNNING } from '../src/order.js';
import { resetFilter } from '../src/kitchen/plans.js';
import { barrierBack, cancelledOrders, uncancelSteps } from '../src/kitchen/steer-plans.js';
import { resetOrders } from '../src/app/reset.js';
import { options } from '../src/commands/reset.js';
import * as reset from '../src/commands/reset.js';
import * as cancel from '../src/commands/cancel.js';
import * as edit from '../src/commands/edit.js';
import * as hold from '../src/commands/hold.js';
import * as release from '../src/commands/release.js';
import { cancelOrders } from '../src/app/cancel.js';
import { holdOrders } from '../src/app/hold.js';
import { releaseOrders } from '../src/app/release.js';
import { editOrders } from '../src/app/edit.js';
import { MAX_WHERE, MAX_WHERE_VALUE } from '../src/app/selection.js';
import { HttpError, cancelRequest, editRequest, resetRequest } from '../src/serve/input.js';
import { createApp } from '../src/serve/app.js';
import { UsageError } from '../src/errors.js';
import yargs, { type Argv } from 'yargs';

const k = useDb();
const open = kitchens();
const dump = async () => BSON.EJSON.stringify(await orders(k.db).find({}).sort({ _id: 1 }).toArray());

describe('reset plans with a selection', () => {
  const now = new Date(1000);
  test('resetFilter: {$and: [the selection, its $or]}; without one as before', () => {
    const within = { _id: { $in: [] } };
    expect(resetFilter({ statuses: ['ERROR'], force: false, within }, now)).toStrictEqual({
      $and: [within, { $or: [{ status: 'ERROR' }, { status: 'READY', due: { $exists: false } }] }],
    });
    expect(resetFilter({ statuses: ['ERROR'], force: false }, now)).toStrictEqual({ $or: [{ status: 'ERROR' }, { status: 'READY', due: { $exists: false } }] });
  });

  test('uncancel: the selection joins every step', () => {
    const within = { error: { $regex: 'x' } };
    const id = new ObjectId();
    expect(barrierBack(cancelledOrders(within), id).filter).toStrictEqual({ error: { $regex: 'x' }, status: 'CANCELLED', barrier: id });
    expect(uncancelSteps(now, within).map((s) => s.filter)).toStrictEqual([
      { error: { $regex: 'x' }, status: 'CANCELLED', after: { $exists: true } },
      { error: { $regex: 'x' }, status: 'CANCELLED', hold: { $exists: true } },
      { error: { $regex: 'x' }, status: 'CANCELLED' },
    ]);
  });
});

describe('reset <ids…> | --where | --failed-with', () => {
  async function list() {
    await k.db.collection('orders.columns').insertOne({ _id: 'c1', names: ['city'] } as never);
    const mk = (status: string, city: string, extra: object = {}) => ({ status, arguments: [city], attempts: 1, prio: 0, columns: 'c1', ...extra });
    const { insertedIds } = await orders(k.db).insertMany([
      mk('ERROR', 'paris', { error: 'exit 1: disk full' }),
      mk('ERROR', 'paris', { error: 'exit 1: timeout' }),
      mk('ERROR', 'rome', { error: 'exit 1: disk full' }),
      mk('RUNNING', 'paris', { prio: PRIO_RUNNING, claim: 't', expires: new Date(Date.now() - 1000), due: new Date(Date.now() - 1000) }),
      mk('RUNNING', 'paris', { prio: PRIO_RUNNING, claim: 'u', expires: new Date(Date.now() + 60_000), due: new Date(Date.now() + 60_000) }),
      mk('CANCELLED', 'paris', { cancelled: { by: 'x', at: new Date() } }),
      mk('CANCELLED', 'rome', { cancelled: { by: 'x', at: new Date() } }),
      mk('DONE', 'paris'),
      mk('READY', 'paris', { due: new Date() }),
    ] as never[]);
    return Object.values(insertedIds);
  }
  const statuses = async () => (await orders(k.db).find({}).sort({ _id: 1 }).toArray()).map((o) => o.status);

  test("by ids, by --where, by --failed-with: only those; the statuses still reset's own (alive RUNNING left alone, CANCELLED only when named)", async () => {
    const kitchen = await open(k);
    const ids = await list();
    expect(await resetOrders(kitchen, options({ ids: [ids[1]!.toHexString()] }))).toEqual({ reset: 1, leftAlone: 0, dryRun: false });
    expect(await statuses()).toEqual(['ERROR', 'READY', 'ERROR', 'RUNNING', 'RUNNING', 'CANCELLED', 'CANCELLED', 'DONE', 'READY']);
    expect(await resetOrders(kitchen, options({ 'failed-with': 'disk full', where: ['city=rome'] }))).toEqual({ reset: 1, leftAlone: 0, dryRun: false });
    expect((await byId(k.db, ids[2]!)).status).toBe('READY');
    // paris: the ERROR one and the stale RUNNING one; the live one counted, left alone.
    expect(await resetOrders(kitchen, options({ where: ['city=paris'] }))).toEqual({ reset: 2, leftAlone: 1, dryRun: false });
    expect(await statuses()).toEqual(['READY', 'READY', 'READY', 'READY', 'RUNNING', 'CANCELLED', 'CANCELLED', 'DONE', 'READY']);
    expect(await resetOrders(kitchen, options({ where: ['city=rome'], status: 'CANCELLED' }))).toEqual({ reset: 1, leftAlone: 0, dryRun: false });
    expect(await statuses()).toEqual(['READY', 'READY', 'READY', 'READY', 'RUNNING', 'CANCELLED', 'READY', 'DONE', 'READY']);
    expect((await byId(k.db, ids[6]!)).cancelled).toBeUndefined();
  });

  test('refusals: an id in another state, unknown, malformed; a column no header names: exit 2, the list unchanged', async () => {
    const kitchen = await open(k);
    const ids = await list();
    const before = await dump();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ids: [ids[7]!.toHexString()] }, /reset: order \w+ is DONE \(finished\), not ERROR or RUNNING: nothing changed/],
      [{ ids: [ids[8]!.toHexString()] }, /is READY, not ERROR or RUNNING/],
      [{ ids: [ids[5]!.toHexString()] }, /is CANCELLED \(finished\), not ERROR or RUNNING/],
      [{ ids: [ids[0]!.toHexString()], status: 'CANCELLED' }, /is ERROR \(finished\), not CANCELLED/],
      [{ ids: ['ffffffffffffffffffffffff'] }, /no order ffffffffffffffffffffffff in the list/],
      [{ ids: ['nothex'] }, /reset: .*not an order id/],
      [{ where: ['town=paris'] }, /--where town: no column of this list is named so/],
      [{ 'failed-with': '' }, /--failed-with is empty/],
    ];
    for (const [argv, message] of cases) {
      await expect((async () => resetOrders(kitchen, options(argv)))(), JSON.stringify(argv)).rejects.toThrow(UsageError);
      await expect((async () => resetOrders(kitchen, options(argv)))(), JSON.stringify(argv)).rejects.toThrow(message);
      expect(await dump(), JSON.stringify(argv)).toBe(before);
    }
  });

  test('HELD orders are left alone: never a state of reset, untouched by a --where or --failed-with reaching them; an id of one refused, saying to release it', async () => {
    const kitchen = await open(k);
    const ids = await list();
    // The live RUNNING paris order and the READY one, held (a hold, not a failure: reset is not how they come back).
    expect(await holdOrders(kitchen, { ids: [ids[4]!, ids[8]!], by: 't@test' })).toMatchObject({ held: 2, running: 1 });
    const held = async () => BSON.EJSON.stringify([await byId(k.db, ids[4]!), await byId(k.db, ids[8]!)]);
    const before = await held();
    expect(await resetOrders(kitchen, options({ where: ['city=paris'], force: true }))).toEqual({ reset: 3, leftAlone: 0, dryRun: false });
    // Nothing to reset in it (the paris CANCELLED order has no error): refused, as cancel's empty selections (test/reset-dry-run.test.ts).
    await expect(resetOrders(kitchen, options({ 'failed-with': 'exit 1', where: ['city=paris'], status: 'CANCELLED' }))).rejects.toThrow(UsageError);
    expect(await resetOrders(kitchen, options({ where: ['city=paris'], status: 'CANCELLED' }))).toEqual({ reset: 1, leftAlone: 0, dryRun: false });
    expect(await resetOrders(kitchen, options({ force: true }))).toEqual({ reset: 1, leftAlone: 0, dryRun: false });
    expect(await held()).toBe(before);
    expect(await statuses()).toEqual(['READY', 'READY', 'READY', 'READY', 'HELD', 'READY', 'CANCELLED', 'DONE', 'HELD']);

    const all = await dump();
    const hex = ids[4]!.toHexString();
    await expect(resetOrders(kitchen, options({ ids: [hex] }))).rejects.toThrow(UsageError);
    await expect(resetOrders(kitchen, options({ ids: [hex], status: 'RUNNING', force: true }))).rejects.toThrow(
      `reset: order ${hex} is HELD, not RUNNING: release it first (waiter release): nothing changed`,
    );
    expect(() => options({ status: 'HELD' })).toThrow(UsageError);
    expect(() => resetRequest({ status: ['HELD'] })).toThrow(HttpError);
    expect(await dump()).toBe(all);
  });

  test('POST /api/reset takes "ids", "where", "failedWith" (the same checks); the rest as before', async () => {
    const id = new ObjectId().toHexString();
    expect(resetRequest({ ids: [id], where: { city: 'paris' }, failedWith: 'disk', status: ['ERROR'], dryRun: true })).toEqual({
      ids: [new ObjectId(id)],
      where: [{ column: 'city', value: 'paris' }],
      failedWith: 'disk',
      statuses: ['ERROR'],
      force: false,
      dryRun: true,
    });
    // No status: the default (RESET_BY_DEFAULT), a plain reset.
    expect(resetRequest({})).toEqual({ force: false });
    for (const body of [{ ids: 'x' }, { failedWith: '' }, { where: 5 }, { status: ['DONE'] }, { dryRun: 1 }]) expect(() => resetRequest(body)).toThrow(HttpError);
  });
});

describe('an empty selection is never every order (a destructive command never falls back to its default because a value was empty)', () => {
  const token = 'correct-horse-battery';
  async function setup() {
    const kitchen = await open(k);
    const { insertedIds } = await orders(k.db).insertMany([
      { status: 'ERROR', arguments: ['paris'], attempts: 1, prio: 0, error: 'exit 1' },
      { status: 'READY', arguments: ['rome'], attempts: 0, prio: 0, due: new Date() },
    ] as never[]);
    const app = createApp({ kitchen, list: 'orders', db: k.name, token, publicRead: false, log: () => {} });
    const post = (route: string, json: unknown) =>
      app.request(route, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(json) });
    return { kitchen, ids: Object.values(insertedIds), post };
  }

  test('POST /api/reset, /api/cancel, /api/hold, /api/release, /api/edit: "ids": [], "where": [] or {}, "failedWith": "" are a 400, the list byte-for-byte unchanged', async () => {
    const { post } = await setup();
    const before = await dump();
    const empties = [{ ids: [] }, { where: [] }, { where: {} }, { failedWith: '' }];
    for (const empty of empties) {
      for (const [route, body] of [
        ['/api/reset', empty],
        ['/api/reset', { ...empty, status: ['ERROR'] }],
        ['/api/cancel', { ...empty, status: 'READY' }],
        ['/api/hold', { ...empty, status: 'READY' }],
        ['/api/release', { ...empty, status: 'HELD' }],
        ['/api/edit', { ...empty, status: 'READY', priority: 1 }],
      ] as const) {
        const r = await post(route, body);
        const what = `${route} ${JSON.stringify(body)}`;
        expect(r.status, what).toBe(400);
        expect(((await r.json()) as { error: string }).error, what).toMatch(/is empty/);
        expect(await dump(), what).toBe(before);
      }
    }
    // An absent key is a plain reset, as before.
    expect(await (await post('/api/reset', {})).json()).toEqual({ reset: 1, leftAlone: 0, dryRun: false });
  });

  test('the use cases refuse an empty part too (a caller past the parsers), nothing changed', async () => {
    const { kitchen } = await setup();
    const before = await dump();
    const by = 't@test';
    for (const part of [{ ids: [] }, { where: [] }, { failedWith: '' }]) {
      const what = JSON.stringify(part);
      await expect(resetOrders(kitchen, { ...part, statuses: ['ERROR', 'RUNNING'], force: false }), what).rejects.toThrow(UsageError);
      await expect(cancelOrders(kitchen, { ...part, status: 'READY', by }), what).rejects.toThrow(UsageError);
      await expect(holdOrders(kitchen, { ...part, status: 'READY', by }), what).rejects.toThrow(UsageError);
      await expect(releaseOrders(kitchen, { ...part, status: 'HELD', by }), what).rejects.toThrow(UsageError);
      await expect(editOrders(kitchen, { ...part, status: 'READY', priority: 1, by }), what).rejects.toThrow(UsageError);
      expect(await dump(), what).toBe(before);
    }
  });

  test('the CLI: a bare --where, --where =x, --failed-with "" are a usage error (exit 2), parsed as yargs gives them; nothing changed', async () => {
    const { kitchen } = await setup();
    const before = await dump();
    const parse = async (verb: string, builder: (y: Argv) => Argv, args: string[]) =>
      (await yargs([verb, ...args])
        .command(`${verb} [ids..]`, '', builder)
        .parse()) as Record<string, unknown>;
    const cases: [string[], RegExp][] = [
      [['--where'], /--where is empty/],
      [['--where', '--status', 'ERROR'], /--where is empty/],
      [['--where', '=x'], /--where "=x": expected name=value/],
      [['--failed-with'], /--failed-with is empty/],
      [['--failed-with', ''], /--failed-with is empty/],
    ];
    for (const [args, message] of cases) {
      const what = args.join(' ');
      await expect((async () => resetOrders(kitchen, reset.options(await parse('reset', reset.builder, args))))(), what).rejects.toThrow(message);
      // cancel --status READY --where: every READY order, were the bare --where dropped.
      const ready = args.includes('--status') ? args.map((a) => (a === 'ERROR' ? 'READY' : a)) : [...args, '--status', 'READY'];
      await expect((async () => cancelOrders(kitchen, cancel.options(await parse('cancel', cancel.builder, ready))))(), what).rejects.toThrow(message);
      await expect((async () => editOrders(kitchen, edit.options(await parse('edit', edit.builder, [...ready, '--priority', '1']))))(), what).rejects.toThrow(message);
      await expect((async () => holdOrders(kitchen, hold.options(await parse('hold', hold.builder, ready))))(), what).rejects.toThrow(message);
      const held = ready.map((a) => (a === 'READY' ? 'HELD' : a));
      await expect((async () => releaseOrders(kitchen, release.options(await parse('release', release.builder, held))))(), what).rejects.toThrow(message);
      expect(await dump(), what).toBe(before);
    }
    // Without them: a plain reset, as before.
    expect(await resetOrders(kitchen, reset.options(await parse('reset', reset.builder, [])))).toEqual({ reset: 1, leftAlone: 0, dryRun: false });
  });

  test('the API caps "where": at most MAX_WHERE entries, each name and value at most MAX_WHERE_VALUE characters, no NUL: a 400', async () => {
    const many = Array.from({ length: MAX_WHERE + 1 }, (_, i) => `1=v${i}`);
    const long = `1=${'x'.repeat(MAX_WHERE_VALUE + 1)}`;
    for (const parse of [
      (b: Record<string, unknown>) => resetRequest(b),
      (b: Record<string, unknown>) => cancelRequest(b, 'api x'),
      (b: Record<string, unknown>) => editRequest({ ...b, priority: 1 }, 'api x'),
    ]) {
      expect(() => parse({ where: many })).toThrow(`where: ${MAX_WHERE + 1} entries: at most ${MAX_WHERE}`);
      expect(() => parse({ where: Object.fromEntries(many.map((_, i) => [`c${i}`, 'v'])) })).toThrow(`where: ${MAX_WHERE + 1} entries`);
      expect(() => parse({ where: [long] })).toThrow(/where\[0\]: its value is 4,097 characters long: at most 4,096/);
      expect(() => parse({ where: ['1=a\0b'] })).toThrow(/where\[0\]: contains a NUL byte/);
      expect(parse({ where: many.slice(0, MAX_WHERE) }).where).toHaveLength(MAX_WHERE);
      expect(parse({ where: [long.slice(0, -1)] }).where).toHaveLength(1);
    }
    // The use case too (the CLI's --where, a caller past the parser): exit 2, nothing read.
    const where = Array.from({ length: MAX_WHERE + 1 }, () => ({ column: 1, value: 'x' }));
    await expect(resetOrders(await open(k), { where, statuses: ['ERROR'], force: false })).rejects.toThrow(
      `reset: ${MAX_WHERE + 1} --where: at most ${MAX_WHERE}: nothing changed`,
    );
  });
});
