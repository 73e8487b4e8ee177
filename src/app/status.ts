// What `status --json` prints and GET /api/status serves: the counts, pace, median,
// live waiters and ETA as one plain JSON-able object, from the kitchen's queries.
import type { Kitchen } from '../kitchen.js';
import type { Counts } from '../order.js';
import type { PriorityCount } from '../kitchen/priorities.js';
import { RECENT, eta, type Finish } from '../eta.js';
import { median } from '../fleet.js';
import { pausedReport } from './pause.js';

/** Finished orders whose run times make the median. */
export const MEDIAN_OF = RECENT;

export type StatusReport = Omit<Counts, 'nextDue'> & {
  /** The soonest `due` of a READY order not yet due (ISO), or null. */
  nextDue: string | null;
  /**
   * Since when the READY order waiting longest has waited to be claimed (ISO: when it last
   * became claimable, never before it was written; src/kitchen/plans.ts readySince), and
   * for how long at asOf (s); null when none is due. Only when asked (`status`, /metrics):
   * not in GET /api/status, refreshed every second for the page (one more sorted read).
   */
  oldestReadySince?: string | null;
  oldestReadySeconds?: number | null;
  /** Orders finished (DONE + ERROR, by `stop`) per minute, over the last 1 and 10 minutes. */
  pace1m: number;
  pace10m: number;
  /** Median run time of the last MEDIAN_OF finished orders; null when none has finished. */
  medianRunSeconds: number | null;
  /** Live waiters: not ended, seen within their lease; and the sum of their --concurrency. */
  waiters: number;
  slots: number;
  /**
   * What a waiter could claim now: READY orders due now and stale RUNNING ones (taken over
   * first); per live waiter that claims (2 decimals: not those `waiter stop` asked to stop;
   * paused ones count, the pause is the list's), null without one. AWS's "backlog per instance".
   */
  backlog: number;
  backlogPerWaiter: number | null;
  /**
   * When the orders due now and those running will be done (src/eta.ts; orders not yet
   * due are not counted: notYetDue says how many); null without an estimate.
   */
  etaSeconds: number | null;
  eta: string | null;
  /**
   * Why there is no ETA (null when there is one): `nothing READY` (and nothing running),
   * `nothing due yet` (every READY order waits for its time), `no live waiters` (nobody is working: a pace from the last minutes would
   * promise a time that slides later at every call), or `no finished orders in the last
   * 10 minutes` (no pace).
   */
  etaReason: string | null;
  /** The orders per minute the ETA assumed (src/eta.ts), null without one. */
  etaPace: number | null;
  /** READY orders per priority, highest first (issue 15); `status` shows them when more than one is in use. */
  readyByPriority?: PriorityCount[];
  /**
   * WAITING orders that can never run as things stand: an ERROR or CANCELLED order holds
   * them back, directly or through WAITING or held-from-WAITING orders (src/kitchen/blocked.ts):
   * they wait for a reset (releasing a held one in the chain is not enough). An order that
   * waits only on HELD orders is not counted: a hold is no failure, it runs once released.
   */
  waitingOnFailed: number;
  /** HELD orders (held from WAITING) that, released, would wait on failed orders so: a release alone never runs them. */
  heldOnFailed: number;
  /** When these figures were read (ISO): the page and the API say how old an answer is. */
  asOf: string;
  /** The list is paused (`waiter pause`; issue 26): since when, by whom, why. Absent when it is not. */
  paused?: { by: string; at: string; reason?: string };
};

/**
 * What the list's live output, result files and checkpoints take, as the server keeps it ($collStats:
 * metadata, no scan; src/kitchen/usage.ts). Bytes: the collections' data size (MongoDB:
 * the documents' uncompressed BSON; FerretDB: its backend's tables); disk: the storage
 * the server holds for them (MongoDB: compressed, kept for reuse after a clean).
 */
export interface Storage {
  outputBytes: number;
  outputDocuments: number;
  outputDiskBytes: number;
  fileBytes: number;
  files: number;
  fileDiskBytes: number;
  /** deliver --checkpoint's bucket `<list>.checkpoints`: every file of it (current sets, and any left over). */
  checkpointBytes: number;
  checkpointFiles: number;
  checkpointDiskBytes: number;
}

/**
 * The status report; with `storage`, also what live output, files and checkpoints take
 * (`waiter status`; not GET /api/status, refreshed every second for the page: five more
 * $collStats each time, which FerretDB answers by counting).
 */
export async function status(k: Kitchen, opts: StatusAsked & { storage: true }): Promise<StatusReport & { storage: Storage }>;
export async function status(k: Kitchen, opts?: StatusAsked & { storage?: false }): Promise<StatusReport>;
export async function status(k: Kitchen, opts: StatusAsked & { storage?: boolean } = {}): Promise<StatusReport & { storage?: Storage }> {
  if (!opts.storage) return statusReport(k, opts.now, opts);
  const [r, storage] = await Promise.all([statusReport(k, opts.now, opts), storageReport(k)]);
  return { ...r, storage };
}

/** `oldest`: also oldestReadySince and oldestReadySeconds (Kitchen.oldestReady). */
export interface StatusAsked {
  now?: Date;
  oldest?: boolean;
}

/** Since when the READY order waiting longest has waited (ISO), null when none is due: status's oldestReadySince, /metrics' oldest age. */
export async function oldestReadySince(k: Pick<Kitchen, 'oldestReady'>, now = new Date()): Promise<string | null> {
  return (await k.oldestReady(now))?.toISOString() ?? null;
}

/** Seconds from `since` (ISO) to `now` (ms), never below 0: how long the oldest READY order has waited. */
export function secondsSince(since: string, now: number): number {
  return Math.max(0, now - Date.parse(since)) / 1000;
}

export async function storageReport(k: Kitchen): Promise<Storage> {
  const [out, files, checkpoints] = await Promise.all([k.outputs.usage(), k.files.usage(), k.checkpoints.files.usage()]);
  return {
    outputBytes: out.bytes,
    outputDocuments: out.documents,
    outputDiskBytes: out.storageBytes,
    fileBytes: files.bytes,
    files: files.files,
    fileDiskBytes: files.storageBytes,
    checkpointBytes: checkpoints.bytes,
    checkpointFiles: checkpoints.files,
    checkpointDiskBytes: checkpoints.storageBytes,
  };
}

export async function statusReport(k: Kitchen, now = new Date(), asked: StatusAsked = {}): Promise<StatusReport> {
  const [counts, last1m, last10m, recent, live, byPriority, waiting, paused, oldest] = await Promise.all([
    k.counts(now),
    k.fleet.finishedSince(new Date(+now - 60_000)),
    k.fleet.finishedSince(new Date(+now - 600_000)),
    k.fleet.recentFinishes(MEDIAN_OF),
    k.fleet.liveWaiters(now),
    k.fleet.readyByPriority(),
    k.pipeline.summary(),
    k.control.paused(),
    asked.oldest ? oldestReadySince(k, now) : null,
  ]);
  const pace1m = last1m;
  const pace10m = Math.round((last10m / 10) * 100) / 100;
  const m = median(recent.map((f: Finish) => f.stop - f.start));
  const ready = Math.max(0, counts.READY - counts.notYetDue);
  const backlog = ready + counts.stale;
  const claiming = live.waiters - live.stopping;
  const e = eta({
    now: +now,
    ready,
    running: counts.RUNNING,
    stale: counts.stale,
    waiters: live.waiters,
    slots: live.slots,
    recent,
    finished10m: last10m,
  });
  return {
    ...counts,
    nextDue: counts.nextDue?.toISOString() ?? null,
    ...(asked.oldest ? { oldestReadySince: oldest, oldestReadySeconds: oldest === null ? null : secondsSince(oldest, +now) } : {}),
    pace1m,
    pace10m,
    medianRunSeconds: m === null ? null : Math.round(m) / 1000,
    waiters: live.waiters,
    slots: live.slots,
    backlog,
    backlogPerWaiter: claiming > 0 ? Math.round((backlog / claiming) * 100) / 100 : null,
    etaSeconds: e.seconds,
    eta: e.seconds === null ? null : new Date(+now + e.seconds * 1000).toISOString(),
    etaReason: e.reason === 'nothing READY' && counts.READY > 0 ? 'nothing due yet' : e.reason,
    etaPace: e.perMinute,
    readyByPriority: byPriority,
    waitingOnFailed: waiting.onFailed,
    heldOnFailed: waiting.heldOnFailed,
    asOf: now.toISOString(),
    ...(paused ? { paused: pausedReport(paused) } : {}),
  };
}
