// pause and resume the list (waiter pause|resume, POST /api/pause|resume; issue 26):
// every waiter stops claiming within one heartbeat, lets what runs finish and waits;
// resume starts them claiming again. A pause of a paused list (or a resume of one not
// paused) changes nothing and says so.
import type { Kitchen } from '../kitchen.js';
import type { Paused } from '../fleet.js';

export interface PauseAnswer {
  /** The list's pause, as it is now (the earlier one when it was already paused). */
  paused: { by: string; at: string; reason?: string };
  /** It was paused already: nothing changed. */
  already: boolean;
  /** Live waiters now (they stop claiming within one heartbeat). */
  waiters: number;
}

export interface ResumeAnswer {
  /** The pause lifted; null: the list was not paused, nothing changed. */
  was: { by: string; at: string; reason?: string } | null;
  waiters: number;
}

/**
 * The longest reason a pause or a stop takes (--reason, the API's "reason"), in
 * characters: it is copied onto every waiter's document and sent back with each of
 * their heartbeats, so it is refused at the door (exit 2, HTTP 400), never cut.
 */
export const MAX_REASON = 500;

/** What is wrong with a reason ("501 characters long: at most 500"), or undefined. */
export function reasonProblem(reason: string): string | undefined {
  const n = [...reason].length;
  return n > MAX_REASON ? `${n} characters long: at most ${MAX_REASON}` : undefined;
}

export function pausedReport(p: Paused): { by: string; at: string; reason?: string } {
  return { by: p.by, at: new Date(p.at).toISOString(), ...(p.reason ? { reason: p.reason } : {}) };
}

export async function pause(k: Pick<Kitchen, 'control' | 'fleet'>, r: { by: string; reason?: string }, now = new Date()): Promise<PauseAnswer> {
  const { paused, already } = await k.control.pauseList({ by: r.by, at: now, ...(r.reason ? { reason: r.reason } : {}) });
  const live = await k.fleet.liveWaiters(now);
  return { paused: pausedReport(paused), already, waiters: live.waiters };
}

export async function resume(k: Pick<Kitchen, 'control' | 'fleet'>, now = new Date()): Promise<ResumeAnswer> {
  const was = await k.control.resumeList();
  const live = await k.fleet.liveWaiters(now);
  return { was: was ? pausedReport(was) : null, waiters: live.waiters };
}
