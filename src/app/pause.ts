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
