// `waiter serve` and clients that send a request slowly or not at all: real sockets on
// 127.0.0.1 (node:net), a short --request-timeout so the test needs no long waits.
// The margins are generous (a loaded machine); the deadline is what is tested, not speed.
import { connect, type Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import { until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve, type Served } from './support/serve.js';

const k = useDb();
const DEADLINE_MS = 2000;
const MARGIN_MS = 8000;

interface Client {
  socket: Socket;
  /** Resolves when the server closes the connection: ms since connect, and what it answered. */
  closed: Promise<{ ms: number; answer: string }>;
}

/** Headers of a POST /api/orders announcing `length` bytes, then `first` of its body. */
function upload(port: string, first: string, length = 1000): Promise<Client> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let answer = '';
    const socket = connect(Number(port), '127.0.0.1');
    const closed = new Promise<{ ms: number; answer: string }>((done) => socket.on('close', () => done({ ms: Date.now() - t0, answer })));
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', () => undefined); // a reset is a close too
    socket.once('connect', () => {
      socket.write(`POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${first}`);
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

const lines = (s: Served) => s.stderr().split('\n').filter(Boolean);

async function serveWithDeadline(): Promise<{ s: Served; port: string }> {
  const s = await serve(k, ['--request-timeout', `${DEADLINE_MS / 1000}s`]);
  return { s, port: new URL(s.url).port };
}

describe('a request body that does not arrive in time is cut', () => {
  test('a body sent a byte at a time (never finishing in time): the socket is closed with 408 within the deadline, one log line', async () => {
    const { s, port } = await serveWithDeadline();
    const c = await upload(port, '{"arguments":');
    const drip = setInterval(() => c.socket.writable && c.socket.write(' '), 100);
    try {
      const { ms, answer } = await Promise.race([c.closed, new Promise<never>((_, no) => setTimeout(() => no(new Error('still open')), DEADLINE_MS + MARGIN_MS))]);
      expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 100);
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
    await until(() => lines(s).length > 0, 10_000, 'the log line');
    expect((await s.call('/api/status')).status).toBe(200); // still serving; and a point after which any stack would have shown
    expect(lines(s)).toEqual([expect.stringMatching(/^waiter serve: POST \/api\/orders: the request's body did not arrive within 2s: connection closed$/)]);
    expect(await k.db.collection('orders').countDocuments()).toBe(0);
  });

  test('50 stalled uploads at once: every socket is closed within the deadline', async () => {
    const { s, port } = await serveWithDeadline();
    const clients = await Promise.all(Array.from({ length: 50 }, () => upload(port, '{"argu')));
    const all = Promise.all(clients.map((c) => c.closed));
    const results = await Promise.race([all, new Promise<never>((_, no) => setTimeout(() => no(new Error('some still open')), DEADLINE_MS + MARGIN_MS))]);
    expect(results).toHaveLength(50);
    await until(() => lines(s).length >= 50, 10_000, 'the log lines');
    expect(lines(s)).toHaveLength(50);
    expect(s.stderr()).not.toMatch(/^\s+at /m);
  });

  test('headers that never end: the socket is closed within the deadline too', async () => {
    const { port } = await serveWithDeadline();
    const t0 = Date.now();
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => (answer += d.toString())); // read, or 'close' never comes
    socket.once('connect', () => socket.write(`GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `));
    await Promise.race([new Promise((done) => socket.on('close', done)), new Promise<never>((_, no) => setTimeout(() => no(new Error('still open')), DEADLINE_MS + MARGIN_MS))]);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - t0).toBeLessThan(DEADLINE_MS + MARGIN_MS);
  });
});

test('an upload the client abandons is one log line, no stack; the server goes on', async () => {
  const s = await serve(k);
  const port = new URL(s.url).port;
  const c = await upload(port, '{"arguments": ["x"');
  // Let the server start reading the body, then hang up.
  await new Promise((r) => setTimeout(r, 300));
  c.socket.destroy();
  await until(() => lines(s).length > 0, 10_000, 'the log line');
  expect((await s.call('/api/status')).status).toBe(200);
  expect(lines(s)).toEqual([expect.stringMatching(/^waiter serve: POST \/api\/orders: the client closed the connection before its body arrived$/)]);
  expect(await k.db.collection('orders').countDocuments()).toBe(0);
});

test('a request already answered (401) whose body never comes: the connection is closed at the deadline, with no log line about its body', async () => {
  const s = await serve(k, ['--request-timeout', `${DEADLINE_MS / 1000}s`], { WAITER_TOKEN: 'correct-horse-battery' });
  const port = new URL(s.url).port;
  const c = await upload(port, '{"arguments":'); // no Authorization: answered 401 at once
  const { answer } = await Promise.race([c.closed, new Promise<never>((_, no) => setTimeout(() => no(new Error('still open')), DEADLINE_MS + MARGIN_MS))]);
  expect(answer).toMatch(/^HTTP\/1\.1 401 /);
  // The same answered, the client gone before the deadline (the log said its body "did not arrive").
  const gone = await upload(port, '{"arguments":');
  await until(() => gone.socket.bytesRead > 0, 10_000, 'the 401');
  gone.socket.destroy();
  await new Promise((r) => setTimeout(r, DEADLINE_MS + 1000));
  expect((await s.call('/api/info', { token: 'correct-horse-battery' })).status).toBe(200);
  expect(lines(s)).toEqual([]);
});

test('--request-timeout in fractions of a millisecond is rounded up, not a crash', async () => {
  const s = await serve(k, ['--request-timeout', '2000.5ms']);
  expect((await s.call('/api/status')).status).toBe(200);
  expect(s.stderr()).toBe('');
});

test('--request-timeout: a bad value is exit 2, one line', async () => {
  // 30d: more than a timer can wait (2^31-1 ms, ~24.8 days), which would cut every upload after 1 ms.
  for (const bad of ['0', 'soon', '-1s', '30d', '2147483.648']) {
    const r = await waiter(k, ['serve', '--port', '0', `--request-timeout=${bad}`], { timeout: 20_000 });
    expect(r.exitCode, bad).toBe(2);
    expect(r.stderr).toMatch(/^waiter: --request-timeout: /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }
});
