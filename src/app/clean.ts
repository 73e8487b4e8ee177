// clean: delete the orders of the list (of one state), or with `outputs` free their
// live output and result files, and the checkpoints of finished ones, and keep them
// (waiter clean; src/kitchen/clean.ts).
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import type { State } from '../order.js';
import type { FreedOutputs } from '../kitchen/clean.js';

export interface CleanRequest {
  status?: State;
  outputs?: boolean;
  /** With outputs: only of orders that finished longer ago than this. */
  olderThanMs?: number;
}

export type Cleaned = { orders: number } | { outputs: FreedOutputs };

/** The request's own rules, checked before the kitchen is asked (waiter clean's options() too: exit 2 before connecting). */
export function checkClean(r: CleanRequest): CleanRequest {
  if (r.olderThanMs !== undefined && !r.outputs) throw new UsageError('--older-than goes with --outputs (clean deletes orders by state only)');
  return r;
}

export async function cleanOrders(k: Kitchen, r: CleanRequest, now = new Date()): Promise<Cleaned> {
  checkClean(r);
  if (!r.outputs) return { orders: await k.clean(r.status) };
  const before = r.olderThanMs !== undefined ? new Date(+now - r.olderThanMs) : undefined;
  return { outputs: await k.cleanOutputs({ ...(r.status ? { status: r.status } : {}), ...(before ? { before } : {}) }) };
}
