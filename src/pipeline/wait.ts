// What add, load and POST /api/orders share about WAITING orders: the options, checked
// before anything is written, and what they become for Kitchen.insertOrders.
import { ObjectId } from 'mongodb';
import { UsageError } from '../errors.js';
import type { InsertOptions, Kitchen } from '../kitchen.js';
import { increasing, type WaitFor } from '../kitchen/waiting.js';
import { orderId } from '../order.js';

/** What the user asked to wait for, before the kitchen is asked. */
export interface WaitAsked {
  /** --after / --after-any ids. */
  after?: ObjectId[];
  /** --after-any: DONE or ERROR releases. */
  any?: boolean;
  /** --after-all: every order in the list now. */
  all?: boolean;
}

/**
 * The most ids one order may wait for: WAITER_AFTER holds them all (25 bytes each),
 * and Linux refuses to start a program with one variable over 128 KiB (E2BIG), so
 * more could never run; refused at the door (exit 2, a 400). More: a barrier.
 */
export const MAX_AFTER = 5_000;

/** The door's words for too many ids; `what` names the option or field. */
export function tooManyIds(what: string, n: number): string | undefined {
  if (n <= MAX_AFTER) return undefined;
  return `${what}: ${n.toLocaleString('en-US')} ids; an order waits for at most ${MAX_AFTER.toLocaleString('en-US')} (WAITER_AFTER must fit in one environment variable): use load --after-all for a whole stage`;
}

/** Parses `--after`/`--after-any` (ids, comma-separated, repeatable) and `--after-all`; a bad id or a mix is a usage error. */
export function waitOptions(argv: Record<string, unknown>, allowIds = true): WaitAsked | undefined {
  const ids = (option: string): ObjectId[] | undefined => {
    const v = argv[option];
    if (v === undefined) return undefined;
    const words = [v]
      .flat()
      .flatMap((x) => String(x).split(','))
      .map((s) => s.trim())
      .filter(Boolean);
    if (words.length === 0) throw new UsageError(`--${option}: give one or more order ids (24 hex digits, comma-separated)`);
    const many = tooManyIds(`--${option}`, words.length);
    if (many) throw new UsageError(many);
    return words.map((w) => {
      try {
        return orderId(w);
      } catch (err) {
        throw new UsageError(`--${option}: ${(err as Error).message}`);
      }
    });
  };
  const after = allowIds ? ids('after') : undefined;
  const any = allowIds ? ids('after-any') : undefined;
  const all = Boolean(argv['after-all']);
  if (after && any) throw new UsageError('give --after or --after-any, not both');
  if (all && (after || any)) throw new UsageError('give --after-all or --after/--after-any, not both');
  if (all) return { all: true };
  if (after) return { after };
  if (any) return { after: any, any: true };
  return undefined;
}

/** The refusal of orders that would wait for ids not in the list (add --after, POST /api/orders' after): a UsageError (exit 2, a 400). */
export function notInList(what: string, missing: readonly ObjectId[]): string {
  return `${what}: no order ${missing.map((id) => id.toHexString()).join(', ')} in the list; nothing added`;
}

/**
 * Each row's own wait (POST /api/orders' `after`/`afterAny`; `waiter add`'s options,
 * one row). Returns the ids not in the list (the request is then refused, nothing
 * written), or what to insert: each row's WaitFor, and for rows asking --after-all one
 * new barrier with the maker of their ids (`barrier` to release them by).
 */
export async function waitRows(
  k: Kitchen,
  asked: readonly (WaitAsked | undefined)[],
): Promise<{ missing: ObjectId[] } | (Pick<InsertOptions, 'ids'> & { wait?: (WaitFor | undefined)[]; barrier?: ObjectId })> {
  if (!asked.some(Boolean)) return {};
  const missing = await k.pipeline.missing(asked.flatMap((a) => a?.after ?? []));
  if (missing.length > 0) return { missing };
  await k.pipeline.ensureIndexes();
  const held = asked.some((a) => a?.all) ? await k.pipeline.newBarrier() : undefined;
  const wait = asked.map((a): WaitFor | undefined => (a?.all ? { barrier: held!.barrier } : a?.after ? { after: a.after, ...(a.any ? { any: true } : {}) } : undefined));
  return held ? { wait, ids: held.ids, barrier: held.barrier } : { wait };
}

/**
 * What the kitchen writes for them: the named orders must be in the list (refused
 * otherwise: a UsageError, nothing written; so no cycle can ever be made), the
 * pipeline indexes exist, a barrier is made for --after-all.
 */
export async function waitInsert(k: Kitchen, asked: WaitAsked | undefined, what = '--after', rejoin?: ObjectId): Promise<Pick<InsertOptions, 'ids'> & { wait?: WaitFor }> {
  if (!asked) return {};
  if (asked.after) {
    const missing = await k.pipeline.missing(asked.after);
    if (missing.length > 0) throw new UsageError(notInList(asked.any && what === '--after' ? '--after-any' : what, missing));
  }
  await k.pipeline.ensureIndexes();
  if (asked.all) {
    // `rejoin`: a barrier still held, which this load's orders join (load --unique run again).
    if (rejoin) return { wait: { barrier: rejoin }, ids: increasing(rejoin) };
    const { barrier, ids } = await k.pipeline.newBarrier();
    return { wait: { barrier }, ids };
  }
  return { wait: { after: asked.after!, ...(asked.any ? { any: true } : {}) } };
}
