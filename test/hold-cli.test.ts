// waiter hold / release through the real process (issue 26): the selections (--status with
// --where, --failed-with, --dry-run) and every refusal: exit 2, one line on stderr, nothing on
// stdout, the list byte-for-byte unchanged. One list for the file's refusals and selections.
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { byId, dumpOrders, orders, selectionOrders } from './support/recovery.js';

const k = useDb();
const dump = () => dumpOrders(k.db);

describe('hold and release, the process', () => {
  test('refusals, then selections: --status with --where, --failed-with literally, --dry-run changes nothing', async () => {
    const ids = await selectionOrders(k.db);
    const id = (i: number) => ids[i]!.toHexString();
    // One order HELD already, so that release has something it could wrongly change.
    expect((await waiter(k, ['hold', id(4), '--reason', 'look first'])).stdout).toBe('Held 1 order');

    const before = await dump();
    const unknown = 'ffffffffffffffffffffffff';
    const long = 'x'.repeat(501);
    const cases: [string[], RegExp][] = [
      [['hold', unknown], /^waiter: hold: no order ffffffffffffffffffffffff in the list: nothing changed$/],
      [['hold', id(0), id(6)], new RegExp(`^waiter: hold: order ${id(6)} is DONE \\(finished\\): nothing changed$`)],
      [['hold', '--where', 'city=nowhere'], /^waiter: hold: no order to hold in that selection: nothing changed$/],
      [['hold', '--where'], /^waiter: hold: --where is empty: give name=value/],
      [['hold', '--failed-with', ''], /^waiter: hold: --failed-with is empty: give some text of the error: nothing changed$/],
      [['hold', id(0), '--reason', long], /^waiter: hold: --reason 501 characters long: at most 500: nothing changed$/],
      [['hold', '--status', 'READY', '--bogus'], /^waiter: Unknown argument: bogus$/],
      [['release', unknown], /^waiter: release: no order ffffffffffffffffffffffff in the list: nothing changed$/],
      [['release', id(4), id(6)], new RegExp(`^waiter: release: order ${id(6)} is DONE \\(finished\\), not held: nothing changed$`)],
      [['release', id(0)], new RegExp(`^waiter: release: order ${id(0)} is READY, not held: nothing changed$`)],
      [['release', '--where', 'city=nowhere'], /^waiter: release: no held order in that selection: nothing changed$/],
      [['release', '--where'], /^waiter: release: --where is empty: give name=value/],
      [['release', '--failed-with', ''], /^waiter: release: --failed-with is empty: give some text of the error: nothing changed$/],
      [['release', id(4), '--reason', long], /^waiter: release: --reason 501 characters long: at most 500: nothing changed$/],
    ];
    for (const [args, message] of cases) {
      const what = args.join(' ').slice(0, 80);
      const r = await waiter(k, args);
      expect(r.exitCode, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split('\n'), what).toHaveLength(1);
      expect(r.stderr, what).toMatch(message);
      expect(r.stdout, what).toBe('');
      expect(await dump(), what).toBe(before);
    }

    // Dry runs: what would change, nothing changed.
    const dryHold = await waiter(k, ['hold', '--status', 'READY', '--where', 'city=paris', '--dry-run']);
    expect([dryHold.exitCode, dryHold.stdout, dryHold.stderr]).toEqual([0, `Would hold 2 orders: ${id(0)}, ${id(1)}; nothing changed`, '']);
    const dryRelease = await waiter(k, ['release', '--status', 'HELD', '--dry-run']);
    expect([dryRelease.exitCode, dryRelease.stdout, dryRelease.stderr]).toEqual([0, `Would release 1 order: ${id(4)}; nothing changed`, '']);
    expect(await dump()).toBe(before);

    // --status with --where: both must hold (the DONE paris order is not READY, the READY rome ones not in paris).
    const paris = await waiter(k, ['hold', '--status', 'READY', '--where', 'city=paris', '--reason', 'wrong city']);
    expect([paris.exitCode, paris.stdout, paris.stderr]).toEqual([0, 'Held 2 orders', '']);
    for (const i of [0, 1]) expect(await byId(k.db, ids[i]!)).toMatchObject({ status: 'HELD', held: { reason: 'wrong city', from: 'READY' } });
    expect((await byId(k.db, ids[2]!)).status).toBe('READY');
    expect((await byId(k.db, ids[6]!)).status).toBe('DONE');

    // --failed-with is literal text: "(a.b)" is not a pattern matching "(aXb)"; the ERROR order is finished, left alone.
    const failed = await waiter(k, ['hold', '--failed-with', 'boom (a.b)']);
    expect([failed.exitCode, failed.stdout]).toEqual([0, 'Held 1 order (1 already finished, left alone)']);
    expect((await byId(k.db, ids[3]!)).status).toBe('HELD');
    expect((await byId(k.db, ids[5]!)).status).toBe('ERROR');

    // release takes the same selections: --where by name, then --failed-with.
    const dry = await waiter(k, ['release', '--where', 'city=paris', '--dry-run']);
    expect(dry.stdout).toBe(`Would release 2 orders (1 not held, left alone): ${id(0)}, ${id(1)}; nothing changed`);
    const back = await waiter(k, ['release', '--where', 'city=paris']);
    expect([back.exitCode, back.stdout]).toEqual([0, 'Released 2 orders (1 not held, left alone)']);
    expect((await waiter(k, ['release', '--failed-with', 'boom (a.b)'])).stdout).toBe('Released 1 order (1 not held, left alone)');
    const counts = await orders(k.db)
      .aggregate<{ _id: string; n: number }>([{ $group: { _id: '$status', n: { $sum: 1 } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(counts).toEqual([
      { _id: 'DONE', n: 1 },
      { _id: 'ERROR', n: 1 },
      { _id: 'HELD', n: 1 },
      { _id: 'READY', n: 4 },
    ]);
  }, 60_000);
});
