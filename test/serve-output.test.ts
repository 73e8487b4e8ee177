// GET /api/orders/:id/output: an order's live output over the API, with a cursor, the
// token rules of every read, and one-line 4xx errors for bad input.
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';
import { addOrders } from './support/recovery.js';

const k = useDb();

describe('GET /api/orders/:id/output', () => {
  test('the pieces as printed, how the attempt ended, and a cursor that gives only what came after', async () => {
    const [id] = await addOrders(k.db, [['x']]);
    const hex = id!.toHexString();
    expect((await waiter(k, ['deliver', '--shell', 'echo "one $1"; sleep 0.3; echo two >&2; sleep 0.3; echo three; exit 2'])).exitCode).toBe(1);
    const s = await serve(k, ['--token', 'correct-horse-battery']);
    expect((await s.call(`/api/orders/${hex}/output`)).status).toBe(401); // a read needs the token without --public-read
    const r = await s.call(`/api/orders/${hex}/output`, { token: 'correct-horse-battery' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ order: hex, attempt: 1, status: 'ERROR', ended: { result: 'ERROR', exitCode: 2 }, next: 16 });
    expect(r.body.pieces.map((p: { stream: string; text: string }) => [p.stream, p.text])).toEqual([
      ['stdout', 'one x\n'],
      ['stderr', 'two\n'],
      ['stdout', 'three\n'],
    ]);
    const later = await s.call(`/api/orders/${hex}/output?after=8`, { token: 'correct-horse-battery' });
    expect(later.body.pieces.map((p: { text: string; from: number }) => [p.text, p.from])).toEqual([
      ['o\n', 8],
      ['three\n', 10],
    ]);
    const none = await s.call(`/api/orders/${hex}/output?after=16&attempt=1`, { token: 'correct-horse-battery' });
    expect([none.body.pieces, none.body.next]).toEqual([[], 16]);
  });

  test('bad input: a 4xx with one line', async () => {
    const [id] = await addOrders(k.db, [['x']]);
    const s = await serve(k);
    const bad = async (path: string, status: number, error: RegExp) => {
      const r = await s.call(path);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.error).toMatch(error);
    };
    await bad(`/api/orders/${id!.toHexString()}/output?after=-1`, 400, /^after: '-1' is not a whole number ≥ 0$/);
    await bad(`/api/orders/${id!.toHexString()}/output?attempt=0`, 400, /^attempt: '0' is not a whole number ≥ 1$/);
    await bad(`/api/orders/${id!.toHexString()}/output?since=3`, 400, /^unknown query parameter 'since'/);
    await bad('/api/orders/nope/output', 400, /is not an order id/);
    await bad(`/api/orders/${new ObjectId().toHexString()}/output`, 404, /^no order [0-9a-f]{24} in list 'orders'$/);
    // Not run yet: no pieces, nothing ended, the cursor stays.
    const r = await s.call(`/api/orders/${id!.toHexString()}/output`);
    expect(r.body).toMatchObject({ attempt: 0, status: 'READY', ended: null, pieces: [], next: 0 });
  });
});
