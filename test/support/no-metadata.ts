// vitest setupFiles: in every test process, a connection to the clouds' real instance
// metadata services throws, whatever makes it (main() in-process, a watcher, fetch). The
// spawned CLI has its own guard (metadataGuard in test/support/metadata.ts, cli.ts).
import net from 'node:net';

const REAL = new Set(['169.254.169.254', 'fd00:ec2::254', 'metadata.google.internal', 'metadata']);

// Called with the socket as `this` below.
// eslint-disable-next-line @typescript-eslint/unbound-method
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  // connect(options), connect(port, host), or net.connect's normalized [options, cb].
  const a = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  const host = typeof a[0] === 'object' && a[0] !== null ? (a[0] as { host?: unknown }).host : a[1];
  if (typeof host === 'string' && REAL.has(host.toLowerCase().replace(/\.$/, ''))) {
    throw new Error(`a test tried to reach the real metadata service at ${host}: give the watcher a stand-in (test/support/metadata.ts)`);
  }
  return connect.apply(this, args as Parameters<typeof connect>);
};
