// GET /metrics (issue 28), in-process (createApp + app.request) on the real test server:
// the text parses line by line as Prometheus's text format says (promtool is not at hand:
// Debian ships it only inside the 96 MB prometheus server package; prom-client has no
// parser), its figures are those of `status --json` and `waiters`, it reads the shared
// answers the page reads, and the API's token rules hold.
import { readFile } from 'node:fs/promises';
import { ObjectId } from 'mongodb';
import { afterEach, expect, test, vi } from 'vitest';
import { createApp } from '../src/serve/app.js';
import { WAITER_METRIC_STATES } from '../src/serve/metrics.js';
import { Kitchen } from '../src/kitchen.js';
import { STATES } from '../src/order.js';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const TOKEN = 'correct-horse-battery';
const opened: Kitchen[] = [];
afterEach(async () => {
  for (const kitchen of opened.splice(0)) await kitchen.close();
});

async function app(o: { token?: string; publicRead?: boolean } = { token: TOKEN }) {
  const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
  opened.push(kitchen);
  const a = createApp({ kitchen, list: 'orders', db: k.name, publicRead: o.publicRead ?? false, log: () => undefined, ...(o.token ? { token: o.token } : {}) });
  return { kitchen, scrape: (token: string | null = TOKEN) => a.request('/metrics', { headers: token === null ? {} : { authorization: `Bearer ${token}` } }) };
}

interface Family {
  help: string;
  type: string;
  samples: { labels: Record<string, string>; value: number }[];
}

/**
 * Prometheus's text format, version 0.0.4 (exposition_formats.md), strictly: every line a
 * `# HELP`, a `# TYPE` (once per name, before its samples) or a sample `name{l="v",…} value`
 * with escaped label values and a float, NaN or ±Inf; no label set twice; a final newline.
 */
function parse(text: string): Map<string, Family> {
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const VALUE = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf`;
  const families = new Map<string, Family>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const help = new RegExp(String.raw`^# HELP (${NAME}) ((?:[^\\\n]|\\[\\n])*)$`).exec(line);
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    const sample = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (${VALUE})$`).exec(line);
    if (help) {
      const f = families.get(help[1]!);
      expect(f?.help, `HELP twice: ${line}`).toBeUndefined();
      families.set(help[1]!, { help: help[2]!, type: f?.type ?? '', samples: f?.samples ?? [] });
    } else if (type) {
      const f = families.get(type[1]!) ?? { help: '', type: '', samples: [] };
      expect(f.type, `TYPE twice: ${line}`).toBe('');
      expect(f.samples, `TYPE after samples: ${line}`).toEqual([]);
      families.set(type[1]!, { ...f, type: type[2]! });
    } else if (sample) {
      const f = families.get(sample[1]!);
      expect(f?.type, `a sample before its TYPE: ${line}`).toBeTruthy();
      const labels: Record<string, string> = {};
      const body = sample[2] ?? '';
      const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      while (pair.lastIndex < body.length) {
        const m = pair.exec(body);
        expect(m, `bad labels: ${line}`).not.toBeNull();
        expect(labels, `label twice: ${line}`).not.toHaveProperty(m![1]!);
        labels[m![1]!] = m![2]!;
      }
      expect(
        f!.samples.map((s) => JSON.stringify(s.labels)),
        `a label set twice: ${line}`,
      ).not.toContain(JSON.stringify(labels));
      f!.samples.push({ labels, value: /Inf$/.test(sample[3]!) ? (sample[3]!.startsWith('-') ? -Infinity : Infinity) : Number(sample[3]) });
    } else {
      expect.fail(`not a line of the text format: ${JSON.stringify(line)}`);
    }
  }
  return families;
}

/** The one sample of a family without labels; undefined when it is left out. */
const one = (m: Map<string, Family>, name: string) => {
  const s = m.get(name)!.samples;
  expect(s.length).toBeLessThanOrEqual(1);
  return s[0]?.value;
};
const byState = (m: Map<string, Family>, name: string) => Object.fromEntries(m.get(name)!.samples.map((s) => [s.labels.state, s.value]));

test('GET /metrics: the text format, per Prometheus conventions (waiter_ gauges, units in names, no _total), every figure that of `status --json` and `waiters`; the scrapes of a moment share one kitchen read', async () => {
  const now = Date.now();
  const at = (ms: number) => new Date(now + ms);
  const ids = Array.from({ length: 3 }, () => new ObjectId());
  await k.db.collection('orders').insertMany([
    { status: 'READY', arguments: ['r1'], attempts: 0, due: at(-60_000) },
    { status: 'READY', arguments: ['r2'], attempts: 0, due: at(-30_000) },
    { status: 'READY', arguments: ['r3'], attempts: 1, due: at(-10_000) },
    { status: 'READY', arguments: ['later'], attempts: 0, due: at(3_600_000) },
    { _id: ids[0], status: 'RUNNING', arguments: ['live1'], attempts: 1, waiter: 'a', start: at(-5000), due: at(60_000), expires: at(60_000), claim: 'c1' },
    { _id: ids[1], status: 'RUNNING', arguments: ['live2'], attempts: 1, waiter: 'c', start: at(-5000), due: at(60_000), expires: at(60_000), claim: 'c2' },
    { _id: ids[2], status: 'RUNNING', arguments: ['stale'], attempts: 1, waiter: 'gone', start: at(-900_000), due: at(-5000), expires: at(-5000), claim: 'c3' },
    // Five finishes of 10 s each, 20-30 s ago: the ETA then rests on the slots (4 ÷ 10 s), not on the clock.
    ...[20, 22, 24, 26].map((s, i) => ({ status: 'DONE', arguments: [`d${i}`], attempts: 1, start: at(-s * 1000 - 10_000), stop: at(-s * 1000) })),
    { status: 'ERROR', arguments: ['e'], attempts: 1, start: at(-40_000), stop: at(-30_000), exitCode: 1 },
    { status: 'WAITING', arguments: ['w'], attempts: 0, after: [ids[0]], wait: 1 },
    { status: 'CANCELLED', arguments: ['x'], attempts: 0, cancelled: { by: 'me', at: at(-1000) } },
  ]);
  const base = { host: 'box', pid: 1, command: ['./crunch.sh'], concurrency: 1, lease: 60_000, heartbeat: 10_000, delivered: 0, failed: 0, started: at(-600_000) };
  const live = { seen: at(-1000), expires: at(59_000) };
  await k.db.collection('orders.waiters').insertMany([
    { _id: 'wa' as never, ...base, ...live, name: 'a', running: [ids[0]!.toHexString()] },
    { _id: 'wb' as never, ...base, ...live, name: 'b', running: [] },
    { _id: 'wc' as never, ...base, ...live, name: 'c', running: [ids[1]!.toHexString()], stop: { by: 'me', at: at(-2000), now: false } },
    { _id: 'wd' as never, ...base, ...live, name: 'd', running: [], paused: { by: 'me', at: at(-2000) } },
    { _id: 'we' as never, ...base, name: 'gone', running: [ids[2]!.toHexString()], seen: at(-120_000), expires: at(-60_000) },
    { _id: 'wf' as never, ...base, name: 'f', running: [], seen: at(-60_000), expires: at(0), ended: at(-60_000), reason: 'empty list' },
  ]);

  const { kitchen, scrape } = await app();
  const counts = vi.spyOn(kitchen, 'counts');
  const started = Date.now();
  const answers = await Promise.all([scrape(), scrape(), scrape()]);
  expect(counts).toHaveBeenCalledTimes(1); // one status read for the three scrapes (the page's cache)
  const cli = JSON.parse((await waiter(k, ['status', '--json'])).stdout);
  const elapsed = (Date.now() - started) / 1000;
  const ws = (await waiter(k, ['waiters', '--json'])).stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

  const r = answers[0];
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await r.text();
  for (const other of answers.slice(1)) expect(await other.text()).toBe(text);
  const m = parse(text);
  for (const [name, f] of m) {
    expect(name).toMatch(/^waiter_[a-z0-9_]+$/);
    expect(f.type).toBe('gauge'); // computed per scrape from the kitchen: nothing here only grows
    expect(name).not.toMatch(/_total$|_count$|_sum$|_bucket$/);
    expect(f.help.length).toBeGreaterThan(10);
  }

  expect(byState(m, 'waiter_orders')).toEqual(Object.fromEntries(STATES.map((s) => [s, cli[s]])));
  expect(byState(m, 'waiter_orders')).toEqual({ READY: 4, RUNNING: 3, DONE: 4, ERROR: 1, WAITING: 1, CANCELLED: 1 });
  expect(one(m, 'waiter_orders_stale')).toBe(cli.stale);
  expect(one(m, 'waiter_orders_not_yet_due')).toBe(cli.notYetDue);
  expect(one(m, 'waiter_slots')).toBe(cli.slots);
  expect(one(m, 'waiter_pace_1m_orders_per_second')).toBe(cli.pace1m / 60);
  expect(one(m, 'waiter_pace_10m_orders_per_second')).toBe(cli.pace10m / 60);
  expect(one(m, 'waiter_eta_seconds')).toBe(cli.etaSeconds);
  expect(one(m, 'waiter_backlog_orders')).toBe(cli.backlog);
  expect(one(m, 'waiter_backlog_per_waiter')).toBe(cli.backlogPerWaiter);
  expect(one(m, 'waiter_paused')).toBe(0);
  expect(one(m, 'waiter_status_age_seconds')).toBe(0); // fetched for this scrape
  // The list's known figures, so that equal is not equally wrong.
  expect(cli).toMatchObject({ stale: 1, notYetDue: 1, slots: 4, waiters: 4, pace1m: 5, pace10m: 0.5, backlog: 4, backlogPerWaiter: 1, etaSeconds: 18 });
  // Read a moment before the CLI's status: younger by at most the time between the two.
  const oldest = one(m, 'waiter_oldest_ready_age_seconds')!;
  expect(cli.oldestReadySeconds).toBeGreaterThanOrEqual(60);
  expect(oldest).toBeLessThanOrEqual(cli.oldestReadySeconds);
  expect(oldest).toBeGreaterThanOrEqual(cli.oldestReadySeconds - elapsed);

  // Waiters per state as `waiters` shows them; the exited one is not counted.
  expect(byState(m, 'waiter_waiters')).toEqual({ PROCESSING: 1, IDLE: 1, STOPPING: 1, PAUSED: 1, STALE: 1 });
  expect(Object.keys(byState(m, 'waiter_waiters'))).toEqual([...WAITER_METRIC_STATES]);
  expect(ws.map((w) => [w.name, w.state])).toEqual([
    ['a', 'PROCESSING'],
    ['b', 'IDLE'],
    ['c', 'PROCESSING'],
    ['d', 'IDLE'],
    ['gone', 'STALE'],
    ['f', 'EXITED'],
  ]);

  // docs/api.md names every metric.
  const doc = await readFile(new URL('../docs/api.md', import.meta.url), 'utf8');
  for (const name of m.keys()) expect(doc, name).toContain(`\`${name}`);
});

test('GET /metrics on an empty list: every family present, zero counts, no ETA, oldest age or backlog per waiter sample (status says null; never NaN); the token rules of the API', async () => {
  const { scrape } = await app();
  const r = await scrape();
  expect(r.status).toBe(200);
  const m = parse(await r.text());
  expect(byState(m, 'waiter_orders')).toEqual(Object.fromEntries(STATES.map((s) => [s, 0])));
  for (const name of ['waiter_eta_seconds', 'waiter_oldest_ready_age_seconds', 'waiter_backlog_per_waiter']) {
    expect(m.get(name)).toMatchObject({ type: 'gauge', samples: [] });
  }
  expect(one(m, 'waiter_backlog_orders')).toBe(0);

  // No token or a wrong one: 401 with the API's challenge, no figures.
  for (const token of [null, 'wrong-token-123']) {
    const refused = await scrape(token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="waiter"');
    expect(await refused.json()).toEqual({ error: 'missing or wrong token: send Authorization: Bearer <token>' });
  }
  // --public-read opens reads, and a scrape is one; no token at all (loopback) opens everything.
  expect((await (await app({ token: TOKEN, publicRead: true })).scrape(null)).status).toBe(200);
  expect((await (await app({})).scrape(null)).status).toBe(200);
  // Unknown parameters are refused as on every route.
  const { kitchen } = await app();
  const bad = await createApp({ kitchen, list: 'orders', db: k.name, publicRead: false, log: () => undefined }).request('/metrics?name=x');
  expect(bad.status).toBe(400);
});
