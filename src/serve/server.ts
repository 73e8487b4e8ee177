// Listening: node:http with Hono's request listener, so start-up errors (port in use,
// address not on this machine) become one-line usage errors and stopping is ours.
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import type { Hono } from 'hono';
import { UsageError } from '../errors.js';

export interface Listening {
  /** http://host:port/ — the server's own address, nothing about the kitchen. */
  url: string;
  /** The port listened on (the one picked, with --port 0). */
  port: number;
  close(): Promise<void>;
}

/** 127.0.0.0/8, ::1 and localhost: the addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

/**
 * The Host headers a loopback server answers: its bind address, localhost, 127.0.0.1
 * and [::1], with its port (and without, on port 80). A page on another site that
 * rebinds its own name to 127.0.0.1 sends its own name as Host, so it is refused.
 */
export function allowedHosts(bind: string, port: number): ReadonlySet<string> {
  const b = bind.replace(/^\[|\]$/g, '').toLowerCase();
  const names = ['localhost', '127.0.0.1', '[::1]', isIP(b) === 6 ? `[${b}]` : b];
  return new Set(names.flatMap((n) => (port === 80 ? [`${n}:${port}`, n] : [`${n}:${port}`])));
}

export async function listen(app: Hono, port: number, bind: string): Promise<Listening> {
  // Loaded here, not at the top: every waiter command loads this module (serve's
  // option checks), only `serve` needs the adapter.
  const { getRequestListener } = await import('@hono/node-server');
  // The listener's promise is not dropped unseen: hono's adapter catches and answers its own errors.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  const server = createServer(getRequestListener(app.fetch));
  // Slow or idle clients must not hold the server open for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new UsageError(`--port ${port}: already in use on ${bind}`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') reject(new UsageError(`--bind ${bind}: not an address of this machine`));
      else if (err.code === 'EACCES') reject(new UsageError(`--port ${port}: permission denied (ports below 1024 need privileges)`));
      else reject(err);
    });
    server.listen(port, bind, () => {
      const a = server.address();
      const actual = a && typeof a === 'object' ? a.port : port;
      const host = isIP(bind) === 6 ? `[${bind}]` : bind;
      resolve({
        url: `http://${host}:${actual}/`,
        port: actual,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
