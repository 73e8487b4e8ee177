// Riding out kitchen outages: transient errors (network, no server selectable,
// retryable-write labels) are retried with capped exponential backoff, logged;
// anything else is thrown at once.
import { MongoError, MongoNetworkError, MongoServerSelectionError, MongoNotConnectedError } from 'mongodb';
import type { Shutdown } from './shutdown.js';

/** Socket errors the driver sometimes lets through unwrapped (e.g. EPIPE when the server closes mid-write). */
const NETWORK_CODES = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export function isTransient(err: unknown): boolean {
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError || err instanceof MongoNotConnectedError) return true;
  if (err instanceof Error && NETWORK_CODES.has((err as NodeJS.ErrnoException).code ?? '')) return true;
  return err instanceof MongoError && (err.hasErrorLabel('RetryableWriteError') || err.hasErrorLabel('TransientTransactionError'));
}

export interface RetryOptions {
  what: string;
  log: (line: string) => void;
  /** Give up (rethrow) after this long. Default 5 minutes. */
  limitMs?: number;
  /** Stop retrying (answer 'stopped') once a shutdown begins. */
  shutdown?: Shutdown;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

export async function retrying<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T | 'stopped'> {
  const deadline = Date.now() + (o.limitMs ?? 300_000);
  let wait = o.firstDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await fn();
      if (attempt > 1) o.log(`waiter: ${o.what}: the kitchen answers again`);
      return r;
    } catch (err) {
      if (!isTransient(err) || Date.now() + wait > deadline) throw err;
      o.log(`waiter: ${o.what}: kitchen unavailable (${(err as Error).message}); retry ${attempt} in ${wait} ms`);
    }
    if (o.shutdown) {
      await o.shutdown.sleep(wait);
      if (o.shutdown.stopping) return 'stopped';
    } else {
      await new Promise((r) => setTimeout(r, wait));
    }
    wait = Math.min(wait * 2, o.maxDelayMs ?? 5000);
  }
}
