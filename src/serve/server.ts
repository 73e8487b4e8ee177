// Listening: node:http with Hono's request listener, so start-up errors (port in use,
// address not on this machine) become one-line usage errors and stopping is ours.
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import type { Hono } from 'hono';
import { UsageError } from '../errors.js';
import { withDeadline, type Deadline } from './deadline.js';

/** --request-timeout's default: how long a request's body may take after its headers. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** How long a request's headers may take (or the request timeout, when shorter). */
const HEADERS_TIMEOUT_MS = 10_000;

export interface Listening {
  /** http://host:port/ — the server's own address, nothing about the kitchen. */
  url: string;
  /** The port listened on (the one picked, with --port 0). */
  port: number;
  /** The address listened on, as the system reads --bind (0 and 0x0 are 0.0.0.0). */
  address: string;
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

export async function listen(app: Hono, port: number, bind: string, d: Deadline): Promise<Listening> {
  // Loaded here, not at the top: every waiter command loads this module (serve's
  // option checks), only `serve` needs the adapter.
  const { getRequestListener } = await import('@hono/node-server');
  // Slow or idle clients must not hold the server open for long: headers within
  // headersTimeout (Node's check, every connectionsCheckingInterval), then the body
  // within the deadline (deadline.ts, a timer per request). Node's requestTimeout is a
  // backstop that fires after ours, never first.
  const headersTimeout = Math.min(HEADERS_TIMEOUT_MS, d.timeoutMs);
  const connectionsCheckingInterval = Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4)));
  const server = createServer(
    { headersTimeout, requestTimeout: headersTimeout + d.timeoutMs + 2 * connectionsCheckingInterval, connectionsCheckingInterval },
    // The listener's promise is not dropped unseen: hono's adapter catches and answers its own errors.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    withDeadline(getRequestListener(app.fetch), d),
  );
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
      const address = a && typeof a === 'object' ? a.address : bind;
      const host = isIP(bind) === 6 ? `[${bind}]` : bind;
      resolve({
        url: `http://${host}:${actual}/`,
        port: actual,
        address,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
