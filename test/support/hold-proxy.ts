// A TCP proxy to the test server that can hold back the answers to some commands: a
// kitchen slow to count (as FerretDB is on a big list) without a big list. While held,
// a connection that sent a command containing `marker` gets no answer until release();
// every other command passes.
import { tcpProxy } from './tcp-proxy.js';

export async function holdProxy(target: string, marker: string) {
  let holding = false;
  const waiting: (() => void)[] = [];
  const uri = await tcpProxy(target, (client, upstream) => {
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
  });
  return {
    uri,
    hold: () => (holding = true),
    release: () => {
      holding = false;
      for (const go of waiting.splice(0)) go();
    },
  };
}
