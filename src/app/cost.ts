// The list's cost (issue 28), as `status` and `status --json` give it (`cost`) and GET
// /api/cost, and the CPU seconds of GET /metrics: from src/kitchen/cost.ts's reads, summed here.
//
// Which attempts count:
// - CPU used (cpuSeconds): every attempt with a CPU figure of every order in the list,
//   retries and interrupted ones too (what was paid), from each order's `spent`. Not: an
//   attempt whose waiter died (LOST) or that was cancelled or held while it ran (its
//   waiter's finish is fenced out), one measured wall-only (no /proc), orders finished by
//   an older waiter, orders `clean` deleted. `orders` says how many orders it covers.
// - Per order (mean and median CPU and wall, peak median and max): the last attempt of
//   the last RECENT finished orders (DONE, ERROR), those of them measured; each figure
//   says of how many.
// - The top N: the orders of the most CPU, every attempt summed (`spent`).
import { cutArguments, median } from '../fleet.js';
import type { Kitchen } from '../kitchen.js';
import type { CostlyOrder } from '../kitchen/cost.js';
import type { Order } from '../order.js';
import { RECENT } from '../eta.js';

/** The finished orders the per-order figures are of. */
export const COST_OF = RECENT;
/** --top's ceiling: a handful to look at, not a listing (that is `extract`). */
export const TOP_MAX = 1000;

export interface CostReport {
  /**
   * CPU used by the orders in the list (s): every attempt recorded with a CPU figure; null
   * when none can be (no waiter of this version has prepared the list: no index, no figure).
   */
  cpuSeconds: number | null;
  /** The orders and attempts cpuSeconds sums. */
  cpuOrders: number;
  cpuAttempts: number;
  /** The per-order figures: the last attempt of the last `finished` orders (at most COST_OF). */
  recent: RecentCost;
  /** With --top: the orders of the most CPU, costliest first. */
  top?: TopOrder[];
}

export interface RecentCost {
  /** Finished orders read (DONE, ERROR; the latest stop first), and of them with usage, with a CPU figure, with a peak. */
  finished: number;
  measured: number;
  withCpu: number;
  withPeak: number;
  cpuMeanSeconds: number | null;
  cpuMedianSeconds: number | null;
  wallMeanSeconds: number | null;
  wallMedianSeconds: number | null;
  peakMedianBytes: number | null;
  peakMaxBytes: number | null;
}

export interface TopOrder {
  id: string;
  status: Order['status'];
  /** Cut short (cutArguments), as the waiters' NOW column. */
  arguments: string[];
  /** Every attempt with a CPU figure, summed, and how many. */
  cpuSeconds: number;
  wallSeconds: number;
  attempts: number;
  /** The largest peak among its attempts kept in history (the last 20), null when none was seen. */
  peakBytes: number | null;
}

/** Whole milliseconds as seconds (3 decimals), null stays null. */
const seconds = (ms: number | null): number | null => (ms === null ? null : Math.round(ms) / 1000);
const mean = (xs: readonly number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** The per-order figures of some finished orders' last attempts (pure). */
export function recentCost(orders: readonly Pick<Order, 'usage'>[]): RecentCost {
  const used = orders.flatMap((o) => (o.usage ? [o.usage] : []));
  const cpu = used.flatMap((u) => (u.cpuMs === undefined ? [] : [u.cpuMs]));
  const wall = used.map((u) => u.wallMs);
  const peak = used.flatMap((u) => (u.peakRssBytes === undefined ? [] : [u.peakRssBytes]));
  return {
    finished: orders.length,
    measured: used.length,
    withCpu: cpu.length,
    withPeak: peak.length,
    cpuMeanSeconds: seconds(mean(cpu)),
    cpuMedianSeconds: seconds(median(cpu)),
    wallMeanSeconds: seconds(mean(wall)),
    wallMedianSeconds: seconds(median(wall)),
    peakMedianBytes: peak.length ? Math.round(median(peak)!) : null,
    peakMaxBytes: peak.length ? Math.max(...peak) : null,
  };
}

/** One row of --top (pure). */
export function topOrder(o: CostlyOrder): TopOrder {
  const peaks = [o.usage, ...(o.history ?? []).map((a) => a.usage)].flatMap((u) => (u?.peakRssBytes === undefined ? [] : [u.peakRssBytes]));
  return {
    id: o._id.toHexString(),
    status: o.status,
    arguments: cutArguments(o.arguments ?? []),
    cpuSeconds: seconds(o.spent.cpuMs)!,
    wallSeconds: seconds(o.spent.wallMs ?? 0)!,
    attempts: o.spent.attempts ?? 0,
    peakBytes: peaks.length ? Math.max(...peaks) : null,
  };
}

type Used = Pick<CostReport, 'cpuSeconds' | 'cpuOrders' | 'cpuAttempts'>;

/** CPU used by the list (s), null without the spent index: what /metrics publishes, the same figure as costReport's. */
export async function cpuUsed(k: Pick<Kitchen, 'cost'>): Promise<Used> {
  return usedIf(k, await k.cost.indexed());
}

async function usedIf(k: Pick<Kitchen, 'cost'>, indexed: boolean): Promise<Used> {
  if (!indexed) return { cpuSeconds: null, cpuOrders: 0, cpuAttempts: 0 };
  const t = await k.cost.total();
  return { cpuSeconds: seconds(t.cpuMs), cpuOrders: t.orders, cpuAttempts: t.attempts };
}

/**
 * `status`'s cost: the CPU used (a sum over the spent index: keys = orders that used
 * CPU), the per-order figures (the last COST_OF finished: keys and documents = COST_OF)
 * and, asked, the top N (keys and documents = N). Not in GET /api/status (the page's
 * refresh every second) nor in `status --watch`; GET /api/cost serves it, at most one
 * computation per 30 s (src/serve/cost.ts).
 */
export async function costReport(k: Pick<Kitchen, 'cost'>, opts: { top?: number } = {}): Promise<CostReport> {
  const indexed = await k.cost.indexed();
  const [used, recent, top] = await Promise.all([usedIf(k, indexed), k.cost.recent(COST_OF), opts.top && indexed ? k.cost.top(opts.top) : []]);
  return { ...used, recent: recentCost(recent), ...(opts.top ? { top: top.map(topOrder) } : {}) };
}
