// What `waiter add --after…` and POST /api/orders say of the order they wrote: the state
// it has after the add. What it waits for may be done already: it is then released at
// once (READY), and saying WAITING would be silently wrong.
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';

const k = useDb();
const orders = () => k.db.collection('orders');

async function add(...args: string[]): Promise<string> {
  const r = await waiter(k, ['add', ...args]);
  expect([r.exitCode, r.stderr]).toEqual([0, '']);
  return r.stdout;
}
const idOf = (line: string) => /^Added order ([0-9a-f]{24})/.exec(line)![1]!;
const statusOf = async (arg: string) => (await orders().findOne({ arguments: [arg] }))?.status;

describe('add --after, --after-any, --after-all: the line says the state the order has', () => {
  test('what it waits for READY: (WAITING); DONE (or finished, for --after-any; every order DONE, for --after-all): (READY)', async () => {
    const ready = idOf(await add('r'));
    const done = idOf(await add('d'));
    const failed = idOf(await add('f'));
    await orders().updateOne({ arguments: ['d'] }, { $set: { status: 'DONE' }, $unset: { due: '' } });
    await orders().updateOne({ arguments: ['f'] }, { $set: { status: 'ERROR' }, $unset: { due: '' } });

    expect(await add('--after', ready, 'w1')).toMatch(/^Added order [0-9a-f]{24} \(WAITING\)$/);
    expect(await add('--after', done, 'w2')).toMatch(/^Added order [0-9a-f]{24} \(READY\)$/);
    expect(await add('--after', `${done},${ready}`, 'w3')).toMatch(/ \(WAITING\)$/);
    expect(await add('--after-any', failed, 'w4')).toMatch(/ \(READY\)$/);
    expect(await add('--after', failed, 'w5')).toMatch(/ \(WAITING\)$/);
    expect(await add('--after-all', 'w6')).toMatch(/ \(WAITING\)$/);
    const states = await orders()
      .find({}, { projection: { _id: 0, arguments: 1, status: 1 } })
      .toArray();
    expect(Object.fromEntries(states.map((o) => [o.arguments[0], o.status]))).toMatchObject({
      w1: 'WAITING',
      w2: 'READY',
      w3: 'WAITING',
      w4: 'READY',
      w5: 'WAITING',
      w6: 'WAITING',
    });

    // Every order finished as --after-all needs it: the barrier is clear, READY at once.
    await orders().deleteMany({ status: { $ne: 'DONE' } });
    expect(await add('--after-all', '--at', '+1h', 'w7')).toMatch(/^Added order [0-9a-f]{24} \(READY\)$/);
    expect(await statusOf('w7')).toBe('READY');
  });
});

describe('POST /api/orders: the answer says each order’s state, in the order of its ids', () => {
  test('READY for one without after or with its after done, WAITING for one whose after is not', async () => {
    const s = await serve(k);
    const post = (json: unknown) => s.call('/api/orders', { method: 'POST', json });
    const a = await post({ arguments: ['A'] });
    expect([a.status, a.body.status]).toEqual([201, ['READY']]);
    const idA = a.body.ids[0] as string;
    const waits = await post([{ arguments: ['B'], after: [idA] }, { arguments: ['C'] }]);
    expect([waits.status, waits.body.status]).toEqual([201, ['WAITING', 'READY']]);
    await orders().updateOne({ arguments: ['A'] }, { $set: { status: 'DONE' }, $unset: { due: '' } });
    const released = await post([
      { arguments: ['D'], after: [idA] },
      { arguments: ['E'], afterAny: [idA, waits.body.ids[0]] },
    ]);
    expect([released.status, released.body.status]).toEqual([201, ['READY', 'WAITING']]);
    expect(released.body.ids).toHaveLength(2);
    expect([await statusOf('D'), await statusOf('E')]).toEqual(['READY', 'WAITING']);
  });
});
