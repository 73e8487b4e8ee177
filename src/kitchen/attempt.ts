// The waiter's own writes about an attempt: claim, heartbeat, finish (the order's critical
// path), moved out of src/kitchen.ts, which delegates to them. Every write after the claim
// is fenced by its token (see the order document in src/kitchen.ts).
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import type { CheckpointRef, Claimed, Finish, JobProgress, LeaseAnswer, LeaseTaken, Order } from '../order.js';
import { claimFilter, claimUpdate, claimedByFilter, CLAIM_SORT, fence, finishUpdate, finishedAttemptFilter, heartbeatUpdate, historyUpdate, lostAttempt } from './plans.js';
import { LEASE_READ } from './steer-plans.js';
import { inputsOf } from './waiting.js';

export class AttemptQueries {
  constructor(
    private readonly orders: Collection<Order>,
    private readonly ensureIndexes: () => Promise<void>,
  ) {}

  /**
   * Claim: atomically take the first order (highest prio, then lowest {due, _id}) whose
   * due time has come: a RUNNING one whose lease expired (a takeover: prio PRIO_RUNNING,
   * above all), else the READY one of the highest priority due soonest, in ONE
   * findOneAndUpdate on the index {prio: -1, due: 1, _id: 1} (claimFilter, claimUpdate,
   * CLAIM_SORT; no hint: the only index giving that order without a sort). Returns null
   * when nothing is due.
   * Returns the document as it was BEFORE (no projection: FerretDB v1 lacks it) so a
   * takeover can record the attempt it replaced: it writes that LOST attempt into
   * history at once (one updateOne fenced by the new claim, takeovers only).
   * `retry`: this token was sent before and the answer was lost (connection failure);
   * if that claim did take an order, return it rather than take a second one and
   * leave the first RUNNING with nobody running it. (If it was a takeover, the lost
   * attempt it replaced is then missing from history.)
   */
  async claim(waiter: string, leaseMs: number, now = new Date(), token = randomUUID(), retry = false): Promise<Claimed | null> {
    await this.ensureIndexes();
    if (retry) {
      const mine = await this.orders.findOne(claimedByFilter(token));
      if (mine) {
        const start = mine.start ?? now;
        return {
          id: mine._id,
          token,
          attempt: mine.attempts,
          waiter,
          start,
          arguments: mine.arguments,
          history: [...(mine.history ?? [])],
          ...columnsOf(mine),
          ...priorityOf(mine),
          ...inputsOf(mine),
          ...checkpointOf(mine),
          ...uncountedOf(mine),
        };
      }
    }
    const before = await this.orders.findOneAndUpdate(claimFilter(now), claimUpdate(waiter, token, now, leaseMs), { sort: CLAIM_SORT, returnDocument: 'before' });
    if (!before) return null;
    const history = [...(before.history ?? [])];
    let lostBy: string | undefined;
    if (before.status === 'RUNNING') {
      lostBy = before.waiter ?? 'its waiter';
      history.push(lostAttempt(before, now));
      // Written now, not only with this attempt's result: if this waiter dies too, the
      // next one must still see every lost attempt (deliver ends an order lost too
      // often). One more round trip, on takeovers only; fenced by the new claim.
      await this.orders.updateOne(fence(before._id, token), historyUpdate(history));
    }
    return {
      id: before._id,
      token,
      attempt: (before.attempts ?? 0) + 1,
      waiter,
      start: now,
      arguments: before.arguments,
      history,
      ...columnsOf(before),
      ...priorityOf(before),
      ...inputsOf(before),
      ...checkpointOf(before),
      ...uncountedOf(before),
      ...(lostBy !== undefined ? { lostBy } : {}),
    };
  }

  /**
   * Heartbeat: extend the lease (expires and due) of an order this waiter holds, and set its
   * command's progress when given (same write). Fenced by the claim (fence, heartbeatUpdate).
   * Says what it found, from the update's own count (no read when it is ours): 'lost' when
   * the order is no longer ours (reset, or taken over), {answer: 'cancelled' | 'held', by} when a
   * user cancelled or held it: the caller must stop its command and record nothing. Only when the
   * update matched nothing, ONE findOne by _id (LEASE_READ) says which.
   */
  async heartbeat(c: Claimed, leaseMs: number, now = new Date(), progress?: JobProgress): Promise<LeaseAnswer | LeaseTaken> {
    const r = await this.orders.updateOne(fence(c.id, c.token), heartbeatUpdate(now, leaseMs, progress));
    if (r.matchedCount === 1) return 'ours';
    const o = await this.orders.findOne<Pick<Order, 'status' | 'cancelled' | 'held'>>({ _id: c.id }, { projection: LEASE_READ });
    const by = o?.status === 'CANCELLED' ? o.cancelled?.by : o?.status === 'HELD' ? o.held?.by : undefined;
    if (o?.status === 'CANCELLED') return { answer: 'cancelled', ...(by ? { by } : {}) };
    return o?.status === 'HELD' ? { answer: 'held', ...(by ? { by } : {}) } : 'lost';
  }

  /**
   * Finish: record how the attempt ended, in ONE updateOne fenced by
   * {_id, claim, status: RUNNING} (fence, finishUpdate). `f.status` is DONE, ERROR, or
   * READY (a retry, or an attempt interrupted by a signal; due then `f.due`, else its stop).
   * Returns false when the order was reset or taken over meanwhile: nothing written.
   * `retry`: an earlier call with this same `f` may have been written with its answer
   * lost; then true if that write is there (our attempt, with our stop, in history).
   */
  async finish(c: Claimed, f: Finish, retry = false): Promise<boolean> {
    const r = await this.orders.updateOne(fence(c.id, c.token), finishUpdate(c, f));
    if (r.matchedCount === 1) return true;
    return retry && (await this.orders.countDocuments(finishedAttemptFilter(c, f))) === 1;
  }
}

/** What a claim passes on from the order document besides its arguments. */
function columnsOf(o: Order): { columns?: string } {
  return o.columns ? { columns: o.columns } : {};
}

function checkpointOf(o: Order): { checkpoint?: CheckpointRef } {
  return o.checkpoint ? { checkpoint: o.checkpoint } : {};
}

/** Its attempts given back so far (none on an order of an older waiter): the retry policy counts without them. */
function uncountedOf(o: Order): { uncounted?: number } {
  return o.uncounted ? { uncounted: o.uncounted } : {};
}

function priorityOf(o: Order): { priority?: number } {
  return o.priority ? { priority: o.priority } : {};
}
