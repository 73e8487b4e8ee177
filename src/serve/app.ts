// The HTTP API and the page, as a Hono app. Every figure comes from the same kitchen
// and report functions the commands use (src/kitchen.ts, src/app/): no queries here.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { InputError, KitchenError, UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import { orderId } from '../order.js';
import { addMany } from '../app/add.js';
import { resetOrders } from '../app/reset.js';
import { cancelOrders } from '../app/cancel.js';
import { editOrders } from '../app/edit.js';
import { holdOrders } from '../app/hold.js';
import { releaseOrders } from '../app/release.js';
import { pause, resume } from '../app/pause.js';
import { stopWaiters } from '../app/stop.js';
import { apiUser } from '../app/who.js';
import { findOrder, orderReport, orderReports } from '../app/show.js';
import { oldestReadySince, statusReport } from '../app/status.js';
import { cpuUsed } from '../app/cost.js';
import { waitersReport } from '../app/waiters.js';
import { cached, keptUnlessFailed, withAge } from './cache.js';
import {
  HttpError,
  PAGE_FAILED,
  cancelRequest,
  editRequest,
  holdRequest,
  releaseRequest,
  jsonContentType,
  failedQuery,
  noQuery,
  pageQuery,
  parseJson,
  pauseRequest,
  resetRequest,
  resumeRequest,
  stopRequest,
  submission,
  waitersQuery,
} from './input.js';
import { PAGE, PAGE_CSP } from './page.generated.js';
import { Pace } from './pace.js';
import { outputRoute } from './output.js';
import { filesRoute } from './files.js';
import { costRoute } from './cost.js';
import { hostGuard } from './hosts.js';
import { bodyLost } from './deadline.js';
import { metricsRegistry, type Figures } from './metrics.js';

/** Largest request body: 10,000 orders of ~800 bytes each. */
export const MAX_BODY = 8 * 1024 * 1024;
/** How long one answer to status, waiters and the chart serves every viewer. */
export const MAX_AGE_MS = 1000;
/**
 * A refresh not done within a second (cache.ts waitMs): an answer up to this old is served (with its Age header): a
 * status on 100k orders takes ~30 s on the FerretDB test server (it scans), ms on MongoDB.
 */
export const MAX_STALE_MS = 120_000;

export interface AppOptions {
  kitchen: Kitchen;
  list: string;
  db: string;
  /** Bearer token; none = no authentication (loopback only, checked by the command). */
  token?: string;
  /** With a token: reads need none, writes still do. */
  publicRead: boolean;
  /**
   * The Host headers to answer, read per request (DNS rebinding: another site's name
   * resolving to this server; hosts.ts); undefined = any Host.
   */
  hosts?: () => ReadonlySet<string> | undefined;
  /** Server-side failures (5xx), one line each. Never given a token or the kitchen URI. */
  log: (line: string) => void;
}

export function createApp(o: AppOptions): Hono {
  const k = o.kitchen;
  const guard = <T>(what: string, fn: () => Promise<T>) => k.guard(what, fn);
  const status = cached(() => guard('status', () => statusReport(k)), MAX_AGE_MS, MAX_STALE_MS);
  const waiters = cached(() => guard('waiters', () => waitersReport(k, { all: false })), MAX_AGE_MS, MAX_STALE_MS);
  // /metrics only: the page's status leaves it out (a sorted read every second; src/kitchen/plans.ts oldestReadyFilter).
  const oldest = cached(() => guard('status', () => oldestReadySince(k)), MAX_AGE_MS, MAX_STALE_MS);
  // /metrics only too: a sum over the spent index (keys = orders that used CPU; src/kitchen/cost.ts).
  const cpu = cached(() => guard('status', () => cpuUsed(k)), MAX_AGE_MS, MAX_STALE_MS);
  const pace = new Pace(k.fleet);
  const chart = cached(() => guard('pace', () => pace.chart()), MAX_AGE_MS, MAX_STALE_MS);
  // The page's list of failures (the default limit) is shared the same way.
  const failed = cached(() => guard('latest failed orders', async () => orderReports(k, await k.fleet.latestFailed(PAGE_FAILED))), MAX_AGE_MS, MAX_STALE_MS);
  const wrote = () => {
    status.invalidate();
    oldest.invalidate();
    cpu.invalidate();
    chart.invalidate();
    failed.invalidate();
  };
  const allowed = tokenCheck(o.token);

  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'no-store');
  });
  app.use('*', hostGuard(o.hosts ?? (() => undefined)));
  // The API and /metrics (a scrape config's bearer token): reads need the token unless --public-read, writes always.
  const authorized = async (c: Context, next: () => Promise<void>) => {
    const write = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    if (o.token && (write || !o.publicRead) && !allowed(c.req.header('authorization'))) {
      c.header('WWW-Authenticate', 'Bearer realm="waiter"');
      throw new HttpError(401, 'missing or wrong token: send Authorization: Bearer <token>');
    }
    await next();
  };
  app.use('/api/*', authorized);
  app.use('/metrics', authorized);
  app.use('/api/*', async (c, next) => {
    if (c.req.method === 'POST') jsonContentType(c.req.header('content-type'));
    await next();
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY,
      onError: () => {
        throw new HttpError(413, `the body is larger than ${MAX_BODY / 1024 / 1024} MiB: send at most 10,000 orders per request`);
      },
    }),
  );

  app.get('/', (c) => {
    c.header('Content-Security-Policy', PAGE_CSP);
    return c.html(PAGE);
  });

  app.get('/api/info', (c) => {
    noQuery(c.req.queries());
    return c.json({ list: o.list, db: o.db, kitchen: k.where, auth: Boolean(o.token), publicRead: o.publicRead });
  });

  app.get('/api/status', async (c) => {
    noQuery(c.req.queries());
    return withAge(c, await status());
  });

  app.get('/api/waiters', async (c) => {
    const q = waitersQuery(c.req.queries());
    if (q.all) return c.json(await guard('waiters', () => waitersReport(k, { all: true })));
    return withAge(c, await waiters());
  });

  app.get('/api/pace', async (c) => {
    noQuery(c.req.queries());
    return withAge(c, await chart());
  });

  app.get('/api/failed', async (c) => {
    const q = failedQuery(c.req.queries());
    if (q.limit === PAGE_FAILED) return withAge(c, await failed());
    return c.json(await guard('latest failed orders', async () => orderReports(k, await k.fleet.latestFailed(q.limit))));
  });

  app.get('/api/orders', async (c) => {
    const q = pageQuery(c.req.queries());
    const orders = await guard('list orders', () =>
      k.fleet.page({ limit: q.limit, newest: q.newest, ...(q.status ? { status: q.status } : {}), ...(q.after ? { after: q.after } : {}) }),
    );
    const last = orders.at(-1);
    const shown = await guard('list orders', () => orderReports(k, orders));
    return c.json({ orders: shown, next: orders.length === q.limit && last ? last._id.toHexString() : null });
  });

  app.get('/api/orders/:id', async (c) => {
    noQuery(c.req.queries());
    const id = orderId(c.req.param('id'));
    const found = await guard('find the order', () => findOrder(k, id));
    if (!found) throw new HttpError(404, `no order ${id.toHexString()} in list '${o.list}'`);
    return c.json(orderReport(found.order, found.names));
  });

  app.post('/api/orders', async (c) => {
    noQuery(c.req.queries());
    const asked = submission(parseJson(await c.req.text()));
    const { ids, status } = await guard('add orders', () => addMany(k, asked));
    wrote();
    return c.json({ ids: ids.map((id) => id.toHexString()), status }, 201);
  });

  app.post('/api/reset', async (c) => {
    noQuery(c.req.queries());
    const r = resetRequest(parseJson(await c.req.text()));
    const done = await guard('reset', () => resetOrders(k, r));
    if (!done.dryRun) wrote();
    return c.json(done);
  });

  // Steering the fleet (issue 26): the same use cases as waiter pause|resume|stop, `by` the client's address.
  app.post('/api/pause', async (c) => {
    noQuery(c.req.queries());
    const r = pauseRequest(optionalJson(await c.req.text()));
    const done = await guard('pause', () => pause(k, { by: apiUser(clientAddress(c)), ...r }));
    status.invalidate();
    waiters.invalidate();
    return c.json(done);
  });

  app.post('/api/resume', async (c) => {
    noQuery(c.req.queries());
    resumeRequest(optionalJson(await c.req.text()));
    const done = await guard('resume', () => resume(k));
    status.invalidate();
    waiters.invalidate();
    return c.json(done);
  });

  app.post('/api/waiters/stop', async (c) => {
    noQuery(c.req.queries());
    const r = stopRequest(parseJson(await c.req.text()));
    const done = await guard('stop waiters', () => stopWaiters(k, { ...r, by: apiUser(clientAddress(c)) }));
    waiters.invalidate();
    return c.json(done);
  });

  // Steering orders (issue 26): the same body, the same token rules, each its use case.
  const steer = <R>(path: string, what: string, parse: (body: unknown, by: string) => R, run: (r: R) => Promise<{ dryRun: boolean }>) =>
    app.post(path, async (c) => {
      noQuery(c.req.queries());
      const r = parse(parseJson(await c.req.text()), apiUser(clientAddress(c)));
      const done = await guard(what, () => run(r));
      if (!done.dryRun) wrote();
      return c.json(done);
    });
  steer('/api/cancel', 'cancel', cancelRequest, (r) => cancelOrders(k, r));
  steer('/api/hold', 'hold', holdRequest, (r) => holdOrders(k, r));
  steer('/api/release', 'release', releaseRequest, (r) => releaseOrders(k, r));
  steer('/api/edit', 'edit', editRequest, (r) => editOrders(k, r));

  // Prometheus (issue 28): the same cached answers as the page, so a scrape every 15 s costs what a refresh does.
  const figures = async (): Promise<Figures> => {
    const [s, w, old, used] = await Promise.all([status(), waiters(), oldest(), cpu()]);
    return { status: s.value, waiters: w.value, oldestReadySince: old.value, cpuSeconds: used.value.cpuSeconds, at: Math.min(s.at, w.at, old.at, used.at), now: Date.now() };
  };
  // prom-client is imported on the first scrape; an import that failed is tried again at the next.
  const registry = keptUnlessFailed(() => metricsRegistry(figures));
  app.get('/metrics', async (c) => {
    noQuery(c.req.queries());
    const r = await registry();
    const text = await r.metrics();
    return c.body(text, 200, { 'Content-Type': r.contentType });
  });

  costRoute(app, k);
  outputRoute(app, k, o.list);
  filesRoute(app, k, o.list);

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => errorResponse(c, err, o.log));
  return app;
}

function errorResponse(c: Context, err: Error, log: (line: string) => void): Response {
  if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
  // A malformed order id (orderId, shared with `waiter show`); a request src/app/ refuses (as the CLI would, exit 2).
  if (err instanceof InputError || err instanceof UsageError) return c.json({ error: oneLine(err.message) }, 400);
  if (err instanceof KitchenError) {
    log(`waiter serve: ${c.req.method} ${c.req.path}: ${err.message}`);
    return c.json({ error: oneLine(err.message) }, 503);
  }
  // The client went (or was cut) before its body arrived: deadline.ts logged it.
  if (bodyLost(c.env)) return c.json({ error: 'the request body did not arrive' }, 400);
  log(`waiter serve: ${c.req.method} ${c.req.path}: internal error: ${err.stack ?? err.message}`);
  return c.json({ error: 'internal error (logged by the server)' }, 500);
}

const oneLine = (s: string) => s.split('\n')[0] ?? '';

/** A body that may be left empty ({} then). */
const optionalJson = (text: string): unknown => (text.trim() === '' ? {} : parseJson(text));

/** The client's address, from @hono/node-server's request (c.env.incoming); undefined elsewhere (tests' app.request). */
function clientAddress(c: Context): string | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress;
}

/**
 * Compares an Authorization header with the token in constant time: both sides are
 * hashed first, so neither the token's length nor its bytes leak through timing.
 */
export function tokenCheck(token: string | undefined): (header: string | undefined) => boolean {
  const want = createHash('sha256')
    .update(token ?? '')
    .digest();
  return (header) => {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
    const got = createHash('sha256')
      .update(m?.[1] ?? '')
      .digest();
    return timingSafeEqual(got, want) && m !== null && token !== undefined;
  };
}
