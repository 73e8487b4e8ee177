// Reading an attempt's live output back (waiter logs, the API): the slots after a
// cursor, as pieces of one stream or as a gap where bytes were dropped (--keep-output).
// The cursor is a byte position in the attempt's whole output: `to` of the last piece.
import type { ObjectId } from 'mongodb';
import type { Attempt, Order } from '../order.js';
import { bytesOf, type OutputStore, type StreamName } from '../kitchen/output.js';

export type Piece =
  | { stream: StreamName; data: Buffer; from: number; to: number; at: Date }
  /** `bytes` of output between `from` and `to` were not kept. */
  | { dropped: number; from: number; to: number };

/** Slots read per query. */
const PAGE = 32;

/** Every piece of one attempt's output after byte `after`, in order; the cursor to go on from is the last piece's `to`. */
export async function readAfter(store: Pick<OutputStore, 'read'>, order: ObjectId, attempt: number, after = 0): Promise<Piece[]> {
  const out: Piece[] = [];
  let pos = after;
  for (;;) {
    const slots = await store.read(order, attempt, pos, PAGE);
    for (const slot of slots) {
      if (slot.to <= pos) continue; // a slot rewritten between two pages
      if (slot.from > pos) out.push({ dropped: slot.from - pos, from: pos, to: slot.from });
      let at = slot.from;
      for (const c of slot.chunks) {
        let data = bytesOf(c);
        const end = at + data.length;
        if (end > pos) {
          if (at < pos) data = data.subarray(pos - at);
          out.push({ stream: c.s, data, from: Math.max(at, pos), to: end, at: slot.at });
          pos = end;
        }
        at = end;
      }
      pos = Math.max(pos, slot.to);
    }
    if (slots.length < PAGE) return out;
  }
}

/**
 * How attempt `n` of the order ended, or null while it runs. From its history entry (the
 * last: on a list an older waiter ran, an attempt not counted, held or preempted, left its
 * number to the next run); else the order has moved on without one: reset while running,
 * or taken over.
 */
export function attemptEnd(o: Order, n: number): Pick<Attempt, 'result' | 'exitCode' | 'error'> | { result: 'RESET' } | null {
  if (o.status === 'RUNNING' && o.attempts === n) return null;
  const done = [...(o.history ?? [])].reverse().find((a) => a.attempt === n);
  if (done) return done;
  if ((o.attempts ?? 0) > n) return { result: 'LOST', error: 'taken over by another waiter' };
  if (o.status === 'RUNNING') return null;
  return { result: 'RESET' };
}

/** "DONE (exit code 0)", "ERROR: exit code 3", "LOST: no heartbeat …" */
export function endText(a: NonNullable<ReturnType<typeof attemptEnd>>): string {
  if (a.result === 'RESET') return 'reset while it ran (put back READY)';
  if (a.result === 'DONE') return `DONE (exit code ${a.exitCode ?? 0})`;
  return `${a.result}${a.error ? `: ${a.error}` : a.exitCode !== undefined ? `: exit code ${a.exitCode}` : ''}`;
}
