// A TCP proxy to the test server that counts the commands a process sends, by name and
// collection (OP_MSG's first key is the command, its value the collection): what a real
// CLI process costs the kitchen, counted on the wire, without touching the process.
import { tcpProxy } from './tcp-proxy.js';

const OP_MSG = 2013;

/** The command name and its collection (or '') of one whole OP_MSG message. */
function commandOf(msg: Buffer): [string, string] | undefined {
  if (msg.readInt32LE(12) !== OP_MSG) return undefined;
  // header (16), flagBits (4), section kind 0 (1), then the document: length (4), first element.
  let at = 16 + 4;
  if (msg[at] !== 0) return undefined;
  at += 1 + 4;
  const type = msg[at]!;
  const end = msg.indexOf(0, at + 1);
  const name = msg.toString('utf8', at + 1, end);
  if (type !== 0x02) return [name, ''];
  const len = msg.readInt32LE(end + 1);
  return [name, msg.toString('utf8', end + 5, end + 5 + len - 1)];
}

export async function countProxy(target: string) {
  const counts = new Map<string, number>();
  const hooks: { command: string; collection: string; markers: string[]; fn: () => Promise<unknown>; done: boolean }[] = [];
  const uri = await tcpProxy(target, (client, upstream) => {
    let pending = Buffer.alloc(0);
    // Messages pass in order, each once its hook (if any) is done.
    let sent = Promise.resolve();
    client.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        const n = pending.readInt32LE(0);
        const msg = pending.subarray(0, n);
        pending = pending.subarray(n);
        const c = commandOf(msg);
        if (c) counts.set(c.join(' '), (counts.get(c.join(' ')) ?? 0) + 1);
        const hook = c && hooks.find((h) => !h.done && h.command === c[0] && h.collection === c[1] && h.markers.every((m) => msg.includes(m)));
        if (hook) hook.done = true;
        sent = sent.then(async () => {
          if (hook) await hook.fn();
          upstream.write(msg);
        });
      }
    });
    upstream.on('data', (d: Buffer) => client.write(d));
  });
  return {
    uri,
    /** How many `command`s on `collection` were sent so far ('findAndModify', 'orders'). */
    count: (command: string, collection = 'orders') => counts.get(`${command} ${collection}`) ?? 0,
    counts: () => Object.fromEntries(counts),
    reset: () => counts.clear(),
    /** Runs fn before the first `command` on `collection` whose bytes contain every one of `markers` reaches the server (the command waits for it). */
    before: (command: string, collection: string, markers: string[], fn: () => Promise<unknown>) => hooks.push({ command, collection, markers, fn, done: false }),
  };
}
