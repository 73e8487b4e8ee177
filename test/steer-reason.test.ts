// A --reason (the API's "reason") given but empty or only spaces is refused by every command
// that takes one, as pause and stop always did: one line, exit 2 (the API: 400), nothing
// changed. A part given but empty is never read as not given.
import { BSON } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders } from './support/recovery.js';
import { serve } from './support/serve.js';

const k = useDb();
/** The orders, the pause and the waiters' registry: what any of these commands could change. */
const everything = async () =>
  BSON.EJSON.stringify(await Promise.all(['orders', 'orders.control', 'orders.waiters'].map((c) => k.db.collection(c).find({}).sort({ _id: 1 }).toArray())));

async function list(): Promise<{ ready: string; held: string }> {
  const [ready, held] = (await addOrders(k.db, [['a'], ['b']])).map((id) => id.toHexString());
  expect((await waiter(k, ['hold', held!])).stdout).toBe('Held 1 order');
  return { ready: ready!, held: held! };
}

const BLANK = ['', ' ', '   '];

describe('a blank --reason: refused by every command that takes one', () => {
  test('the process: cancel, hold, release, edit as pause and stop: exit 2, one line, nothing changed', async () => {
    const { ready, held } = await list();
    const before = await everything();
    const commands: [string[], RegExp][] = [
      [['cancel', ready], /^waiter: cancel: --reason is empty: say why, or leave the option out: nothing changed$/],
      [['hold', ready], /^waiter: hold: --reason is empty: say why, or leave the option out: nothing changed$/],
      [['release', held], /^waiter: release: --reason is empty: say why, or leave the option out: nothing changed$/],
      [['edit', ready, '--priority', '1'], /^waiter: edit: --reason is empty: say why, or leave the option out: nothing changed$/],
      [['pause'], /^waiter: --reason is empty: say why, or leave the option out$/],
      [['stop', '--all'], /^waiter: --reason is empty: say why, or leave the option out$/],
    ];
    for (const [args, message] of commands) {
      for (const reason of BLANK) {
        const what = `${args[0]} --reason ${JSON.stringify(reason)}`;
        const r = await waiter(k, [...args, '--reason', reason]);
        expect([r.exitCode, r.stdout], what).toEqual([2, '']);
        expect(r.stderr.split('\n'), what).toHaveLength(1);
        expect(r.stderr, what).toMatch(message);
        expect(await everything(), what).toBe(before);
      }
    }
    // A reason with words around spaces is one, kept trimmed.
    expect((await waiter(k, ['hold', ready, '--reason', '  look first  '])).stdout).toBe('Held 1 order');
    expect((await k.db.collection('orders').findOne({ arguments: ['a'] }))?.held).toMatchObject({ reason: 'look first' });
  }, 60_000);

  test('the API: POST /api/cancel, hold, release, edit as pause and waiters/stop: 400, one line, nothing changed', async () => {
    const { ready, held } = await list();
    const s = await serve(k);
    const before = await everything();
    const routes: [string, Record<string, unknown>][] = [
      ['cancel', { ids: [ready] }],
      ['hold', { ids: [ready] }],
      ['release', { ids: [held] }],
      ['edit', { ids: [ready], priority: 1 }],
      ['pause', {}],
      ['waiters/stop', { all: true }],
    ];
    for (const [route, body] of routes) {
      for (const reason of BLANK) {
        const what = `${route} "reason": ${JSON.stringify(reason)}`;
        const r = await s.call(`/api/${route}`, { method: 'POST', json: { ...body, reason } });
        expect([r.status, r.body], what).toEqual([400, { error: 'reason is empty: say why, or leave "reason" out' }]);
        expect(await everything(), what).toBe(before);
      }
    }
  }, 60_000);
});
