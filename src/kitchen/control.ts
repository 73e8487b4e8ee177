// Steering the fleet (issue 26): the list's pause (`<list>.control`) and the requests
// written onto waiters' registry documents (pause, stop). Builders in fleet-plans.ts.
// A waiter reads them with its own registry write (FleetQueries.saveWaiter returns its
// document after): these are the writes of `waiter pause|resume|stop` and the one read
// a starting waiter makes (joinPause).
import { MongoServerError, type Collection } from 'mongodb';
import type { ControlDoc, Paused, StopAsked, WaiterDoc } from '../fleet.js';
import {
  CONTROL,
  PAUSED_WAITERS,
  RESUME_LIST,
  RESUME_WAITERS,
  ownFilter,
  pauseListFilter,
  pauseListUpdate,
  pauseWaitersFilter,
  pauseWaitersUpdate,
  resumeListFilter,
  stopFilter,
  stopUpdate,
  type StopTarget,
} from './fleet-plans.js';

const DUPLICATE_KEY = 11000;

/** How many times a pause or resume makes the copies follow a control document that changed under it (a pause and a resume racing, again and again). */
const SETTLE_TRIES = 5;

export class ControlQueries {
  constructor(
    private readonly control: Collection<ControlDoc>,
    private readonly waiters: Collection<WaiterDoc>,
  ) {}

  /** The list's pause, or null: one findOne by _id (status, the page). */
  async paused(): Promise<Paused | null> {
    return (await this.control.findOne(CONTROL))?.paused ?? null;
  }

  /**
   * Pause: the control document first (a waiter starting now reads it after its first
   * registry write), then the copy on every waiter not ended (pauseWaitersUpdate). Atomic
   * on the control document: `already` is the pause that was there (this one changed
   * nothing there), and the copy is made again from it (a waiter that came back since).
   * Then settle(). Three round trips, four when already paused (more only in a race).
   */
  async pauseList(p: Paused): Promise<{ paused: Paused; already: boolean }> {
    let paused = p;
    let already = false;
    try {
      await this.control.updateOne(pauseListFilter(), pauseListUpdate(p), { upsert: true });
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
      already = true;
      paused = (await this.paused()) ?? p;
    }
    await this.waiters.updateMany(pauseWaitersFilter(), pauseWaitersUpdate(paused));
    await this.settle(paused);
    return { paused, already };
  }

  /** Resume: the control document, then every waiter's copy, then settle(). The pause that was lifted, or null when the list was not paused (the copies are removed anyway). */
  async resumeList(): Promise<Paused | null> {
    const before = await this.control.findOneAndUpdate(resumeListFilter(), RESUME_LIST, { returnDocument: 'before' });
    await this.waiters.updateMany(PAUSED_WAITERS, RESUME_WAITERS);
    await this.settle(null);
    return before?.paused ?? null;
  }

  /**
   * After a pause or a resume wrote the copies (`applied`: the pause copied, or null:
   * copies removed), the control document is read again: a resume (or pause) that ran
   * whole between this one's two writes would otherwise be undone on the copies alone,
   * the waiters stuck paused while status says not (or the reverse). Whoever writes the
   * copies last reads the control document after, so the last to finish leaves them right.
   */
  private async settle(applied: Paused | null): Promise<void> {
    for (let i = 0; i < SETTLE_TRIES; i++) {
      const now = await this.paused();
      if (!now === !applied) return;
      applied = now;
      if (now) await this.waiters.updateMany(pauseWaitersFilter(), pauseWaitersUpdate(now));
      else await this.waiters.updateMany(PAUSED_WAITERS, RESUME_WAITERS);
    }
  }

  /**
   * A starting waiter, after its first registry write and before its first claim: is
   * the list paused? If so its own document gets the pause, and the control document is
   * read again: a resume between the two reads would have missed that copy, so it is
   * removed and the answer is null. Either the pause's copy (made after its control
   * write) finds this document, or this read finds the control write: no pause is missed.
   * One findOne when the list is not paused; four round trips at most, at start only.
   */
  async joinPause(id: string): Promise<Paused | null> {
    const p = await this.paused();
    if (!p) return null;
    await this.waiters.updateOne(ownFilter(id), pauseWaitersUpdate(p));
    const still = await this.paused();
    if (still) return still;
    await this.waiters.updateOne(ownFilter(id), RESUME_WAITERS);
    return null;
  }

  /** `waiter stop`: the request on the live waiters of the target (stopFilter). How many were asked; 0: nothing written. */
  async askToStop(target: StopTarget, s: StopAsked, now = new Date()): Promise<number> {
    const r = await this.waiters.updateMany(stopFilter(target, now), stopUpdate(s));
    return r.matchedCount;
  }
}
