// --at, "at" and durations beyond what a date holds (issue 31): refused at the door
// (exit 2 / HTTP 400), never stored as 1970 and claimed at once.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';

const k = useDb();
const orders = () => k.db.collection('orders');
const FAR = '+1000000000d';

/** The list, as it is: compared before and after a refused command. */
const list = () => orders().find({}).sort({ _id: 1 }).toArray();

async function refusedOnly(args: string[], message: RegExp) {
  const before = await list();
  const r = await waiter(k, args);
  expect([r.exitCode, r.stdout]).toEqual([2, '']);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(await list()).toEqual(before);
}

describe('--at beyond 10 years ahead is a usage error, nothing written', () => {
  test('add and load', async () => {
    await orders().insertOne({ status: 'DONE', arguments: ['keep'], attempts: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'waiter-at-'));
    await writeFile(join(dir, 'rows.csv'), 'a\nb\n');
    for (const at of [FAR, '+11y', '9999-01-01T00:00:00Z']) {
      await refusedOnly(['add', '--at', at, 'x'], new RegExp(`^waiter: --at: '${at.replace(/[+.]/g, '\\$&')}' is more than 10 years ahead \\(the furthest --at can be\\)$`));
      await refusedOnly(['load', '--at', at, join(dir, 'rows.csv')], /is more than 10 years ahead/);
    }
    // Within the horizon still works.
    const ok = await waiter(k, ['add', '--at', '+9y', 'y']);
    expect(ok.exitCode).toBe(0);
    expect(+(await orders().findOne({ arguments: ['y'] }))!.due).toBeGreaterThan(Date.now() + 8 * 365 * 86_400_000);
  });

  test('durations that would overflow a date: --retry-delay, reset/clean --older-than', async () => {
    await orders().insertOne({ status: 'ERROR', arguments: ['keep'], attempts: 1 });
    await refusedOnly(['deliver', '--retry-delay', '1000000000d', '--max-attempts', '3', 'true'], /^waiter: --retry-delay: '1000000000d' is longer than 10 years/);
    await refusedOnly(['reset', '--older-than', '1000000000d'], /^waiter: --older-than: '1000000000d' is longer than 10 years/);
    await refusedOnly(['clean', '--outputs', '--older-than', '1000000000d'], /^waiter: --older-than: '1000000000d' is longer than 10 years/);
  });
});

test('a timer longer than Node can wait (it would fire after 1 ms): --timeout 30d killed every order at once', async () => {
  await orders().insertOne({ status: 'READY', arguments: ['1'], attempts: 0, due: new Date(0) });
  await refusedOnly(['deliver', '--timeout', '30d', 'sleep'], /^waiter: --timeout: at most 24 days$/);
  await refusedOnly(['deliver', '--kill-after', '25d', 'sleep'], /^waiter: --kill-after: at most 24 days$/);
});

describe('the API: 400, nothing written', () => {
  test('POST /api/orders "at" and POST /api/reset "olderThan"', async () => {
    await orders().insertOne({ status: 'ERROR', arguments: ['keep'], attempts: 1 });
    const before = await list();
    const s = await serve(k);
    const post = await s.call('/api/orders', { method: 'POST', json: [{ arguments: ['ok'] }, { arguments: ['far'], at: FAR }] });
    expect(post.status).toBe(400);
    expect(post.body).toEqual({ error: `[1].at: "${FAR}" is more than 10 years ahead (the furthest "at" can be)` });
    const reset = await s.call('/api/reset', { method: 'POST', json: { olderThan: '1000000000d' } });
    expect(reset.status).toBe(400);
    expect(reset.body.error).toMatch(/olderThan: '1000000000d' is longer than 10 years/);
    expect(await list()).toEqual(before);
  });
});
