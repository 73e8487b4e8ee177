// `waiter serve --port 0` as a real process: resolves once it prints its URL.
import type { ResultPromise } from 'execa';
import { afterEach } from 'vitest';
import type { WaiterDoc } from '../../src/fleet.js';
import { until, waiter, type Where } from './cli.js';

export interface Served {
  url: string;
  proc: ResultPromise<{ reject: false }>;
  stdout(): string;
  stderr(): string;
  /** fetch() relative to the server, JSON body parsed (or null). */
  call(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<{ status: number; body: any; headers: Headers; text: string }>;
}

const running: ResultPromise[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

export async function serve(k: Where, args: string[] = [], env: Record<string, string> = {}): Promise<Served> {
  const proc = waiter(k, ['serve', '--port', '0', ...args], { env });
  running.push(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  let exited = false;
  void proc.then(() => (exited = true));
  const url = await until(
    () => {
      if (exited) throw new Error(`waiter serve exited: ${err}`);
      return /(http:\/\/\S+\/)/.exec(out)?.[1];
    },
    20_000,
    'waiter serve to print its URL',
  );
  return {
    url,
    proc,
    stdout: () => out,
    stderr: () => err,
    async call(path, init = {}) {
      const { token, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token) headers.set('authorization', `Bearer ${token}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      const res = await fetch(new URL(path, url), { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
      const text = await res.text();
      let body: any = null;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (the page)
      }
      return { status: res.status, body, headers: res.headers, text };
    },
  };
}

/**
 * A live waiter's registry entry for the server to show, last written at `now` (ms) with a
 * lease of an hour; no process behind it (a stop is a write it would read at its next heartbeat).
 */
export function liveWaiter(now: number, doc: Pick<WaiterDoc, '_id' | 'name' | 'host'> & Partial<WaiterDoc>): WaiterDoc {
  return {
    pid: 1,
    command: ['x'],
    concurrency: 1,
    lease: 3_600_000,
    heartbeat: 10_000,
    started: new Date(now - 60_000),
    seen: new Date(now),
    expires: new Date(now + 3_600_000),
    running: [],
    delivered: 0,
    failed: 0,
    ...doc,
  };
}
