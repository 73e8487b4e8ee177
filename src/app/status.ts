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

export type StatusReport = Omit<Counts, 'nextDue' | 'oldestDue'> & {
  /** The soonest `due` of a READY order not yet due (ISO), or null. */
  nextDue: string | null;
  /** How long the READY order due longest ago has waited to be claimed (seconds at asOf), or null when none is due. */
  oldestReadySeconds: number | null;
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
   * first); per live waiter (2 decimals), null without one. AWS's "backlog per instance".
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
  /** WAITING orders held back by an order in ERROR (src/pipeline/): they wait for a reset. */
  waitingOnFailed: number;
  /** When these figures were read (ISO): the page and the API say how old an answer is. */
  asOf: string;
  /** The list is paused (`waiter pause`; issue 26): since when, by whom, why. Absent when it is not. */
  paused?: { by: string; at: string; reason?: string };
};

/**
 * What the list's live output and result files take, as the server keeps it ($collStats:
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
}

/**
 * The status report; with `storage`, also what live output and files take (`waiter
 * status`; not GET /api/status, refreshed every second for the page: three more
 * $collStats each time, which FerretDB answers by counting).
 */
export async function status(k: Kitchen, opts: { storage: true; now?: Date }): Promise<StatusReport & { storage: Storage }>;
export async function status(k: Kitchen, opts?: { storage?: false; now?: Date }): Promise<StatusReport>;
export async function status(k: Kitchen, opts: { storage?: boolean; now?: Date } = {}): Promise<StatusReport & { storage?: Storage }> {
  if (!opts.storage) return statusReport(k, opts.now);
  const [r, storage] = await Promise.all([statusReport(k, opts.now), storageReport(k)]);
  return { ...r, storage };
}

export async function storageReport(k: Kitchen): Promise<Storage> {
  const [out, files] = await Promise.all([k.outputs.usage(), k.files.usage()]);
  return {
    outputBytes: out.bytes,
    outputDocuments: out.documents,
    outputDiskBytes: out.storageBytes,
    fileBytes: files.bytes,
    files: files.files,
    fileDiskBytes: files.storageBytes,
  };
}

export async function statusReport(k: Kitchen, now = new Date()): Promise<StatusReport> {
  const [counts, last1m, last10m, recent, live, byPriority, waiting, paused] = await Promise.all([
    k.counts(now),
    k.fleet.finishedSince(new Date(+now - 60_000)),
    k.fleet.finishedSince(new Date(+now - 600_000)),
    k.fleet.recentFinishes(MEDIAN_OF),
    k.fleet.liveWaiters(now),
    k.fleet.readyByPriority(),
    k.pipeline.summary(),
    k.control.paused(),
  ]);
  const pace1m = last1m;
  const pace10m = Math.round((last10m / 10) * 100) / 100;
  const m = median(recent.map((f: Finish) => f.stop - f.start));
  const ready = Math.max(0, counts.READY - counts.notYetDue);
  const backlog = ready + counts.stale;
  const { oldestDue, ...rest } = counts;
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
    ...rest,
    nextDue: counts.nextDue?.toISOString() ?? null,
    oldestReadySeconds: oldestDue ? Math.max(0, +now - +oldestDue) / 1000 : null,
    pace1m,
    pace10m,
    medianRunSeconds: m === null ? null : Math.round(m) / 1000,
    waiters: live.waiters,
    slots: live.slots,
    backlog,
    backlogPerWaiter: live.waiters > 0 ? Math.round((backlog / live.waiters) * 100) / 100 : null,
    etaSeconds: e.seconds,
    eta: e.seconds === null ? null : new Date(+now + e.seconds * 1000).toISOString(),
    etaReason: e.reason === 'nothing READY' && counts.READY > 0 ? 'nothing due yet' : e.reason,
    etaPace: e.perMinute,
    readyByPriority: byPriority,
    waitingOnFailed: waiting.onFailed,
    asOf: now.toISOString(),
    ...(paused ? { paused: pausedReport(paused) } : {}),
  };
}
