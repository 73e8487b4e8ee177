// A kitchen outage in the middle of a run: the waiter rides it out (claims, heartbeats
// and results are retried) and every order is delivered exactly once.
//
// This test starts its own FerretDB test server on a data directory, stops it while
// orders run, and starts it again on the same port and data: the waiter's client sees
// the same address go away and come back. The outage is shorter than the lease (as an
// outage must be for "exactly once": after a lease runs out, another waiter may
// rightly take the order over).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { FIXTURES, until, waiter } from './support/cli.js';
import { needsGo } from './support/gates.js';
import { restartablePort, startTestServer, type TestServer } from './support/server.js';
import { lines, type OrderDoc } from './support/recovery.js';

const ORDERS = 30;

const go = needsGo();
describe.runIf(go.run)(go.title('a kitchen outage'), () => {
  test(`server stopped and restarted mid-run: all ${ORDERS} orders end DONE, each run exactly once`, async () => {
    const data = await mkdtemp(join(tmpdir(), 'waiter-outage-'));
    const log = join(data, 'echo.log');
    const port = await restartablePort(); // restarted below on the same port
    let server: TestServer | undefined = await startTestServer({ port, data });
    const k = { uri: server.uri, name: 'outage' };
    const client = new MongoClient(server.uri);
    try {
      const orders = client.db(k.name).collection<OrderDoc>('orders');
      await orders.insertMany(Array.from({ length: ORDERS }, (_, i) => ({ status: 'READY', arguments: [`job ${i}`], attempts: 0 }) as unknown as OrderDoc));

      // Each order takes a moment (25 left take ~4 s), so that some are surely still to do
      // when the server goes away, even if this test is slow to see the first five.
      const run = waiter(k, ['deliver', '-x', '3', '--lease', '30s', '--heartbeat', '300ms', '--shell', `sleep 0.5; exec ${join(FIXTURES, 'echo.sh')} "$@"`], {
        env: { ECHO_LOG: log },
      });
      let stderr = '';
      run.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));

      await until(async () => (await lines(log)).length >= 5, 30_000, 'some orders to be delivered');
      await server.stop();
      await until(() => /kitchen unavailable/.test(stderr), 30_000, 'the waiter to notice the outage');
      const delivered = (await lines(log)).length;
      expect(delivered).toBeLessThan(ORDERS);
      server = await startTestServer({ port, data });

      const r = await run;
      expect(r.stderr).toMatch(/the kitchen answers again/);
      expect(r.stderr).not.toMatch(/lost order|not recorded/);
      expect(r.stdout).toContain(`Done. Delivered ${ORDERS} orders.`);
      expect(r.exitCode).toBe(0);

      // Exactly once, by the command's own account: one line per order, attempt 1.
      const runs = (await lines(log)).map((l) => l.split(' '));
      const final = await orders.find().sort({ _id: 1 }).toArray();
      expect(final.map((o) => [o.status, o.attempts])).toEqual(Array.from({ length: ORDERS }, () => ['DONE', 1]));
      expect(runs.map(([id]) => id).sort()).toEqual(final.map((o) => o._id.toHexString()).sort());
      expect(runs.every(([, attempt]) => attempt === '1')).toBe(true);
      expect(final.every((o) => o.history?.length === 1 && o.history[0]!.result === 'DONE')).toBe(true);
    } finally {
      await client.close();
      await server?.stop();
      await rm(data, { recursive: true, force: true });
    }
  });
});
