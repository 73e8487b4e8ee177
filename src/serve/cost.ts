// GET /api/cost[?top=N]: the list's cost, exactly status --json's `cost` (src/app/cost.ts),
// with asOf and ageSeconds. Three aggregates and the last 300 finished orders: too much
// for the page's 1 s refresh (GET /api/status leaves it out), so one answer serves every
// client for COST_MAX_AGE_MS. Not dropped after a write through this server either: a
// write does not change what was spent (a finish does), and clients writing would
// otherwise buy a computation each. Token rules are the app's (reads).
import type { Hono } from 'hono';
import type { Kitchen } from '../kitchen.js';
import { costReport, TOP_MAX, type CostReport } from '../app/cost.js';
import { cached, withAge, type Cached } from './cache.js';
import { HttpError } from './input.js';

/** How long one answer serves every client: at most one computation per 30 s. */
export const COST_MAX_AGE_MS = 30_000;
/** A refresh not done in time: the last answer, up to this old, with its age. */
export const COST_MAX_STALE_MS = 150_000;
/** ?top=N: one cached answer per N, for this many N at once (the least recently asked is dropped). */
export const TOP_CACHED = 8;

export function costRoute(app: Hono, k: Kitchen): void {
  const report = (top?: number) => cached(() => k.guard('cost', () => costReport(k, top ? { top } : {})), COST_MAX_AGE_MS, COST_MAX_STALE_MS);
  const plain = report();
  const tops = new Map<number, Cached<CostReport>>();
  const topOf = (n: number) => {
    // A Map keeps insertion order: re-set on each use, its first key is the least recently asked.
    const c = tops.get(n) ?? report(n);
    tops.delete(n);
    if (tops.size >= TOP_CACHED) tops.delete(tops.keys().next().value!);
    tops.set(n, c);
    return c;
  };
  app.get('/api/cost', async (c) => {
    const { top } = costQuery(c.req.queries());
    return withAge(c, await (top ? topOf(top) : plain)());
  });
}

/** ?top=N: 1 to TOP_MAX, as `status --top`; no other parameter. */
export function costQuery(q: Record<string, string[]>): { top?: number } {
  for (const key of Object.keys(q)) if (key !== 'top') throw new HttpError(400, `unknown parameter '${key}' (allowed: top)`);
  const text = q.top?.[0];
  if (text === undefined) return {};
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > TOP_MAX) throw new HttpError(400, `top: ${JSON.stringify(text.slice(0, 40))} is not a whole number from 1 to ${TOP_MAX}`);
  return { top: n };
}
