// `waiter serve` beyond loopback and DNS rebinding: a web page on another site that
// rebinds its own name to this server's address sends its own name as Host (and
// Origin). Tests reach only 127.0.0.1: a server bound to 0.0.0.0 ("beyond loopback"
// for the rule, which looks at the bind address) is reached through 127.0.0.1 with the
// Host header a browser would send.
import { request } from 'node:http';
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';

const k = useDb();
const orders = () => k.db.collection('orders');
const TOKEN = 'correct-horse-battery';

/** One raw HTTP request to 127.0.0.1:port with the Host (and other headers) given. */
function raw(port: string, path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers ?? {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

function refused(r: { status: number; body: any }, status: number, message: RegExp) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(Object.keys(r.body)).toEqual(['error']);
  expect(r.body.error).toMatch(message);
}

describe('beyond loopback with --public-read', () => {
  test('--public-read on 0.0.0.0 (or ::) without --host-name is refused at start: exit 2, one line naming the risk', async () => {
    for (const bind of ['0.0.0.0', '::']) {
      // Before the fix it served (forever): the timeout turns that into a failure, not a hang.
      const r = await waiter(k, ['serve', '--port', '0', '--bind', bind, '--public-read'], { env: { WAITER_TOKEN: TOKEN }, timeout: 20_000 });
      expect(r.exitCode, `${bind}: ${r.stdout}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^waiter: --public-read on --bind ${bind.replace(/\./g, '\\.')}: .*DNS rebinding.*--host-name`));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  test('--public-read on other spellings of every address (0, 0x0, 00.0.0.0, ::ffff:0.0.0.0) is refused too: exit 2, one line', async () => {
    await Promise.all(
      ['0', '0x0', '00.0.0.0', '::ffff:0.0.0.0'].map(async (bind) => {
        const r = await waiter(k, ['serve', '--port', '0', '--bind', bind, '--public-read'], { env: { WAITER_TOKEN: TOKEN }, timeout: 20_000 });
        expect(r.exitCode, `${bind}: ${r.stdout}`).toBe(2);
        expect(r.stderr).toMatch(/^waiter: --public-read on --bind .*: .*DNS rebinding.*--host-name/);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }),
    );
  });

  test('a foreign Host gets 421 on every route, reads included; the names given (and loopback names) with the port are served', async () => {
    await orders().insertOne({ status: 'READY', arguments: ['secret-arg'], attempts: 0 });
    const s = await serve(k, ['--bind', '0.0.0.0', '--public-read', '--host-name', 'waiter.test,Build-Box.corp.test', '--host-name', 'proxy.test:443'], { WAITER_TOKEN: TOKEN });
    const port = new URL(s.url).port;
    // The URL printed is one a browser can use, with a name it answers.
    expect(s.url).toBe(`http://waiter.test:${port}/`);
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `waiter.test.evil.example:${port}`,
      `waiter.test:${Number(port) + 1}`,
      'waiter.test',
      `0.0.0.0:${port}`,
      'proxy.test:8443',
    ]) {
      for (const path of ['/api/info', '/api/orders', '/api/status', '/']) {
        const r = await raw(port, path, { headers: { host } });
        refused(r, 421, /^Host ".*" is not this server's: use the URL waiter serve printed$/);
        expect(JSON.stringify(r.body)).not.toContain('secret-arg');
      }
    }
    for (const host of [`waiter.test:${port}`, `WAITER.test:${port}`, `build-box.corp.test:${port}`, 'proxy.test:443', 'proxy.test', `127.0.0.1:${port}`, `localhost:${port}`]) {
      const r = await raw(port, '/api/orders', { headers: { host } });
      expect(r.status, host).toBe(200);
      expect(r.body.orders[0].arguments).toEqual(['secret-arg']);
    }
  });

  test('a write with the right Host but a foreign Origin gets 403 and writes nothing; same-origin and Origin-less writes go through', async () => {
    const s = await serve(k, ['--bind', '0.0.0.0', '--public-read', '--host-name', 'waiter.test'], { WAITER_TOKEN: TOKEN });
    const port = new URL(s.url).port;
    const post = (origin?: string) =>
      raw(port, '/api/orders', {
        method: 'POST',
        headers: { host: `waiter.test:${port}`, 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...(origin ? { origin } : {}) },
        body: '{"arguments": ["x"]}',
      });
    for (const origin of ['https://evil.example', `http://evil.example:${port}`, `http://waiter.test:${Number(port) + 1}`, 'null']) {
      refused(await post(origin), 403, /^Origin ".*" is not this server's/);
    }
    expect(await orders().countDocuments()).toBe(0);
    expect((await post(`http://waiter.test:${port}`)).status).toBe(201);
    expect((await post()).status).toBe(201); // curl sends no Origin
    expect(await orders().countDocuments()).toBe(2);
    // Reads do not look at Origin (a page's <img> or fetch of another site carries none that matters).
    expect((await raw(port, '/api/info', { headers: { host: `waiter.test:${port}`, origin: 'https://evil.example' } })).status).toBe(200);
  });

  test('bad --host-name values: exit 2, one line', async () => {
    for (const bad of ['', 'http://waiter.test', 'waiter.test/x', 'a b', 'waiter.test:99999']) {
      const r = await waiter(k, ['serve', '--port', '0', '--host-name', bad], { timeout: 20_000 });
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr).toMatch(/^waiter: --host-name: /);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

test('on every address without names the URL printed is one the server answers (not 0.0.0.0, ::, or 0)', async () => {
  for (const bind of ['0.0.0.0', '0']) {
    const s = await serve(k, ['--bind', bind], { WAITER_TOKEN: TOKEN });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await s.call('/api/status', { token: TOKEN })).status, bind).toBe(200);
    s.proc.kill('SIGTERM');
    await s.proc;
  }
  // With --public-read, the Host check is on: a one-name bind spelled 0 answers as every address does.
  const s = await serve(k, ['--bind', '0', '--public-read', '--host-name', 'waiter.test'], { WAITER_TOKEN: TOKEN });
  const port = new URL(s.url).port;
  expect(s.url).toBe(`http://waiter.test:${port}/`);
  expect((await raw(port, '/api/status', { headers: { host: `0:${port}` } })).status).toBe(421);
  expect((await raw(port, '/api/status', { headers: { host: `127.0.0.1:${port}` } })).status).toBe(200);
});

test('on loopback too, a write whose Origin is another site gets 403 (no Origin, or its own, goes through)', async () => {
  const s = await serve(k);
  const port = new URL(s.url).port;
  const post = (origin?: string) =>
    raw(port, '/api/orders', {
      method: 'POST',
      headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', ...(origin ? { origin } : {}) },
      body: '{"arguments": ["x"]}',
    });
  refused(await post('https://waiter.corp.example'), 403, /^Origin ".*" is not this server's/);
  expect(await orders().countDocuments()).toBe(0);
  expect((await post(`http://127.0.0.1:${port}`)).status).toBe(201);
  expect((await post(`http://localhost:${port}`)).status).toBe(201);
  expect((await post()).status).toBe(201);
});

test('on loopback the Host check stays as it was, and a --host-name (a reverse proxy on this machine) is answered too', async () => {
  const s = await serve(k, ['--host-name', 'waiter.test']);
  const port = new URL(s.url).port;
  expect(s.url).toBe(`http://127.0.0.1:${port}/`);
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `waiter.test:${port}`])
    expect((await raw(port, '/api/status', { headers: { host } })).status, host).toBe(200);
  for (const host of ['evil.example', `evil.example:${port}`, 'waiter.test']) refused(await raw(port, '/api/status', { headers: { host } }), 421, /^Host/);
});
