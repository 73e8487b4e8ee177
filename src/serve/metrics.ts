// GET /metrics (issue 28): the figures of `status --json` and `waiters` in Prometheus's
// text format, written by prom-client. Gauges only, each set per scrape from the serve's
// shared answers (app.ts's status and waiters caches, and the oldest READY order's and the
// CPU used, which the page does not ask for): a scrape costs what a page refresh does, one
// sorted read and one sum over the spent index (src/kitchen/cost.ts), and no figure is
// computed twice. A registry of its own per app, not prom-client's
// global one (two apps in one process, as in tests, would share it). prom-client is
// loaded on the first scrape: serve starts as fast as before.
import type { Gauge as GaugeType, Registry } from 'prom-client';
import { secondsSince, type StatusReport } from '../app/status.js';
import { SHOWN_STATES, shownState, type WaiterReport } from '../app/waiters.js';
import { STATES } from '../order.js';
import { answerAge } from './cache.js';

/** One scrape's reads: status, the registry and the oldest READY order, when the kitchen gave the oldest of them, and now (ms, the caches' clock). */
export interface Figures {
  status: StatusReport;
  waiters: readonly WaiterReport[];
  /** Since when the READY order waiting longest has waited (ISO, Kitchen.oldestReady), null when none is due. */
  oldestReadySince: string | null;
  /** CPU used by the list's orders (s; src/app/cost.ts cpuUsed), null without a figure. */
  cpuSeconds: number | null;
  at: number;
  now: number;
}

/** The waiters' states counted: every shown state but EXITED (the registry keeps those an hour; they are not the fleet). */
export const WAITER_METRIC_STATES = SHOWN_STATES.filter((s) => s !== 'EXITED');

export async function metricsRegistry(figures: () => Promise<Figures>): Promise<Registry> {
  // prom-client is CommonJS: its exports are `default` of the import (Node's named ones are
  // a guess of its lexer, and esbuild's bundle, dist/bundle/, gives only `default`).
  const { Gauge, Registry } = (await import('prom-client')).default;
  const registry = new Registry();
  // The gauges of one scrape are collected together (Registry.metrics starts every
  // collect at once): they share one read, so they describe the same moment.
  let pending: Promise<Figures> | undefined;
  const read = () => (pending ??= figures().finally(() => (pending = undefined)));

  /** A gauge whose sample is left out while status has no figure (null): prom-client would write NaN as "Nan". */
  class Known extends Gauge {
    known = true;
    override async get(): ReturnType<GaugeType['get']> {
      const m = await super.get();
      return this.known ? m : { ...m, values: [] };
    }
  }
  const gauge = (name: string, help: string, value: (f: Figures) => number | null) =>
    new Known({
      name,
      help,
      registers: [registry],
      async collect() {
        const v = value(await read());
        (this as Known).known = v !== null;
        this.set(v ?? 0);
      },
    });
  const byState = <S extends string>(name: string, help: string, states: readonly S[], count: (f: Figures) => (s: S) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const n = count(await read());
        for (const s of states) this.set({ state: s }, n(s));
      },
    });

  byState('waiter_orders', 'Orders of the list per state, as waiter status counts them', STATES, (f) => (s) => f.status[s]);
  gauge('waiter_orders_stale', 'RUNNING orders past their lease (their waiter is gone; taken over first); counted in waiter_orders{state="RUNNING"}', (f) => f.status.stale);
  gauge('waiter_orders_not_yet_due', 'READY orders waiting for their time (--at, --retry-delay); counted in waiter_orders{state="READY"}', (f) => f.status.notYetDue);
  byState('waiter_waiters', 'Waiters not exited, per state as waiter waiters shows it (STALE: not seen within its lease)', WAITER_METRIC_STATES, (f) => {
    const n = new Map<string, number>();
    for (const w of f.waiters) n.set(shownState(w), (n.get(shownState(w)) ?? 0) + 1);
    return (s) => n.get(s) ?? 0;
  });
  gauge('waiter_slots', "The live waiters' --concurrency summed", (f) => f.status.slots);
  gauge('waiter_pace_1m_orders_per_second', 'Orders finished (DONE or ERROR) over the last minute, per second', (f) => f.status.pace1m / 60);
  gauge('waiter_pace_10m_orders_per_second', 'Orders finished (DONE or ERROR) over the last 10 minutes, per second', (f) => f.status.pace10m / 60);
  gauge('waiter_eta_seconds', 'When the orders due now and those running will be done, from now (status ETA); absent without an estimate', (f) => f.status.etaSeconds);
  // Counted to this scrape, not to when the kitchen answered: a cached answer does not make it younger.
  gauge(
    'waiter_oldest_ready_age_seconds',
    'How long the READY order waiting longest has waited, since it last became claimable (add, reset, retry, release); stale RUNNING orders are in the backlog, not here; absent when none is due',
    (f) => (f.oldestReadySince === null ? null : secondsSince(f.oldestReadySince, f.now)),
  );
  gauge('waiter_backlog_orders', 'Orders a waiter could claim now: READY orders due now and stale RUNNING ones', (f) => f.status.backlog);
  // +Inf, not absent, with work and nobody to claim it: a scaler then starts one (scale from zero).
  gauge(
    'waiter_backlog_per_waiter',
    'waiter_backlog_orders per live waiter not asked to stop (paused ones count); +Inf with a backlog and no such waiter, 0 without a backlog',
    (f) => f.status.backlogPerWaiter ?? (f.status.backlog > 0 ? Infinity : 0),
  );
  // A gauge, not a counter: it is a sum over the orders in the list, so `waiter clean` (deleting orders) takes it down.
  gauge(
    'waiter_orders_cpu_seconds',
    "CPU (user + system) used by the list's orders, every attempt recorded, as status --json cost.cpuSeconds; falls when clean deletes orders; absent before a waiter of this version ran",
    (f) => f.cpuSeconds,
  );
  gauge('waiter_paused', '1 while the list is paused (waiter pause), else 0', (f) => (f.status.paused ? 1 : 0));
  gauge(
    'waiter_status_age_seconds',
    'How old these figures are: whole seconds since the kitchen gave the oldest answer they come from (the API Age header; up to 120 while a slow kitchen recounts)',
    (f) => answerAge(f.at, f.now).ageSeconds,
  );
  return registry;
}
