// A TCP proxy to the test server that can hold back the answers to some commands: a
// kitchen slow to count (as FerretDB is on a big list) without a big list. While held,
// a connection that sent a command containing `marker` gets no answer until release();
// every other command passes.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach } from 'vitest';

const open: { server: Server; sockets: Set<Socket> }[] = [];
afterEach(async () => {
  for (const p of open.splice(0)) {
    for (const s of p.sockets) s.destroy();
    await new Promise((r) => p.server.close(r));
  }
});

export async function holdProxy(target: string, marker: string) {
  const { hostname, port } = new URL(target);
  let holding = false;
  const waiting: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let held: Buffer[] | null = null;
    const flush = () => {
      const out = held ?? [];
      held = null;
      for (const b of out) client.write(b);
    };
    client.on('data', (d: Buffer) => {
      if (holding && d.includes(marker) && !held) {
        held = [];
        waiting.push(flush);
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (held) held.push(d);
      else client.write(d);
    });
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
  return {
    uri: `mongodb://127.0.0.1:${address.port}/?directConnection=true`,
    hold: () => (holding = true),
    release: () => {
      holding = false;
      for (const go of waiting.splice(0)) go();
    },
  };
}
