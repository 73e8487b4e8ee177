// Riding out kitchen outages: transient errors (network, no server selectable,
// retryable-write labels, a server's own transient failures) are retried with capped
// exponential backoff, logged; anything else is thrown at once. The one classifier
// for every caller (deliver, live output, result files, logs, inserts).
import { MongoBulkWriteError, MongoError, MongoNetworkError, MongoServerSelectionError, MongoNotConnectedError } from 'mongodb';
import type { Shutdown } from './shutdown.js';

/** Socket errors the driver sometimes lets through unwrapped (e.g. EPIPE when the server closes mid-write). */
const NETWORK_CODES = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** MongoDB's WriteConflict: two writes met; the one refused changed nothing. */
const WRITE_CONFLICT = 112;
/** PostgreSQL under FerretDB 2.x: the transaction chosen to break a deadlock was rolled back (no code of its own through FerretDB). */
const DEADLOCK = /deadlock detected/i;

export function isTransient(err: unknown): boolean {
  return transientKind(err) !== undefined;
}

/** 'outage': the kitchen cannot be reached; 'conflict': it refused this write for now (a deadlock, a write conflict), and will take it again. */
export function transientKind(err: unknown): 'outage' | 'conflict' | undefined {
  return isOutage(err) ? 'outage' : err instanceof MongoError && isConflict(err) ? 'conflict' : undefined;
}

function isOutage(err: unknown): boolean {
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError || err instanceof MongoNotConnectedError) return true;
  if (err instanceof Error && NETWORK_CODES.has((err as NodeJS.ErrnoException).code ?? '')) return true;
  return err instanceof MongoError && err.hasErrorLabel('RetryableWriteError');
}

function isConflict(err: MongoError): boolean {
  if (err.hasErrorLabel('TransientTransactionError') || serverTransient(err.code, err.message)) return true;
  // A bulk write reports per document: transient when some refusal is (the others: duplicates, say, are the caller's).
  return err instanceof MongoBulkWriteError && [err.writeErrors].flat().some((e) => serverTransient(e.code, e.errmsg ?? ''));
}

function serverTransient(code: unknown, message: string): boolean {
  return code === WRITE_CONFLICT || DEADLOCK.test(message);
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
  /** One line for the first retry only (and one when it answers again), not one per retry. */
  once?: boolean;
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
      const kind = transientKind(err);
      if (!kind || Date.now() + wait > deadline) throw err;
      if (attempt === 1 || !o.once)
        o.log(
          `waiter: ${o.what}: ${kind === 'outage' ? 'kitchen unavailable' : 'the kitchen refused it for now'} (${(err as Error).message}); retry ${attempt} in ${wait} ms${o.once ? ` (retrying for up to ${Math.round((o.limitMs ?? 300_000) / 1000)} s)` : ''}`,
        );
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
