// GET /metrics (issue 28), in-process (createApp + app.request) on the real test server:
// the text parses line by line as Prometheus's text format says (promtool is not at hand:
// Debian ships it only inside the 96 MB prometheus server package; prom-client has no
// parser), its figures are those of `status --json` and `waiters` (their use cases,
// src/app/, called here: no CLI process), it reads the shared answers the page reads,
// and the API's token rules hold.
import { readFile } from 'node:fs/promises';
import { MongoError, ObjectId } from 'mongodb';
import { afterEach, expect, test, vi } from 'vitest';
import { costReport } from '../src/app/cost.js';
import { status, type StatusReport } from '../src/app/status.js';
import { waitersReport } from '../src/app/waiters.js';
import { createApp } from '../src/serve/app.js';
import { keptUnlessFailed } from '../src/serve/cache.js';
import { WAITER_METRIC_STATES, metricsRegistry } from '../src/serve/metrics.js';
import { Kitchen } from '../src/kitchen.js';
import { STATES } from '../src/order.js';
import { idAt, useDb } from './support/kitchen.js';

const k = useDb();
const TOKEN = 'correct-horse-battery';
const opened: Kitchen[] = [];
afterEach(async () => {
  for (const kitchen of opened.splice(0)) await kitchen.close();
});

async function app(o: { token?: string; publicRead?: boolean; log?: (line: string) => void } = { token: TOKEN }) {
  const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
  opened.push(kitchen);
  const a = createApp({ kitchen, list: 'orders', db: k.name, publicRead: o.publicRead ?? false, log: o.log ?? (() => undefined), ...(o.token ? { token: o.token } : {}) });
  const auth = (token: string | null): Record<string, string> => (token === null ? {} : { authorization: `Bearer ${token}` });
  return {
    kitchen,
    scrape: (token: string | null = TOKEN) => a.request('/metrics', { headers: auth(token) }),
    post: (path: string) => a.request(path, { method: 'POST', headers: { ...auth(TOKEN), 'content-type': 'application/json' }, body: '{}' }),
  };
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
    // Written two minutes ago, claimable again (a retry) one minute ago: it has waited 60 s.
    { _id: idAt(now - 120_000), status: 'READY', arguments: ['r1'], attempts: 1, due: at(-60_000) },
    { status: 'READY', arguments: ['r2'], attempts: 0, due: at(-30_000) },
    { status: 'READY', arguments: ['r3'], attempts: 1, due: at(-10_000) },
    { status: 'READY', arguments: ['later'], attempts: 0, due: at(3_600_000) },
    { _id: ids[0], status: 'RUNNING', arguments: ['live1'], attempts: 1, waiter: 'a', start: at(-5000), due: at(60_000), expires: at(60_000), claim: 'c1' },
    { _id: ids[1], status: 'RUNNING', arguments: ['live2'], attempts: 1, waiter: 'c', start: at(-5000), due: at(60_000), expires: at(60_000), claim: 'c2' },
    { _id: ids[2], status: 'RUNNING', arguments: ['stale'], attempts: 1, waiter: 'gone', start: at(-900_000), due: at(-5000), expires: at(-5000), claim: 'c3' },
    // Five finishes of 10 s each, 20-30 s ago: the ETA then rests on the slots (4 ÷ 10 s), not on the clock.
    // What they used (src/kitchen/cost.ts): 1.5 + 3 + 4.5 + 6 s of CPU, one with a retry before.
    ...[20, 22, 24, 26].map((s, i) => ({
      status: 'DONE',
      arguments: [`d${i}`],
      attempts: 1,
      start: at(-s * 1000 - 10_000),
      stop: at(-s * 1000),
      spent: { cpuMs: 1500 * (i + 1), wallMs: 10_000, attempts: i === 3 ? 2 : 1 },
    })),
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
  await kitchen.fleet.ensureFleetIndexes(); // as deliver and serve do at start: the spent index
  const counts = vi.spyOn(kitchen, 'counts');
  const oldestRead = vi.spyOn(kitchen, 'oldestReady');
  const answers = await Promise.all([scrape(), scrape(), scrape()]);
  const elapsed = (Date.now() - now) / 1000;
  expect(counts).toHaveBeenCalledTimes(1); // one status read for the three scrapes (the page's cache)
  expect(oldestRead).toHaveBeenCalledTimes(1);
  const cli = await status(kitchen, { oldest: true });
  const cost = await costReport(kitchen);
  const ws = await waitersReport(kitchen, { all: false });

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
  expect(byState(m, 'waiter_orders')).toEqual({ READY: 4, RUNNING: 3, DONE: 4, ERROR: 1, WAITING: 1, CANCELLED: 1, HELD: 0 });
  expect(one(m, 'waiter_orders_stale')).toBe(cli.stale);
  expect(one(m, 'waiter_orders_not_yet_due')).toBe(cli.notYetDue);
  expect(one(m, 'waiter_slots')).toBe(cli.slots);
  expect(one(m, 'waiter_pace_1m_orders_per_second')).toBe(cli.pace1m / 60);
  expect(one(m, 'waiter_pace_10m_orders_per_second')).toBe(cli.pace10m / 60);
  expect(one(m, 'waiter_eta_seconds')).toBe(cli.etaSeconds);
  expect(one(m, 'waiter_backlog_orders')).toBe(cli.backlog);
  expect(one(m, 'waiter_backlog_per_waiter')).toBe(cli.backlogPerWaiter);
  expect(one(m, 'waiter_paused')).toBe(0);
  expect(one(m, 'waiter_orders_cpu_seconds')).toBe(cost.cpuSeconds);
  expect(cost).toMatchObject({ cpuSeconds: 15, cpuOrders: 4, cpuAttempts: 5 });
  expect(one(m, 'waiter_status_age_seconds')).toBe(0); // fetched for this scrape
  // The list's known figures, so that equal is not equally wrong. Backlog per waiter: 4
  // over the 3 live waiters that claim (the one asked to stop does not; the paused one does).
  expect(cli).toMatchObject({ stale: 1, notYetDue: 1, slots: 4, waiters: 4, pace1m: 5, pace10m: 0.5, backlog: 4, backlogPerWaiter: 1.33, etaSeconds: 18 });
  expect(cli.oldestReadySince).toBe(at(-60_000).toISOString());
  // r1 became claimable 60 s before `now`; the scrapes ended `elapsed` after it.
  const oldest = one(m, 'waiter_oldest_ready_age_seconds')!;
  expect(oldest).toBeGreaterThanOrEqual(60);
  expect(oldest).toBeLessThan(60 + elapsed + 1);

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

test('GET /metrics on an empty list: every family present, zero counts, no ETA, oldest age or CPU sample (status says null; never NaN), a backlog per waiter of 0; the token rules of the API', async () => {
  const { scrape } = await app();
  const r = await scrape();
  expect(r.status).toBe(200);
  const m = parse(await r.text());
  expect(byState(m, 'waiter_orders')).toEqual(Object.fromEntries(STATES.map((s) => [s, 0])));
  // No CPU figure before a waiter of this version made the spent index: absent, as status --json's null.
  for (const name of ['waiter_eta_seconds', 'waiter_oldest_ready_age_seconds', 'waiter_orders_cpu_seconds']) {
    expect(m.get(name)).toMatchObject({ type: 'gauge', samples: [] });
  }
  expect(one(m, 'waiter_backlog_orders')).toBe(0);
  expect(one(m, 'waiter_backlog_per_waiter')).toBe(0); // nothing to claim: no waiter is needed

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

test('GET /metrics with work and no waiter: backlog per waiter +Inf (a scaler starts one: scale from zero); after a pause through the API, waiter_paused 1', async () => {
  await k.db.collection('orders').insertOne({ status: 'READY', arguments: ['a'], attempts: 0, due: new Date() });
  const { scrape, post } = await app();
  const before = parse(await (await scrape()).text());
  expect(one(before, 'waiter_backlog_orders')).toBe(1);
  expect(one(before, 'waiter_backlog_per_waiter')).toBe(Infinity); // written +Inf, as the text format allows
  expect(one(before, 'waiter_paused')).toBe(0);
  expect((await post('/api/pause')).status).toBe(200);
  expect(one(parse(await (await scrape()).text()), 'waiter_paused')).toBe(1);
});

test('GET /metrics when the kitchen fails: 503 with the reason, logged (Prometheus marks the scrape failed), never figures', async () => {
  const logged: string[] = [];
  const { kitchen, scrape } = await app({ token: TOKEN, log: (l) => logged.push(l) });
  vi.spyOn(kitchen, 'counts').mockRejectedValue(new MongoError('connection refused'));
  const r = await scrape();
  expect(r.status).toBe(503);
  expect((await r.json()).error).toMatch(/^status failed at .*: connection refused$/);
  expect(logged).toEqual([expect.stringMatching(/^waiter serve: GET \/metrics: status failed at .*connection refused$/)]);
});

test('an older cached answer: the oldest READY age counts to the scrape, not to when the kitchen answered; the figures age from the oldest answer they use', async () => {
  const now = Date.parse('2026-01-01T12:00:00.000Z');
  const zero = Object.fromEntries(STATES.map((s) => [s, 0]));
  const report = { ...zero, total: 0, stale: 0, notYetDue: 0, slots: 0, pace1m: 0, pace10m: 0, etaSeconds: null, backlog: 0, backlogPerWaiter: null } as unknown as StatusReport;
  // The kitchen answered 30 s ago that the oldest READY order was claimable since 90 s ago.
  const registry = await metricsRegistry(async () => ({
    status: report,
    waiters: [],
    oldestReadySince: new Date(now - 90_000).toISOString(),
    cpuSeconds: null,
    at: now - 30_000,
    now,
  }));
  const m = parse(await registry.metrics());
  expect(one(m, 'waiter_oldest_ready_age_seconds')).toBe(90);
  expect(one(m, 'waiter_status_age_seconds')).toBe(30);
});

test('the registry is kept once made, but not a failure: a failed import of prom-client is tried again at the next scrape', async () => {
  const make = vi.fn<() => Promise<string>>().mockRejectedValueOnce(new Error('cannot find module')).mockResolvedValue('registry');
  const registry = keptUnlessFailed(make);
  await expect(registry()).rejects.toThrow('cannot find module');
  expect(await registry()).toBe('registry');
  expect(await registry()).toBe('registry');
  expect(make).toHaveBeenCalledTimes(2);
});
