// GET /api/cost (issue 28): the list's cost as `status --json` gives it, through the real
// server with a token. Orders with known usage and `spent` written into the kitchen
// directly (no job runs), as test/status-usage.test.ts does.
import { ObjectId } from 'mongodb';
import { expect, test } from 'vitest';
import type { Usage } from '../src/order.js';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';

const k = useDb();
const TOKEN = 'cost-token-2468';
const MiB = 1024 * 1024;
const now = Date.now();
const at = (ms: number) => new Date(now + ms);
const u = (wallMs: number, cpuMs: number, peak?: number): Usage => ({ wallMs, cpuMs, ...(peak ? { peakRssBytes: peak } : {}), measured: 'proc-sample+wait' });

test('GET /api/cost answers what status --json says in cost, with its age; ?top=N as --top N; a bad top 400; no token 401', async () => {
  const big = new ObjectId();
  await k.db.collection('orders').insertMany([
    {
      _id: big,
      status: 'DONE',
      arguments: ['big'],
      attempts: 2,
      start: at(-50_000),
      stop: at(-5_000),
      usage: u(40_000, 30_000, 300 * MiB),
      history: [
        { attempt: 1, waiter: 'w', start: at(-100_000), stop: at(-60_000), result: 'ERROR', usage: u(70_000, 60_000, 900 * MiB) },
        { attempt: 2, waiter: 'w', start: at(-50_000), stop: at(-5_000), result: 'DONE', usage: u(40_000, 30_000, 300 * MiB) },
      ],
      spent: { cpuMs: 90_000, wallMs: 110_000, attempts: 2 },
    },
    { status: 'ERROR', arguments: ['small'], attempts: 1, start: at(-5_000), stop: at(-2_000), usage: u(3_000, 2_000), spent: { cpuMs: 2_000, wallMs: 3_000, attempts: 1 } },
    { status: 'READY', arguments: ['again'], attempts: 1, due: at(0), usage: u(12_000, 10_000, 70 * MiB), spent: { cpuMs: 10_000, wallMs: 12_000, attempts: 1 } },
  ]);
  const s = await serve(k, [], { WAITER_TOKEN: TOKEN });

  const r = await s.call('/api/cost', { token: TOKEN });
  expect(r.status, r.text).toBe(200);
  expect(r.headers.get('age')).toBe('0'); // the first answer: computed for this request
  const { asOf, ageSeconds, ...api } = r.body;
  expect(Date.parse(asOf)).toBeGreaterThan(now - 60_000);
  expect(ageSeconds).toBe(0);
  expect(r.headers.get('x-as-of')).toBe(asOf);
  const cli = JSON.parse((await waiter(k, ['status', '--json'])).stdout);
  expect(api).toEqual(cli.cost);
  expect(api).toMatchObject({ cpuSeconds: 102, cpuOrders: 3, cpuAttempts: 4, recent: { finished: 2, withCpu: 2, peakMaxBytes: 300 * MiB } });
  expect(api).not.toHaveProperty('top');
  // One answer for every client for 30 s: the same figures, the same asOf.
  expect((await s.call('/api/cost', { token: TOKEN })).body.asOf).toBe(asOf);

  const top = await s.call('/api/cost?top=2', { token: TOKEN });
  expect(top.status, top.text).toBe(200);
  const { asOf: _a, ageSeconds: _g, ...topApi } = top.body;
  expect(topApi).toEqual(JSON.parse((await waiter(k, ['status', '--json', '--top', '2'])).stdout).cost);
  expect(topApi.top.map((t: { id: string }) => t.id)).toEqual([big.toHexString(), expect.any(String)]);

  for (const q of ['top=0', 'top=1001', 'top=x', 'top=1.5', 'top=', 'limit=3']) {
    const bad = await s.call(`/api/cost?${q}`, { token: TOKEN });
    expect(bad.status, q).toBe(400);
    expect(Object.keys(bad.body)).toEqual(['error']);
    expect(bad.body.error).toMatch(q === 'limit=3' ? /^unknown parameter 'limit'/ : /^top: .* is not a whole number from 1 to 1000$/);
  }
  const anon = await s.call('/api/cost');
  expect(anon.status).toBe(401);
  expect(anon.body.error).toMatch(/^missing or wrong token/);
  expect((await s.call('/api/cost?top=2', { token: 'wrong-token-123' })).status).toBe(401);
});
