// Request bodies have a deadline: a client that sends its body slowly, or stops half
// way, is cut once it is out, so 500 such clients cannot hold 500 connections (and
// their buffers) open. Node's own requestTimeout is checked only every
// connectionsCheckingInterval (30 s by default) and counts from the request's first
// byte; this timer runs per request, from its headers, to the millisecond.
// Each cut or abandoned upload is one log line: no stack, it is not a bug of ours.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

export interface Deadline {
  /** How long a body may take to arrive after its headers. */
  timeoutMs: number;
  /** The same as the user wrote it (--request-timeout), for the log. */
  timeoutText: string;
  log: (line: string) => void;
}

/** `listener`, with every request whose body has not all arrived yet watched. */
export function withDeadline(listener: RequestListener, d: Deadline): RequestListener {
  return (req, res) => {
    if (!req.complete) watch(req, res, d);
    return listener(req, res);
  };
}

function watch(req: IncomingMessage, res: ServerResponse, d: Deadline): void {
  const what = `waiter serve: ${req.method} ${shown(req.url)}`;
  let cut = false;
  const timer = setTimeout(() => {
    if (req.complete) return; // all arrived, only not read yet: not the client's fault
    cut = true;
    // Answered already (a 401 before its body came): nobody waits for that body; the
    // connection goes, without a line about a body the answer did not need.
    if (res.writableFinished) return void req.socket.destroy();
    d.log(`${what}: the request's body did not arrive within ${d.timeoutText}: connection closed`);
    const socket = req.socket;
    // As Node answers its own request timeout: 408, when no answer has begun.
    if (!res.headersSent && socket.writable) socket.write('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    socket.destroy();
  }, d.timeoutMs);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => {
    clearTimeout(timer);
    // Gone while we still waited for its body (not after its answer: nobody waits then).
    if (!req.complete && !cut && !res.writableFinished) d.log(`${what}: the client closed the connection before its body arrived`);
  });
}

/**
 * True when the request's body can no longer arrive (the client went, or the deadline
 * cut it): withDeadline has logged it; the app answers without logging again. `env`
 * is @hono/node-server's (c.env: {incoming, outgoing}).
 */
export function bodyLost(env: unknown): boolean {
  const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming !== undefined && !incoming.complete && incoming.destroyed;
}

/** Who sent the request, as steering records it ("api 10.0.0.7"): the socket's address (no proxy header: a client could write any). */
export function clientOf(env: unknown): string {
  const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return `api ${incoming?.socket?.remoteAddress ?? 'unknown'}`;
}

/** The path for a log line: no query, printable ASCII only, not too long. */
function shown(url: string | undefined): string {
  const path = (url ?? '').split('?')[0]!.slice(0, 200);
  return path.replace(/[^\x21-\x7e]/g, '?');
}
