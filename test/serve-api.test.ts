// `waiter serve`: every API route and every bad input, against the real CLI process and
// the real test server. Bad input: a 4xx with {"error": "<one line>"}, and nothing written.
import { request } from 'node:http';
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve, type Served } from './support/serve.js';
import { needsGo, takesAnyPassword } from './support/gates.js';
import { startTestServer } from './support/server.js';

const k = useDb();
const orders = () => k.db.collection('orders');
const TOKEN = 'correct-horse-battery';

/** A 4xx whose body is exactly {"error": one line}. */
function refused(r: { status: number; body: any }, status: number, message: RegExp) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(Object.keys(r.body)).toEqual(['error']);
  expect(r.body.error).toMatch(message);
  expect(r.body.error).not.toContain('\n');
}

/** Runs each bad request, then checks the kitchen is exactly as before. */
async function nothingWritten(fn: () => Promise<void>) {
  const before = await orders().find({}).sort({ _id: 1 }).toArray();
  await fn();
  expect(await orders().find({}).sort({ _id: 1 }).toArray()).toEqual(before);
}

describe('reads', () => {
  test('GET /api/status gives the figures of `status --json`', async () => {
    await orders().insertMany([
      { status: 'READY', arguments: ['a'], attempts: 0 },
      { status: 'DONE', arguments: ['b'], attempts: 1, stop: new Date() },
      { status: 'RUNNING', arguments: ['c'], attempts: 1, expires: new Date(0), claim: 'x' },
    ]);
    const s = await serve(k);
    const r = await s.call('/api/status');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    expect(r.headers.get('age')).toBe('0'); // the first answer: fetched for this request
    const cli = JSON.parse((await waiter(k, ['status', '--json'])).stdout);
    // eta is a clock time (now + etaSeconds): the one figure that moves between the two calls.
    const { eta: _a, asOf: _t, ageSeconds: _g, ...api } = r.body;
    // storage, the oldest READY order's wait and the cost: status's alone (a scan of the
    // output and file collections, a sorted read of the due range, the spent index and the
    // last 300 finished orders: not for a page's 1 s refresh).
    const { eta: _b, storage: _s, asOf: _u, oldestReadySince: _o, oldestReadySeconds: _r, cost: _c, ...fromCli } = cli;
    expect(api).toMatchObject(fromCli);
    expect(cli).toHaveProperty('cost');
    expect(api).not.toHaveProperty('cost');
    expect(cli).toHaveProperty('oldestReadySince');
    expect(api).not.toHaveProperty('oldestReadySince');
    expect(api).not.toHaveProperty('oldestReadySeconds');
    expect(r.body).toMatchObject({ READY: 1, RUNNING: 1, DONE: 1, ERROR: 0, total: 3, stale: 1 });
    for (const key of ['pace1m', 'pace10m', 'medianRunSeconds', 'waiters', 'slots', 'etaSeconds', 'eta', 'etaPace', 'asOf', 'ageSeconds']) expect(r.body).toHaveProperty(key);
  });

  test('GET /api/waiters gives the fleet as `waiters --json` does: live and lately exited; ?all=true also those exited long ago', async () => {
    const now = Date.now();
    const ago = (ms: number) => new Date(now - ms);
    const base = { host: 'box', pid: 1, command: ['./crunch.sh'], concurrency: 1, lease: 600_000, heartbeat: 200_000, delivered: 3, failed: 1 };
    await k.db.collection('orders.waiters').insertMany([
      {
        _id: 'w-old' as never,
        ...base,
        name: 'old',
        started: ago(3 * 3600_000),
        seen: ago(2 * 3600_000),
        expires: ago(2 * 3600_000 - 600_000),
        running: [],
        ended: ago(2 * 3600_000),
        reason: 'empty list',
      },
      {
        _id: 'w-recent' as never,
        ...base,
        name: 'recent',
        started: ago(3600_000),
        seen: ago(60_000),
        expires: ago(60_000 - 600_000),
        running: [],
        ended: ago(60_000),
        reason: '--max 3 reached',
      },
      {
        _id: 'w-live' as never,
        ...base,
        name: 'live',
        started: ago(600_000),
        seen: ago(1000),
        expires: new Date(now + 599_000),
        running: ['6b077a19d104b62a1a29faa4'],
        current: { order: '6b077a19d104b62a1a29faa4', arguments: ['x'] },
      },
    ]);
    const cli = async (args: string[]) =>
      (await waiter(k, ['waiters', '--json', ...args])).stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    const s = await serve(k);
    const fleet = await s.call('/api/waiters');
    expect(fleet.status).toBe(200);
    expect(fleet.body.map((w: any) => [w.name, w.state])).toEqual([
      ['recent', 'EXITED'],
      ['live', 'PROCESSING'],
    ]);
    expect(fleet.body).toEqual(await cli([]));
    const all = await s.call('/api/waiters?all=true');
    expect(all.status).toBe(200);
    expect(all.body.map((w: any) => [w.name, w.state])).toEqual([
      ['old', 'EXITED'],
      ['recent', 'EXITED'],
      ['live', 'PROCESSING'],
    ]);
    expect(all.body).toEqual(await cli(['--all']));
  });

  test('GET /api/pace: orders finished per minute over the last hour, by stop time', async () => {
    const now = Date.now();
    const minute = (ago: number) => new Date(Math.floor(now / 60_000) * 60_000 - ago * 60_000 + 1000);
    await orders().insertMany([
      ...[1, 2, 3].map(() => ({ status: 'DONE', arguments: [], attempts: 1, stop: minute(5) })),
      { status: 'ERROR', arguments: [], attempts: 1, stop: minute(5) },
      { status: 'DONE', arguments: [], attempts: 1, stop: minute(0) },
      { status: 'DONE', arguments: [], attempts: 1, stop: minute(90) }, // before the hour
      { status: 'READY', arguments: [], attempts: 1, stop: minute(2) }, // a retried attempt, not finished
    ]);
    const s = await serve(k);
    const r = await s.call('/api/pace');
    expect(r.status).toBe(200);
    expect(r.body.minutes).toHaveLength(60);
    // The server buckets by its own clock: a minute may have turned since `now` was taken.
    const turned = (Date.parse(r.body.minutes[59].start) - Math.floor(now / 60_000) * 60_000) / 60_000;
    expect([0, 1]).toContain(turned);
    const at = (ago: number) => r.body.minutes[59 - ago - turned].finished;
    expect(at(5)).toBe(4);
    expect(at(0)).toBe(1);
    expect(at(2)).toBe(0);
    expect(r.body.minutes.reduce((n: number, m: { finished: number }) => n + m.finished, 0)).toBe(5);
  });

  test('GET /api/orders pages by _id (after, limit, status, order=desc); no claim, no history', async () => {
    const docs = Array.from({ length: 5 }, (_, i) => ({
      _id: new ObjectId(),
      status: i % 2 ? 'ERROR' : 'READY',
      arguments: [`a${i}`],
      attempts: 0,
      claim: 'secret-claim',
      history: [],
    }));
    await orders().insertMany(docs);
    const ids = docs.map((d) => d._id.toHexString());
    const s = await serve(k);
    const first = await s.call('/api/orders?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.orders.map((o: any) => o._id)).toEqual(ids.slice(0, 2));
    expect(first.body.next).toBe(ids[1]);
    const second = await s.call(`/api/orders?limit=2&after=${first.body.next}`);
    expect(second.body.orders.map((o: any) => o._id)).toEqual(ids.slice(2, 4));
    const last = await s.call(`/api/orders?limit=2&after=${second.body.next}`);
    expect(last.body).toMatchObject({ orders: [{ _id: ids[4] }], next: null });
    const errors = await s.call('/api/orders?status=error&order=desc');
    expect(errors.body.orders.map((o: any) => o._id)).toEqual([ids[3], ids[1]]);
    expect(first.text).not.toContain('secret-claim');
    expect(first.body.orders[0]).not.toHaveProperty('history');
    expect((await s.call('/api/orders')).body.orders).toHaveLength(5);
  });

  test('GET /api/failed: the orders that failed last, latest stop first, with error and output tail', async () => {
    const t = Date.now();
    const docs = [3, 1, 2].map((ago) => ({
      _id: new ObjectId(),
      status: 'ERROR',
      arguments: [`f${ago}`],
      attempts: 1,
      stop: new Date(t - ago * 1000),
      error: `exit code ${ago}`,
      output: `out ${ago}`,
      claim: 'secret-claim',
    }));
    await orders().insertMany([...docs, { status: 'DONE', arguments: ['d'], attempts: 1, stop: new Date(t) }]);
    const s = await serve(k);
    const r = await s.call('/api/failed');
    expect(r.status).toBe(200);
    expect(r.body.map((o: any) => [o.arguments[0], o.error, o.output])).toEqual([
      ['f1', 'exit code 1', 'out 1'],
      ['f2', 'exit code 2', 'out 2'],
      ['f3', 'exit code 3', 'out 3'],
    ]);
    expect(r.text).not.toContain('secret-claim');
    expect((await s.call('/api/failed?limit=1')).body).toHaveLength(1);
  });

  test('GET /api/orders/:id: the order with history and output tail, never its claim', async () => {
    const _id = new ObjectId();
    await orders().insertOne({
      _id,
      status: 'ERROR',
      arguments: ['x'],
      attempts: 2,
      claim: 'secret-claim',
      error: 'exit code 3',
      exitCode: 3,
      output: 'boom\n',
      history: [
        { attempt: 1, waiter: 'w', start: new Date(), stop: new Date(), result: 'LOST' },
        { attempt: 2, waiter: 'w', start: new Date(), stop: new Date(), result: 'ERROR', exitCode: 3 },
      ],
    });
    const s = await serve(k);
    const r = await s.call(`/api/orders/${_id.toHexString().toUpperCase()}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ _id: _id.toHexString(), status: 'ERROR', output: 'boom\n', error: 'exit code 3', history: [{ result: 'LOST' }, { result: 'ERROR' }] });
    expect(r.body).not.toHaveProperty('claim');
  });

  test('every order view (GET /api/orders, /api/orders/:id, /api/failed) is `show --json`: named columns as fields, workdir, no claim or columns id', async () => {
    const added = await waiter(k, ['add', '--field', 'animal=cat', '--field', 'file name=a b.jpg']);
    const id = /Added order ([0-9a-f]{24})/.exec(added.stdout)![1]!;
    // As a waiter left it: failed in its folder, still holding a claim.
    await orders().updateOne(
      { _id: new ObjectId(id) },
      { $set: { status: 'ERROR', attempts: 1, stop: new Date(), error: 'exit code 2', workdir: '/tmp/w/1', claim: 'secret-claim' } },
    );
    await orders().insertOne({ status: 'ERROR', arguments: ['plain'], attempts: 1, stop: new Date(0), error: 'exit code 1' });
    const shown = JSON.parse((await waiter(k, ['show', '--json', id])).stdout);
    expect(shown).toMatchObject({ _id: id, fields: { animal: 'cat', 'file name': 'a b.jpg' }, workdir: '/tmp/w/1' });
    const s = await serve(k);
    const one = await s.call(`/api/orders/${id}`);
    const page = await s.call('/api/orders');
    const failed = await s.call('/api/failed');
    // ObjectIds from two processes within one second: their order is the random part's.
    const byId = (list: any[], want: string) => list.find((o) => o._id === want);
    const plainId = page.body.orders.find((o: any) => o._id !== id)._id;
    for (const view of [one.body, byId(page.body.orders, id), byId(failed.body, id)]) {
      expect(view).toEqual(shown);
      expect(view).not.toHaveProperty('columns');
      expect(view).not.toHaveProperty('claim');
    }
    // An order without named columns has no fields.
    expect(page.body.orders).toHaveLength(2);
    expect(byId(page.body.orders, plainId)).toMatchObject({ arguments: ['plain'] });
    expect(byId(page.body.orders, plainId)).not.toHaveProperty('fields');
    expect(byId(failed.body, plainId)).not.toHaveProperty('fields');
  });

  test('GET / serves one self-contained page: no external resources, a CSP allowing only its own script', async () => {
    const s = await serve(k);
    const r = await s.call('/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    expect(r.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(r.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'/);
    expect(r.text).not.toContain('innerHTML');
  });
});

describe('writes', () => {
  test('POST /api/orders: one {"arguments"} or an array of them -> ids of READY orders, in order; status sees them at once', async () => {
    const s = await serve(k);
    expect((await s.call('/api/status')).body.total).toBe(0); // cached for a second, unless a write invalidates it
    const one = await s.call('/api/orders', { method: 'POST', json: { arguments: ['a b', '; rm -rf ~'] } });
    expect(one.status).toBe(201);
    expect(one.body.ids).toHaveLength(1);
    const many = await s.call('/api/orders', { method: 'POST', json: [{ arguments: [] }, { arguments: ['2'] }, { arguments: ['<img src=x onerror=alert(1)>'] }] });
    expect(many.status).toBe(201);
    const all = await orders().find({}).sort({ _id: 1 }).toArray();
    expect(all.map((o) => o._id.toHexString())).toEqual([...one.body.ids, ...many.body.ids]);
    expect(all.map((o) => [o.status, o.arguments, o.attempts])).toEqual([
      ['READY', ['a b', '; rm -rf ~'], 0],
      ['READY', [], 0],
      ['READY', ['2'], 0],
      ['READY', ['<img src=x onerror=alert(1)>'], 0],
    ]);
    expect((await s.call('/api/status')).body).toMatchObject({ READY: 4, total: 4 });
  });

  test('POST /api/orders: "at" (as add --at) makes an order not to be taken before then', async () => {
    const s = await serve(k);
    const t0 = Date.now();
    const r = await s.call('/api/orders', {
      method: 'POST',
      json: [{ arguments: ['now'] }, { arguments: ['later'], at: '+2h' }, { arguments: ['then'], at: '2030-01-01T06:00:00Z' }],
    });
    expect(r.status).toBe(201);
    const [now, later, then] = await orders().find({}).sort({ _id: 1 }).toArray();
    expect(+now!.due).toBeGreaterThanOrEqual(t0 - 1000);
    expect(+now!.due).toBeLessThanOrEqual(Date.now());
    expect(+later!.due - t0).toBeGreaterThanOrEqual(2 * 3600_000 - 1000);
    expect(then!.due).toEqual(new Date('2030-01-01T06:00:00Z'));
    expect((await s.call('/api/status')).body).toMatchObject({ READY: 3, notYetDue: 2 });
  });

  test('POST /api/orders takes 10,000 orders in one request', async () => {
    const s = await serve(k);
    const r = await s.call('/api/orders', { method: 'POST', json: Array.from({ length: 10_000 }, (_, i) => ({ arguments: [String(i)] })) });
    expect(r.status).toBe(201);
    expect(r.body.ids).toHaveLength(10_000);
    expect(await orders().countDocuments({ status: 'READY' })).toBe(10_000);
  });

  test('POST /api/reset: `waiter reset` rules: ERROR and stale RUNNING back READY, live RUNNING left alone unless force', async () => {
    const future = new Date(Date.now() + 3600_000);
    const old = new ObjectId();
    const live = new ObjectId();
    await orders().insertMany([
      { status: 'ERROR', arguments: ['e'], attempts: 1 },
      { status: 'RUNNING', arguments: ['stale'], attempts: 1, expires: new Date(0), claim: 'a' },
      { _id: live, status: 'RUNNING', arguments: ['live'], attempts: 1, expires: future, claim: 'b', start: new Date() },
      // Alive (its lease renewed), but started two hours ago: what olderThan is for.
      { _id: old, status: 'RUNNING', arguments: ['long'], attempts: 1, expires: future, claim: 'c', start: new Date(Date.now() - 2 * 3600_000) },
      { status: 'DONE', arguments: ['d'], attempts: 1 },
    ]);
    const s = await serve(k);
    expect((await s.call('/api/reset', { method: 'POST', json: { status: ['ERROR'] } })).body).toEqual({ reset: 1, leftAlone: 0, dryRun: false });
    expect((await s.call('/api/reset', { method: 'POST', json: {} })).body).toEqual({ reset: 1, leftAlone: 2, dryRun: false });
    expect(await orders().countDocuments({ status: 'RUNNING' })).toBe(2);
    expect((await s.call('/api/reset', { method: 'POST', json: { status: ['RUNNING'], olderThan: '1h' } })).body).toEqual({ reset: 1, leftAlone: 1, dryRun: false });
    expect(await orders().findOne({ _id: old })).toMatchObject({ status: 'READY' });
    expect((await orders().findOne({ _id: old }))!.claim).toBeUndefined();
    expect(await orders().findOne({ _id: live })).toMatchObject({ status: 'RUNNING', claim: 'b' });
    expect((await s.call('/api/reset', { method: 'POST', json: { status: ['RUNNING'], force: true } })).body).toEqual({ reset: 1, leftAlone: 0, dryRun: false });
    expect(await orders().countDocuments({ status: 'READY' })).toBe(4);
    expect(await orders().countDocuments({ status: 'DONE' })).toBe(1);
  });
});

describe('bad input: 4xx {"error"} and nothing written', () => {
  test('POST /api/orders refuses what is not a list of string arguments', async () => {
    await orders().insertOne({ status: 'READY', arguments: ['keep'], attempts: 0 });
    const s = await serve(k);
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => s.call('/api/orders', { method: 'POST', body, headers });
    await nothingWritten(async () => {
      refused(await post('{"arguments": ["a"'), 400, /^the body is not JSON/);
      refused(await post(''), 400, /^the body is empty/);
      refused(await post('42'), 400, /^body: expected \{"arguments": \[\.\.\.\]\}, got number/);
      refused(await post('null'), 400, /got null/);
      refused(await post('[]'), 400, /^no orders/);
      refused(await post('{"args": ["a"]}'), 400, /^body: unknown field 'args' \(allowed: arguments, at, priority, after, afterAny\)/);
      refused(await post('{"arguments": "a b"}'), 400, /^body\.arguments: expected an array of strings, got string/);
      refused(await post('{"arguments": ["a", 1]}'), 400, /^body\.arguments\[1\]: expected a string, got number/);
      refused(await post('[{"arguments": ["ok"]}, {"arguments": [null]}]'), 400, /^\[1\]\.arguments\[0\]: expected a string, got null/);
      refused(await post('[{"arguments": ["ok"]}, ["a"]]'), 400, /^\[1\]: expected .* got array/);
      refused(await post('{"arguments": ["a\\u0000b"]}'), 400, /NUL/);
      refused(await post('{"arguments": [], "at": "soon"}'), 400, /^body\.at: "soon" is not a time/);
      refused(await post('[{"arguments": []}, {"arguments": [], "at": 5}]'), 400, /^\[1\]\.at: expected a time .* got number/);
      refused(await post(JSON.stringify(Array.from({ length: 10_001 }, () => ({ arguments: [] })))), 400, /^10001 orders in one request: at most 10000/);
      refused(await post(JSON.stringify({ arguments: ['x'.repeat(9 * 1024 * 1024)] })), 413, /larger than 8 MiB/);
      refused(await s.call('/api/orders?x=1', { method: 'POST', json: { arguments: [] } }), 400, /unknown parameter 'x'/);
    });
  });

  test('POST /api/reset refuses a bad status, a non-boolean force, a bad duration, unknown fields', async () => {
    await orders().insertMany([
      { status: 'ERROR', arguments: ['e'], attempts: 1 },
      { status: 'RUNNING', arguments: ['r'], attempts: 1, expires: new Date(0), claim: 'c' },
    ]);
    const s = await serve(k);
    const reset = (json: unknown) => s.call('/api/reset', { method: 'POST', json });
    await nothingWritten(async () => {
      refused(await reset({ status: ['DONE'] }), 400, /^status\[0\]: "DONE" is not one of ERROR, RUNNING/);
      refused(await reset({ status: [] }), 400, /^status: expected a non-empty array/);
      refused(await reset({ status: 5 }), 400, /^status: expected a non-empty array/);
      refused(await reset({ force: 'yes' }), 400, /^force: expected true or false, got string/);
      refused(await reset({ olderThan: 'soon' }), 400, /olderThan: 'soon' is not a duration/);
      refused(await reset({ all: true }), 400, /^body: unknown field 'all'/);
      refused(await reset([]), 400, /^expected an object/);
      refused(await s.call('/api/reset', { method: 'POST', body: 'force', headers: { 'content-type': 'application/json' } }), 400, /^the body is not JSON/);
    });
  });

  test('GET refuses malformed and unknown ids, bad status, limit, cursor and parameters; unknown routes are 404 JSON', async () => {
    await orders().insertOne({ status: 'READY', arguments: ['keep'], attempts: 0 });
    const s = await serve(k);
    await nothingWritten(async () => {
      refused(await s.call('/api/orders/xyz'), 400, /^"xyz" is not an order id \(24 hex digits\)/);
      refused(await s.call(`/api/orders/${new ObjectId().toHexString()}`), 404, /^no order [0-9a-f]{24} in list 'orders'/);
      refused(await s.call('/api/orders?status=FINISHED'), 400, /^status: "FINISHED" is not one of READY, RUNNING, DONE, ERROR/);
      for (const limit of ['0', '1001', 'ten', '-1', '1.5']) refused(await s.call(`/api/orders?limit=${limit}`), 400, /^limit: .* is not a whole number from 1 to 1000/);
      refused(await s.call('/api/orders?after=nope'), 400, /^"nope" is not an order id for after/);
      refused(await s.call('/api/orders?order=random'), 400, /^order: "random" is not asc or desc/);
      refused(await s.call('/api/orders?limit=1&limit=2'), 400, /^parameter 'limit' given 2 times/);
      refused(await s.call('/api/orders?statuss=READY'), 400, /^unknown parameter 'statuss'/);
      refused(await s.call('/api/status?watch=1'), 400, /^unknown parameter 'watch'/);
      refused(await s.call('/api/waiters?all=maybe'), 400, /^all: "maybe" is not true or false/);
      refused(await s.call('/api/failed?limit=5000'), 400, /^limit: "5000" is not a whole number from 1 to 1000/);
      refused(await s.call('/api/failed?status=DONE'), 400, /^unknown parameter 'status'/);
      refused(await s.call('/api/nope'), 404, /^no route GET \/api\/nope/);
      refused(await s.call('/favicon.ico'), 404, /^no route GET \/favicon\.ico/);
      refused(await s.call('/api/status', { method: 'DELETE' }), 404, /^no route DELETE \/api\/status/);
      refused(await s.call('/api/orders/0123456789abcdef01234567', { method: 'PUT', json: {} }), 404, /^no route PUT/);
    });
  });
});

describe('authentication', () => {
  const reads = ['/api/status', '/api/waiters', '/api/pace', '/api/failed', '/api/orders', '/api/info', '/api/cost'];

  test('with a token (WAITER_TOKEN): every read and write needs it; the page itself does not; the token is never printed', async () => {
    const s = await serve(k, [], { WAITER_TOKEN: TOKEN });
    expect(s.stdout()).toContain('token for reads and writes');
    for (const path of reads) {
      refused(await s.call(path), 401, /^missing or wrong token/);
      refused(await s.call(path, { token: 'wrong-token-123' }), 401, /^missing or wrong token/);
      refused(await s.call(path, { token: TOKEN.slice(0, -1) }), 401, /^missing or wrong token/);
      expect((await s.call(path, { token: TOKEN })).status).toBe(200);
    }
    expect((await s.call('/api/status')).headers.get('www-authenticate')).toMatch(/^Bearer/);
    await nothingWritten(async () => {
      refused(await s.call('/api/orders', { method: 'POST', json: { arguments: ['x'] } }), 401, /token/);
      refused(await s.call('/api/orders', { method: 'POST', json: { arguments: ['x'] }, headers: { authorization: `Basic ${TOKEN}` } }), 401, /token/);
      refused(await s.call('/api/reset', { method: 'POST', json: {} }), 401, /token/);
    });
    expect((await s.call('/api/orders', { method: 'POST', json: { arguments: ['x'] }, token: TOKEN })).status).toBe(201);
    expect((await s.call('/')).status).toBe(200);
    s.proc.kill('SIGTERM');
    const r = await s.proc;
    expect(r.exitCode).toBe(0);
    expect(`${s.stdout()}${s.stderr()}`).not.toContain(TOKEN);
  });

  test('--token with --public-read: reads are open, writes still need the token', async () => {
    const s = await serve(k, ['--token', TOKEN, '--public-read']);
    for (const path of reads) expect((await s.call(path)).status).toBe(200);
    await nothingWritten(async () => {
      refused(await s.call('/api/orders', { method: 'POST', json: { arguments: ['x'] } }), 401, /token/);
      refused(await s.call('/api/reset', { method: 'POST', json: {} }), 401, /token/);
    });
    expect((await s.call('/api/reset', { method: 'POST', json: {}, token: TOKEN })).status).toBe(200);
    expect(s.stdout()).not.toContain(TOKEN);
  });

  test("/api/waiters shows each waiter's deliver command line, even to --public-read readers; its environment never (README: secrets go in the env)", async () => {
    const d = await waiter(k, ['-n', 'box', 'deliver', './fixtures/ok.sh', '--api-key=argv-visible'], { env: { CRUNCH_API_KEY: 'env-hidden-value' } });
    expect(d.exitCode).toBe(0); // empty list: registers, then exits
    const s = await serve(k, ['--public-read'], { WAITER_TOKEN: TOKEN });
    const r = await s.call('/api/waiters');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject([{ name: 'box', state: 'EXITED', command: ['./fixtures/ok.sh', '--api-key=argv-visible'] }]);
    expect(r.text).not.toContain('env-hidden-value');
  });

  test('without a token on loopback everything is open', async () => {
    const s = await serve(k);
    expect(s.stdout()).toMatch(/^waiter serve: http:\/\/127\.0\.0\.1:\d+\/ \(list orders, no token; Ctrl-C to stop\)\n$/);
    expect((await s.call('/api/orders', { method: 'POST', json: { arguments: ['x'] } })).status).toBe(201);
  });

  test("the kitchen URI is never shown: the URL printed is the server's, /api/info names host and database only", async () => {
    const s = await serve(k);
    expect(s.stdout()).not.toContain('mongodb://');
    const info = await s.call('/api/info');
    expect(info.body).toEqual({ list: 'orders', db: k.name, kitchen: `${new URL(k.uri).host}/${k.name}`, auth: false, publicRead: false });
  });
});

/** One raw HTTP request (fetch may not set Host, as a rebinding browser does), body parsed. */
function raw(
  url: string,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: o.method ?? 'GET', headers: o.headers ?? {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text.startsWith('{') ? JSON.parse(text) : text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('cross-site requests (another web page the user visits)', () => {
  test('a POST whose body is not declared application/json is refused 415: a page cannot send it without a CORS preflight, which gets no answer', async () => {
    await orders().insertOne({ status: 'ERROR', arguments: ['e'], attempts: 1 });
    const s = await serve(k);
    await nothingWritten(async () => {
      // What fetch(..., {mode: 'no-cors'}) and an HTML form can send: text/plain, a form, or nothing.
      for (const path of ['/api/orders', '/api/reset']) {
        const body = path === '/api/orders' ? '{"arguments": ["rm", "-rf"]}' : '{"force": true}';
        refused(await s.call(path, { method: 'POST', body }), 415, /^Content-Type "text\/plain": send the body as application\/json/);
        refused(
          await s.call(path, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
          415,
          /^Content-Type "application\/x-www-form-urlencoded"/,
        );
        refused(await s.call(path, { method: 'POST', body: new Blob([body]) }), 415, /^Content-Type missing/);
        refused(await s.call(path, { method: 'POST', body, headers: { 'content-type': 'multipart/form-data; boundary=x' } }), 415, /^Content-Type "multipart\/form-data"/);
      }
      // The preflight a browser sends before a cross-site application/json POST: no CORS grant.
      const pre = await s.call('/api/orders', {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(pre.status).toBe(404);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    });
    const ok = await s.call('/api/orders', { method: 'POST', body: '{"arguments": ["x"]}', headers: { 'content-type': 'Application/JSON; charset=utf-8' } });
    expect(ok.status).toBe(201);
  });

  test('DNS rebinding: a Host other than the bind address, localhost, 127.0.0.1 or [::1] with the port is refused 421, reads and writes alike', async () => {
    await orders().insertOne({ status: 'READY', arguments: ['secret-arg'], attempts: 0 });
    const s = await serve(k);
    const port = new URL(s.url).port;
    await nothingWritten(async () => {
      for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`, `localhost.evil.example:${port}`, '127.0.0.1']) {
        for (const path of ['/api/status', '/api/orders', '/']) {
          const r = await raw(s.url, path, { headers: { host } });
          refused(r, 421, /^Host ".*" is not this server's: use the URL waiter serve printed$/);
          expect(JSON.stringify(r.body)).not.toContain('secret-arg');
        }
        refused(await raw(s.url, '/api/orders', { method: 'POST', headers: { host, 'content-type': 'application/json' }, body: '{"arguments": ["x"]}' }), 421, /^Host/);
      }
    });
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      expect((await raw(s.url, '/api/status', { headers: { host } })).status, host).toBe(200);
    }
  });

  test('--bind 0.0.0.0 with a token answers any Host: the token protects it', async () => {
    const s = await serve(k, ['--bind', '0.0.0.0'], { WAITER_TOKEN: TOKEN });
    const url = `http://127.0.0.1:${new URL(s.url).port}/`;
    const r = await raw(url, '/api/status', { headers: { host: 'waiter.internal.example:9999', authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    refused(await raw(url, '/api/status', { headers: { host: 'waiter.internal.example' } }), 401, /token/);
  });
});

// The test server takes any user name and password with authMechanism=PLAIN (it checks
// none), so a kitchen URI with credentials can be served end to end; a real mongod
// would refuse them.
const anyPassword = await takesAnyPassword();
test.runIf(anyPassword.run)(anyPassword.title('a kitchen URI with a password: no answer, header or log line shows the user or the password'), async () => {
  const url = new URL(k.uri);
  url.username = 'alice-user';
  url.password = 's3cr3t-pw';
  url.searchParams.set('authMechanism', 'PLAIN');
  await orders().insertOne({ status: 'ERROR', arguments: ['x'], attempts: 1, stop: new Date(), error: 'exit code 1' });
  const s = await serve(k, [], { WAITER_KITCHEN: url.toString() });
  const id = (await orders().findOne({}))!._id.toHexString();
  const answers = await Promise.all(
    ['/', '/api/info', '/api/status', '/api/waiters', '/api/pace', '/api/failed', '/api/orders', `/api/orders/${id}`, '/api/orders/bad', '/api/nope'].map((p) => s.call(p)),
  );
  answers.push(await s.call('/api/orders', { method: 'POST', json: { arguments: [2] } }));
  expect(answers.filter((a) => a.status === 200)).toHaveLength(8);
  for (const a of answers) {
    const all = `${a.text}\n${[...a.headers].map(([h, v]) => `${h}: ${v}`).join('\n')}`;
    expect(all).not.toContain('s3cr3t-pw');
    expect(all).not.toContain('alice-user');
  }
  s.proc.kill('SIGINT');
  await s.proc;
  expect(`${s.stdout()}${s.stderr()}`).not.toMatch(/s3cr3t-pw|alice-user/);
});

// Its own test server, stopped under the running `waiter serve`.
const go = needsGo();
test.runIf(go.run)(go.title('a kitchen outage: reads that need the kitchen answer 503 with one line naming host and database, and the server stays up'), async () => {
  const server = await startTestServer();
  try {
    const where = { uri: server.uri, name: 'outage' };
    const url = new URL(server.uri);
    url.searchParams.set('serverSelectionTimeoutMS', '500');
    const s = await serve(where, [], { WAITER_KITCHEN: url.toString() });
    expect((await s.call('/api/orders', { method: 'POST', json: { arguments: ['a'] } })).status).toBe(201);
    expect((await s.call('/api/status')).body.total).toBe(1);
    await server.stop();
    for (const path of ['/api/orders', '/api/failed?limit=3', `/api/orders/${new ObjectId().toHexString()}`]) {
      const r = await s.call(path);
      expect(r.status, path).toBe(503);
      expect(r.body.error).toMatch(new RegExp(`failed at ${url.host}/outage: `));
      expect(r.body.error).not.toContain('\n');
    }
    refused(await s.call('/api/orders', { method: 'POST', json: { arguments: ['b'] } }), 503, /add orders failed at/);
    expect(s.stderr()).toMatch(/waiter serve: GET \/api\/orders: list orders failed at/);
    expect((await s.call('/')).status).toBe(200); // the page itself needs no kitchen
    // Status: the last answer is a second old, so the recount is waited for (up to 1 s);
    // it fails within that (serverSelectionTimeoutMS 500), so the error, not the old figures.
    await new Promise((r) => setTimeout(r, 1100));
    const down = await s.call('/api/status');
    expect(down.status).toBe(503);
    expect(down.body.error).toMatch(/^status failed at /);
  } finally {
    await server.stop();
  }
});

describe('the server process', () => {
  test('a non-loopback --bind without a token is refused: exit 2, one line; with a token it serves', async () => {
    for (const bind of ['0.0.0.0', '::', '10.1.2.3', 'example.com']) {
      const r = await waiter(k, ['serve', '--bind', bind]);
      expect(r.exitCode, bind).toBe(2);
      expect(r.stderr).toBe(`waiter: --bind ${bind}: not a loopback address; set --token or WAITER_TOKEN to serve beyond this machine`);
    }
    const s = await serve(k, ['--bind', '0.0.0.0'], { WAITER_TOKEN: TOKEN });
    // Every address: the URL printed is one this box answers on (never 0.0.0.0, which no browser can be sent to).
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const port = new URL(s.url).port;
    expect((await fetch(`http://127.0.0.1:${port}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  test('bad options: exit 2 with one line naming the option', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--port', 'http'], {}, /^waiter: --port: 'http' is not a port number/],
      [['--port', '70000'], {}, /^waiter: --port: '70000' is not a port number/],
      [['--token', 'short'], {}, /^waiter: --token \(or WAITER_TOKEN\): use at least 8 printable characters/],
      [[], { WAITER_TOKEN: 'has a space' }, /^waiter: --token \(or WAITER_TOKEN\)/],
    ];
    for (const [args, env, message] of cases) {
      const r = await waiter(k, ['serve', ...args], { env });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  test('a port in use: exit 2, one line', async () => {
    const s = await serve(k);
    const port = new URL(s.url).port;
    const r = await waiter(k, ['serve', '--port', port]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`waiter: --port ${port}: already in use on 127.0.0.1`);
  });

  test('kitchen unreachable at start: exit 3, no password', async () => {
    const r = await waiter(k, ['serve', '--port', '0'], { env: { WAITER_KITCHEN: 'mongodb://alice:s3cr3t-pw@127.0.0.1:1/?serverSelectionTimeoutMS=500' } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).not.toContain('s3cr3t-pw');
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} stops it cleanly: exit 0, the port is released`, async () => {
      const s: Served = await serve(k);
      expect((await s.call('/api/status')).status).toBe(200);
      s.proc.kill(signal);
      const r = await s.proc;
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toBe(`waiter serve: ${signal}: stopping`);
      await expect(fetch(new URL('/api/status', s.url))).rejects.toThrow();
    });
  }
});

describe('how old an answer is (issue 25)', () => {
  test('after a quiet spell with the kitchen slow to count, /api/status serves the last figures marked with their age (asOf, ageSeconds, Age), never as fresh; once it answers, fresh ones', async () => {
    const { holdProxy } = await import('./support/hold-proxy.js');
    await orders().insertMany(Array.from({ length: 3 }, (_, i) => ({ status: 'READY', arguments: [`${i}`], attempts: 0, due: new Date() })));
    const proxy = await holdProxy(k.uri, 'aggregate'); // status's counts; finds pass
    const s = await serve({ uri: proxy.uri, name: k.name });
    const before = Date.now();
    const first = await s.call('/api/status');
    expect(first.body).toMatchObject({ total: 3, ageSeconds: 0 });
    expect(Date.parse(first.body.asOf)).toBeGreaterThanOrEqual(before - 1000);
    expect(first.headers.get('x-as-of')).toBe(first.body.asOf);

    proxy.hold();
    await new Promise((r) => setTimeout(r, 11_000)); // a quiet spell: nobody asks
    await orders().insertMany(Array.from({ length: 5 }, (_, i) => ({ status: 'READY', arguments: [`new-${i}`], attempts: 0, due: new Date() })));
    const stale = await s.call('/api/status');
    expect(stale.status).toBe(200);
    expect(stale.body.total).toBe(3); // the last figures…
    expect(stale.body.ageSeconds).toBeGreaterThanOrEqual(11); // …saying how old they are
    expect(stale.body.asOf).toBe(first.body.asOf);
    expect(stale.headers.get('age')).toBe(String(stale.body.ageSeconds));
    // The other shared answers say it too (arrays: in their headers).
    const w = await s.call('/api/waiters');
    expect(Array.isArray(w.body)).toBe(true);
    expect(Date.parse(w.headers.get('x-as-of')!)).toBeLessThanOrEqual(Date.now());

    proxy.release();
    const fresh = await until(
      async () => {
        const r = await s.call('/api/status');
        return r.body.total === 8 ? r : undefined;
      },
      20_000,
      'fresh figures once the kitchen answers',
    );
    expect(fresh.body.ageSeconds).toBeLessThanOrEqual(1);
    expect(Date.parse(fresh.body.asOf)).toBeGreaterThan(Date.parse(first.body.asOf) + 10_000);
  }, 60_000);
});
