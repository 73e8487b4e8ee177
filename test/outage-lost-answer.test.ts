// The worst moment for a connection to fail: after the server applied a write, before
// its answer arrived. A TCP proxy between the waiter and the real server forwards one
// chosen command, then cuts the connection instead of passing the answer back. The
// waiter retries; the retry must not take a second order (claim) or mistake its own
// recorded result for someone else's (finish).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { FIXTURES, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, byId, lines, statusJson, tempDir } from './support/recovery.js';

const ECHO = join(FIXTURES, 'echo.sh');

/** A proxy to `target` that swallows the answer to the first command containing `marker`. */
async function answerDropper(target: string, marker: string) {
  const { hostname, port } = new URL(target);
  let armed = true;
  let dropped = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let cut = false;
    client.on('data', (d: Buffer) => {
      if (armed && d.includes(marker)) {
        armed = false;
        cut = true;
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (cut) {
        dropped++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        b.destroy();
        sockets.delete(a);
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  proxies.push({ server, sockets });
  return { uri: `mongodb://127.0.0.1:${address.port}/?directConnection=true`, dropped: () => dropped };
}

const proxies: { server: Server; sockets: Set<Socket> }[] = [];
afterEach(async () => {
  for (const { server, sockets } of proxies.splice(0)) {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});

describe('an answer lost after the write', () => {
  const k = useDb();

  test('claim: the retry finds the order the lost claim took, instead of leaving it RUNNING unrun', async () => {
    const dir = await tempDir('lost-claim');
    const log = join(dir, 'echo.log');
    const [x, y] = await addOrders(k.db, [['one'], ['two']]);
    // The claim's findAndModify, the one that counts attempts (the registry's write is a
    // findAndModify too): its $inc's int32 element `attempts`, not the index key
    // `spent.attempts` that deliver creates at start (src/kitchen/cost.ts).
    const proxy = await answerDropper(k.uri, '\x10attempts\x00');

    const r = await waiter({ uri: proxy.uri, name: k.name }, ['deliver', '--lease', '30s', '--heartbeat', '300ms', ECHO], { env: { ECHO_LOG: log } });
    expect(proxy.dropped()).toBe(1);
    expect(r.stderr).toMatch(/waiter: claim: kitchen unavailable .*retry 1/);
    expect(r.stdout).toContain('Done. Delivered 2 orders.');
    expect(r.exitCode).toBe(0);
    for (const id of [x!, y!]) expect(await byId(k.db, id)).toMatchObject({ status: 'DONE', attempts: 1, exitCode: 0 });
    expect((await lines(log)).map((l) => l.split(' ')[0]).sort()).toEqual([x!.toHexString(), y!.toHexString()].sort());
    expect(await statusJson(k)).toMatchObject({ DONE: 2, RUNNING: 0, READY: 0 });
  });

  test('finish: the retry sees its own result recorded, and does not report the order as taken over', async () => {
    const dir = await tempDir('lost-finish');
    const log = join(dir, 'echo.log');
    const [x] = await addOrders(k.db, [['one']]);
    // Only finish() writes history; claims are findAndModify, heartbeats do not mention it.
    const proxy = await answerDropper(k.uri, 'history');

    const r = await waiter({ uri: proxy.uri, name: k.name }, ['deliver', '--lease', '30s', '--heartbeat', '300ms', ECHO], { env: { ECHO_LOG: log } });
    expect(proxy.dropped()).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`waiter: recording ${x!.toHexString()}: kitchen unavailable .*retry 1`));
    expect(r.stderr).not.toMatch(/not recorded|lost order/);
    expect(r.stdout).toContain('Done. Delivered 1 order.');
    expect(r.exitCode).toBe(0);
    const o = await byId(k.db, x!);
    expect(o).toMatchObject({ status: 'DONE', attempts: 1, exitCode: 0 });
    expect(o.history).toEqual([expect.objectContaining({ attempt: 1, result: 'DONE' })]);
    expect(await lines(log)).toHaveLength(1);
  });
});
