// The order document, its states and the transitions between them. Pure: no I/O.
import type { ObjectId } from 'mongodb';

export const STATES = ['READY', 'RUNNING', 'DONE', 'ERROR'] as const;
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
  /** DONE, ERROR, INTERRUPTED (waiter stopped by a signal), LOST (lease expired). */
  result: 'DONE' | 'ERROR' | 'INTERRUPTED' | 'LOST';
}

export interface Order {
  _id: ObjectId;
  status: State;
  arguments: string[];
  attempts: number;
  waiter?: string;
  start?: Date;
  heartbeat?: Date;
  /** The lease: a RUNNING order past this is stale and may be taken over. */
  expires?: Date;
  stop?: Date;
  exitCode?: number;
  signal?: string;
  error?: string;
  output?: string;
  claim?: string;
  history?: Attempt[];
}

export const HISTORY_LIMIT = 20;

/** Which status changes the kitchen may make. Reset is RUNNING/ERROR -> READY. */
const TRANSITIONS: Record<State, readonly State[]> = {
  READY: ['RUNNING'],
  RUNNING: ['DONE', 'ERROR', 'READY', 'RUNNING'], // RUNNING -> RUNNING: a stale order taken over
  DONE: [],
  ERROR: ['READY'],
};

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
}

/** The status a finished attempt leaves the order in. */
export function nextStatus(o: Outcome, attempts: number, policy: RetryPolicy): State {
  if (succeeded(o)) return 'DONE';
  if (attempts >= policy.maxAttempts) return 'ERROR';
  if (policy.retryOn.length > 0 && (o.exitCode === undefined || !policy.retryOn.includes(o.exitCode))) {
    return 'ERROR';
  }
  return 'READY';
}
