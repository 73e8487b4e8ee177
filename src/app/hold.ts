// hold (waiter hold, POST /api/hold): orders READY, WAITING or RUNNING become HELD until
// `waiter release` (issue 26): never claimed, not finished (what waits on them waits on).
// The same selections and writes as a cancel (./steer.ts); a RUNNING one is stopped by
// its waiter within one heartbeat, its attempt recorded HELD and not counted.
import type { Kitchen } from '../kitchen.js';
import { steerOrders, type SteerReport, type SteerRequest } from './steer.js';

export type HoldRequest = SteerRequest;

export type HoldReport = Omit<SteerReport, 'changed'> & {
  /** Orders held (with a dry run: that would be), the running ones among them. */
  held: number;
};

export async function holdOrders(k: Kitchen, r: HoldRequest, now = new Date()): Promise<HoldReport> {
  const { changed, ...rest } = (await steerOrders(k, r, 'HELD', now)).report;
  return { held: changed, ...rest };
}
