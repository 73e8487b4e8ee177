// A TCP proxy to the test server on 127.0.0.1 for tests that need to see or hold what
// crosses the wire (hold-proxy.ts, count-proxy.ts): `wire` decides what passes each way;
// every proxy is closed after its test.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach } from 'vitest';

const open: { server: Server; sockets: Set<Socket> }[] = [];
afterEach(async () => {
  for (const p of open.splice(0)) {
    for (const s of p.sockets) s.destroy();
    await new Promise((r) => p.server.close(r));
  }
});

/** Starts a proxy to `target` and returns its connection string; `wire` connects each client to its upstream. */
export async function tcpProxy(target: string, wire: (client: Socket, upstream: Socket) => void): Promise<string> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    wire(client, upstream);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => (b.destroy(), sockets.delete(a)));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ server, sockets });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  return `mongodb://127.0.0.1:${address.port}/?directConnection=true`;
}
