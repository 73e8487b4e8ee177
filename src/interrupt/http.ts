// One request to a cloud's metadata service (plain http on a link-local address). It
// never keeps the process alive (its socket is unref'd, no pooled agent), never waits
// longer than its timeout, and reads at most MAX_BODY bytes: the watcher beside the
// waiter must cost nothing and hold nothing up.
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

const MAX_BODY = 64 * 1024;

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Ask {
  method?: 'GET' | 'PUT';
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Aborts the request (the watcher stopped). */
  signal?: AbortSignal;
}

/** The answer, or a rejection: refused, unreachable, no answer within timeoutMs, too long a body. */
export function ask(url: URL, o: Ask): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers ?? {}, agent: false, ...(o.signal ? { signal: o.signal } : {}) });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${o.timeoutMs / 1000} s`)), o.timeoutMs);
    timer.unref();
    const done = () => clearTimeout(timer);
    req.on('socket', (s) => s.unref());
    req.on('error', (err) => {
      done();
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error(`an answer over ${MAX_BODY} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        done();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        done();
        reject(err);
      });
    });
    req.end();
  });
}

/** `path` under the endpoint, keeping a path the endpoint has (a stand-in may serve under one). */
export function under(endpoint: URL, path: string): URL {
  const base = endpoint.href.endsWith('/') ? endpoint.href : `${endpoint.href}/`;
  return new URL(path, base);
}
