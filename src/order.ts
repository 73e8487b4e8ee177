// The order document, its states and the transitions between them, and an attempt as
// a waiter holds it (Claimed) and ends it (Finish). Pure: no I/O.
import { createHash } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { InputError } from './errors.js';

/**
 * WAITING (issue 18, src/pipeline/): waits for other orders (add --after, load --after-all); it has no `due`, so no claim reaches it.
 * CANCELLED (issue 26, waiter cancel): finished, by a user; no `due`, never claimed, kept with its history. Last, so
 * outputs of lists without it read as before (status shows it only when there are some).
 * HELD (issue 26, waiter hold): set aside by a user until `waiter release`; no `due`, never claimed, not finished
 * (what waits on it keeps waiting). Last, for the same reason as CANCELLED.
 */
export const STATES = ['READY', 'RUNNING', 'DONE', 'ERROR', 'WAITING', 'CANCELLED', 'HELD'] as const;
export type State = (typeof STATES)[number];

/** One finished (or abandoned) attempt, kept in `history` (the last HISTORY_LIMIT). */
export interface Attempt {
  attempt: number;
  waiter: string;
  start: Date;
  stop: Date;
  exitCode?: number;
  signal?: string;
  error?: string;
  /** DONE, ERROR, INTERRUPTED (waiter stopped by a signal), LOST (lease expired), CANCELLED or HELD (cancelled or held while it ran: written by the user's command). */
  result: 'DONE' | 'ERROR' | 'INTERRUPTED' | 'LOST' | 'CANCELLED' | 'HELD';
  /** CANCELLED, HELD: who did it (user@host, or "api <address>"). */
  by?: string;
  /** What the command used (src/usage/): absent when it never started. */
  usage?: Usage;
  /** The last progress its command wrote (WAITER_PROGRESS, src/deliver/progress.ts), if it wrote any. */
  progress?: JobProgress;
  /** deliver --checkpoint: the attempt whose checkpoint this one started from (src/checkpoint/). */
  resumed?: number;
}

/**
 * How far along an order's command says it is (issue 28): it writes `42` or `42 decoding
 * frame 1,204` to WAITER_PROGRESS; its waiter sends it with each heartbeat. `text` is the
 * job's own words: printed inert on terminals, as text on the page.
 */
export interface JobProgress {
  /** 0-100, one decimal at most. */
  percent: number;
  text?: string;
}

/**
 * deliver --checkpoint (src/checkpoint/): the order's current checkpoint, a complete set of
 * files in `<list>.checkpoints` (GridFS) under one set id. Written only after every file
 * of the set is stored, fenced by the claim: a half-stored set, or one from an attempt
 * that lost its lease, is never current.
 */
export interface CheckpointRef {
  set: ObjectId;
  /** The attempt that stored it. */
  attempt: number;
  at: Date;
  files: number;
  bytes: number;
}

/**
 * What one attempt's command used (issue 28), and how that was measured:
 * - 'proc-sample+wait': CPU is the kernel's exact count (10 ms steps) for the command and the
 *   children it waited for, read from the waiter's own cutime/cstime, or what the samples saw
 *   if more (processes that outlived it); peak RSS is sampled.
 * - 'proc-sample': CPU and peak from samples of its process group in /proc, at most one a
 *   second and one as it exits: the command's last second may be missing.
 * - 'wall': wall time only: a box without /proc (macOS), or a command no sample saw (under a
 *   second) reaped in the same pass as another, whose CPU is then not known (no cpuMs, not 0).
 * peakRssBytes: the largest sum of RSS over the group's processes at one sample (shared
 * pages count once per process); absent when no sample saw it run (under a second).
 */
export interface Usage {
  wallMs: number;
  cpuMs?: number;
  peakRssBytes?: number;
  measured: 'proc-sample+wait' | 'proc-sample' | 'wall';
}

/** Who changed an order from outside its waiter (cancel, hold, release), when, and why if they said. */
export interface Steered {
  by: string;
  at: Date;
  reason?: string;
}

export interface Order {
  _id: ObjectId;
  status: State;
  arguments: string[];
  /** The attempts made: each claim's number (never reused), given-back ones included. */
  attempts: number;
  /**
   * Of those, the ones given back: held or stopped by a spot notice while they ran, not run
   * on a broken box, lost too often. They do not count toward --max-attempts (countedAttempts).
   * Absent (0) until the first; never decreases (reset leaves both, as it leaves `attempts`).
   */
  uncounted?: number;
  waiter?: string;
  start?: Date;
  heartbeat?: Date;
  /** The lease: a RUNNING order past this is stale and may be taken over. */
  expires?: Date;
  /**
   * When the order may next be claimed: READY, when it became (or is to become) takeable;
   * RUNNING, its lease expiry (= expires). DONE/ERROR orders have none. The claim is the
   * first key of the index {due: 1, _id: 1} at or before now.
   */
  due?: Date;
  /** The claim's sort key: `priority` (0 if none) when READY, above every priority when RUNNING (src/kitchen.ts). */
  prio?: number;
  /** The user's priority (load/add --priority, the API): higher first. Kept only when not 0. */
  priority?: number;
  stop?: Date;
  exitCode?: number;
  signal?: string;
  error?: string;
  output?: string;
  claim?: string;
  history?: Attempt[];
  /** The id of the list's `<list>.columns` document naming the arguments (load --header, add --field). */
  columns?: string;
  /** load/add --unique: uniqueKey() of the arguments. */
  key?: string;
  /** deliver --workdir: the folder the last attempt ran in (absolute). */
  workdir?: string;
  /** add --after: the orders it waits for (kept after release: WAITER_AFTER, show). */
  after?: ObjectId[];
  /** add --after-any: released when those finished DONE or ERROR (not only DONE). */
  any?: true;
  /** Set only while WAITING on `after` (sparse index {wait: 1}); removed on release. */
  wait?: 1;
  /** Set only while WAITING on a barrier (load/add --after-all; sparse index {hold: 1}): every order with a lower _id must be DONE. */
  hold?: ObjectId;
  /** The barrier it waited for (kept after release: WAITER_AFTER_ALL, show). */
  barrier?: ObjectId;
  /** A WAITING order's --at, when later than its add: its `due` once released. A READY one's after `waiter edit --at` (= its due: kept for a hold to restore). */
  at?: Date;
  /** CANCELLED: who cancelled it, when, why. */
  cancelled?: Steered;
  /** waiter edit: who last changed its priority or --at, when, why. */
  edited?: Steered;
  /**
   * HELD: who held it, when, why, and the state it is released to (a RUNNING one: READY). Not
   * `hold`: that is the barrier of pipelines. While HELD, `at` is its due once released.
   */
  held?: Steered & { from: 'READY' | 'WAITING' };
  /** The last release of a hold (kept for show; a new hold removes it). */
  released?: Steered;
  /** The last attempt's usage (as in its history entry). */
  usage?: Usage;
  /** RUNNING: its command's progress as of its last heartbeat; after: its last attempt's (as in history). Removed by the next claim. */
  progress?: JobProgress;
  /** deliver --checkpoint: the current checkpoint (src/checkpoint/). */
  checkpoint?: CheckpointRef;
  /** RUNNING with deliver --checkpoint: the attempt whose checkpoint this attempt was started from. */
  resumed?: number;
  /**
   * What every attempt with a CPU figure used, summed (issue 28: what was paid, retries
   * too, beyond the HISTORY_LIMIT kept): $inc'd by the finish write that records each, so
   * no round trip of its own. Never reset; gone with the order (clean). Absent until one
   * such attempt, and on orders finished by an older waiter. Indexed (src/kitchen/cost.ts).
   */
  spent?: Spent;
}

/** Order.spent: the CPU and wall time (ms) of the attempts that had a CPU figure, and how many. */
export interface Spent {
  cpuMs: number;
  wallMs: number;
  attempts: number;
}

/** What a heartbeat found: the order still ours, or not (reset, taken over), or cancelled or held while it ran. */
export type LeaseAnswer = 'ours' | 'lost' | 'cancelled' | 'held';
/** A heartbeat's answer with who took the order away (the canceller, the holder), for the waiter's log line. */
export interface LeaseTaken {
  answer: 'cancelled' | 'held';
  by?: string;
}

/** An order this waiter holds: what it needs to run it and to fence its writes. */
export interface Claimed {
  id: ObjectId;
  token: string;
  attempt: number;
  waiter: string;
  start: Date;
  arguments: string[];
  /** History as it was when claimed, plus the lost attempt this claim took over. */
  history: Attempt[];
  /** The order's `columns` reference (named arguments), if it has one. */
  columns?: string;
  /** A takeover: the waiter whose lease on the order expired (its attempt is LOST in history). */
  lostBy?: string;
  /** The user's priority (load/add --priority), when not 0: `prio` goes back to it when the attempt ends. */
  priority?: number;
  /** The ids it waited for (add --after) and its barrier (--after-all), hex: WAITER_AFTER, WAITER_AFTER_ALL. */
  after?: string[];
  barrier?: string;
  /** The order's checkpoint when claimed (deliver --checkpoint restores it). */
  checkpoint?: CheckpointRef;
  /** Its earlier attempts given back (Order.uncounted), when any: they do not count toward --max-attempts. */
  uncounted?: number;
}

/** The attempts of an order that count toward --max-attempts: those made, less those given back. */
export function countedAttempts(o: Pick<Order, 'attempts' | 'uncounted'>): number {
  return (o.attempts ?? 0) - (o.uncounted ?? 0);
}

/** Which counted attempt a claim is (1 for the first that counts): the retry policy's number, not the attempt's own. */
export function countedAttempt(c: Pick<Claimed, 'attempt' | 'uncounted'>): number {
  return c.attempt - (c.uncounted ?? 0);
}

/** How an attempt ended, as Kitchen.finish() writes it. */
export interface Finish {
  status: State;
  stop: Date;
  /** With status READY: when the order may be taken again (a delayed retry); default `stop`. */
  due?: Date;
  exitCode?: number;
  signal?: string;
  error?: string;
  output: string;
  result: Attempt['result'];
  /** deliver --workdir: the folder the attempt ran in. */
  workdir?: string;
  /** The attempt is given back ($inc Order.uncounted; its number stays used): not the order's failure (its box failed or went away, or it was lost too often). */
  uncounted?: boolean;
  /** What the command used, when it started (src/usage/). */
  usage?: Usage;
  /** The last progress its command wrote, if any (src/deliver/progress.ts). */
  progress?: JobProgress;
  /** The attempt whose checkpoint this attempt started from (deliver --checkpoint). */
  resumed?: number;
  /** DONE with a checkpoint stored (deliver --checkpoint): it is no longer current (its files go once this is recorded). */
  dropCheckpoint?: boolean;
}

/** `<list>.columns`: the names of a load's arguments, once per distinct header, not per order. */
export interface ColumnsDoc {
  _id: string;
  names: string[];
}

export type Counts = Record<State, number> & {
  total: number;
  stale: number;
  /** READY orders whose `due` is still ahead (--at, --retry-delay), and the soonest of them. */
  notYetDue: number;
  nextDue: Date | null;
};

export const HISTORY_LIMIT = 20;
/** The priorities a user may give (load/add --priority, the API): whole numbers within ±MAX_PRIORITY. */
export const MAX_PRIORITY = 1_000_000_000;
/** The claim's sort key of a RUNNING order: above every user priority, so that stale work is taken over first. */
export const PRIO_RUNNING = 2_000_000_000;

/**
 * Which status changes the kitchen may make. Reset is RUNNING/ERROR -> READY. WAITING
 * -> READY is the release (src/pipeline/), once what it waits for is DONE (or finished,
 * --after-any); reset never touches WAITING orders, `clean --status WAITING` deletes them.
 * Cancel is READY|WAITING|RUNNING|HELD -> CANCELLED (a RUNNING one fenced by its claim);
 * reset --status CANCELLED undoes it: READY, or WAITING for an order that waits on others.
 * Hold is READY|WAITING|RUNNING -> HELD (RUNNING as cancel does); release is HELD -> the
 * state it was held from (READY for a RUNNING one).
 */
const TRANSITIONS: Record<State, readonly State[]> = {
  WAITING: ['READY', 'CANCELLED', 'HELD'],
  READY: ['RUNNING', 'CANCELLED', 'HELD'],
  RUNNING: ['DONE', 'ERROR', 'READY', 'RUNNING', 'CANCELLED', 'HELD'], // RUNNING -> RUNNING: a stale order taken over
  DONE: [],
  ERROR: ['READY'],
  CANCELLED: ['READY', 'WAITING'],
  HELD: ['READY', 'WAITING', 'CANCELLED'],
};

/** The states cancel takes (the others are finished: DONE, ERROR, CANCELLED). */
export const CANCELLABLE: readonly State[] = ['READY', 'WAITING', 'RUNNING', 'HELD'];
/** The states hold takes (a HELD order is left alone; finished ones too). */
export const HOLDABLE: readonly State[] = ['READY', 'WAITING', 'RUNNING'];

/**
 * The states edit takes (--priority, --at): not yet claimed. READY's --at is its `due`; any
 * other's is `at`, its due once released: a HELD order's release (src/kitchen/hold-plans.ts)
 * makes a later `at` its due, as a WAITING one's release does.
 */
export const EDITABLE: readonly State[] = ['READY', 'WAITING', 'HELD'];

export function canTransition(from: State, to: State): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isState(s: string): s is State {
  return (STATES as readonly string[]).includes(s);
}

/** What running the command gave; produced by run.ts. */
export interface Outcome {
  exitCode?: number;
  signal?: string;
  timedOut?: boolean;
  /** Set when the command could not be started at all. */
  spawnError?: string;
  /** The system's code for it (ENOENT, EACCES, E2BIG, EMFILE…): whose fault it is (src/deliver/failure.ts). */
  spawnCode?: string;
  /** The last bytes of the command's combined output. */
  output: string;
}

export function succeeded(o: Outcome): boolean {
  return o.exitCode === 0 && !o.timedOut && !o.spawnError && !o.signal;
}

/** One human line saying why an attempt failed, or undefined when it succeeded. */
export function errorLine(o: Outcome, timeoutText?: string): string | undefined {
  if (o.spawnError) return o.spawnError;
  if (o.timedOut) return `timed out after ${timeoutText ?? 'the timeout'}`;
  if (o.signal) return `killed by ${o.signal}`;
  if (o.exitCode !== 0) return `exit code ${o.exitCode ?? 'unknown'}`;
  return undefined;
}

export interface RetryPolicy {
  maxAttempts: number;
  /** Only these exit codes are retried; empty = any failure. */
  retryOn: readonly number[];
  /** Wait this long before the first retry (0: retry at once). */
  delayMs?: number;
  /** Each further retry waits this many times longer (default 2). */
  backoff?: number;
  /** No retry waits longer than this (default 1 hour). */
  maxDelayMs?: number;
}

export const DEFAULT_RETRY_BACKOFF = 2;
export const DEFAULT_RETRY_MAX_DELAY_MS = 3_600_000;
/** Jitter adds up to this fraction of the delay, never less: a retry is never early. */
export const RETRY_JITTER = 0.1;

/**
 * How long after attempt `attempt` (1-based) failed its retry may start:
 * delay × backoff^(attempt-1), capped at maxDelay, plus up to 10 % jitter so that
 * orders failing together (a remote service down) do not all come back at once.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = policy.delayMs ?? 0;
  if (base <= 0) return 0;
  const backoff = policy.backoff ?? DEFAULT_RETRY_BACKOFF;
  const cap = policy.maxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS;
  const d = Math.min(cap, base * backoff ** Math.max(0, attempt - 1));
  return Math.round(d * (1 + RETRY_JITTER * random()));
}

/** The status a finished attempt leaves the order in; `attempts`: which counted attempt it was (countedAttempt). */
export function nextStatus(o: Outcome, attempts: number, policy: RetryPolicy): State {
  if (succeeded(o)) return 'DONE';
  if (attempts >= policy.maxAttempts) return 'ERROR';
  if (policy.retryOn.length > 0 && (o.exitCode === undefined || !policy.retryOn.includes(o.exitCode))) {
    return 'ERROR';
  }
  return 'READY';
}

/**
 * SHA-256 of the strings' JSON, 16 hex digits (64 bits): deliver's {hash}
 * (argumentsHash) and the id of a `<list>.columns` document (saveColumns). Stable:
 * the same strings give the same hash anywhere, in every version (ids already saved
 * and folders already named depend on it).
 */
export function shortHash(strings: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(strings)).digest('hex').slice(0, 16);
}

/**
 * An order's key under `--unique`, kept in the order's `key` field under a unique
 * index, so a row is in a list at most once however often it is loaded: the start of
 * the arguments (KEY_PREFIX characters of their JSON), then 128 bits of SHA-256 over
 * the list's name and the arguments (JSON: unambiguous), base64url. The hash alone
 * makes it unique; the prefix is for the index: rows of a file generated in order
 * (a sweep, `ls`) get neighbouring keys, so each insert lands next to the last one in
 * the index B-tree instead of at a random page (at 1M rows on the test server the
 * random keys alone made the first load 2.2x the bare driver).
 */
export function uniqueKey(list: string, args: readonly string[]): string {
  const json = JSON.stringify(args);
  let prefix = json.slice(2, 2 + KEY_PREFIX); // without the constant `["`
  if (/[\uD800-\uDBFF]$/.test(prefix)) prefix = prefix.slice(0, -1); // never half a character
  return prefix + createHash('sha256').update(list).update('\n').update(json).digest('base64url').slice(0, 22);
}

/** How many characters of the arguments start a --unique key. */
export const KEY_PREFIX = 32;

/** An order id as users type it (show, the API's paths and cursors): 24 hex digits, any case. */
export function orderId(text: string, what = 'order id'): ObjectId {
  if (!/^[0-9a-fA-F]{24}$/.test(text)) throw new InputError(`${JSON.stringify(text.slice(0, 40))} is not an ${what} (24 hex digits)`);
  return ObjectId.createFromHexString(text.toLowerCase());
}

/** An order's named columns (load --header, add --field) as {name: value}; names past its arguments are left out. */
export function namedFields(names: readonly string[], args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  names.forEach((n, i) => {
    if (args[i] !== undefined) out[n] = args[i];
  });
  return out;
}
