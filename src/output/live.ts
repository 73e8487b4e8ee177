// Live output of one attempt: what the command prints goes to the kitchen in batches,
// at most one write per `flushMs` (1 s) and none while the command is quiet, never more
// than `keepBytes` kept per attempt: the first half (the head) and a rolling end (the
// tail); what falls between is dropped and shows as a gap (see store.ts).
//
// Memory is bounded by keepBytes whatever the command prints: bytes past the head
// wait in a ring of the tail's size; while the kitchen is away they wait there too,
// and the next flush after it answers writes them.
import type { ObjectId } from 'mongodb';
import { retrying } from '../deliver/retry.js';
import { binary, type Chunk, type OutputStore, type SlotWrite, type StreamName } from '../kitchen/output.js';

/** Default --keep-output: 1 MiB per attempt (docs/outputs.md, "Live output"). */
export const DEFAULT_KEEP_BYTES = 1024 * 1024;
export const FLUSH_MS = 1000;

export interface LiveOptions {
  keepBytes: number;
  flushMs?: number;
  /** How long close() keeps trying to write the last batch through an outage. */
  closeLimitMs?: number;
}

/** What the deliver loop sees: push every chunk, close once the command has ended. */
export interface LiveSink {
  /** A function, not a method: the loop hands it on detached from its sink. */
  push: (stream: StreamName, chunk: Buffer) => void;
  /** Writes what is left; never throws (an order's output must not fail the waiter). */
  close(): Promise<void>;
}

interface Piece {
  s: StreamName;
  d: Buffer;
  /** Byte position of d[0] in the attempt's output. */
  from: number;
}

interface Slot {
  name: string;
  from: number;
  to: number;
  /** Its content, kept so that after a failed write it can be written whole again (≤ slot size). */
  chunks: Piece[];
  /** Written as it is now (a push may follow). */
  stored: boolean;
}

/** Slot size and count for a cap: 8 tail slots (more, of 256 KiB, past 4 MiB), head slots of the same size. */
export function geometry(keepBytes: number): { head: number; tail: number; slot: number; tailSlots: number } {
  const head = Math.floor(keepBytes / 2);
  const tail = keepBytes - head;
  // Never more than `tail` bytes in the ring: tailSlots × slot ≤ tail.
  // At least 8 slots: when the ring goes round the one overwritten is an eighth of it,
  // so the kept tail is never less than 7/8 of `tail` (with 1 slot it could be a byte).
  const slot = Math.min(256 * 1024, Math.max(1, Math.ceil(tail / 8)));
  return { head, tail, slot, tailSlots: Math.max(1, Math.floor(tail / slot)) };
}

export class LiveOutput implements LiveSink {
  private readonly g: ReturnType<typeof geometry>;
  private readonly flushMs: number;
  private readonly hex: string;
  /** Bytes seen so far (the position of the next byte). */
  private pos = 0;
  /** Pending pieces bound for the head, then for the tail (the latter a ring of g.tail bytes). */
  private headPending: Piece[] = [];
  private tailPending: Piece[] = [];
  private tailPendingBytes = 0;
  private headSlots = 0;
  private tailSlotsUsed = 0;
  private current: Slot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private flushing: Promise<void> | undefined;
  private failing = false;
  private closed = false;
  /** Writes made (for tests and the bench). */
  writes = 0;

  constructor(
    private readonly store: Pick<OutputStore, 'write'>,
    private readonly order: ObjectId,
    private readonly attempt: number,
    private readonly opts: LiveOptions,
    private readonly log: (line: string) => void,
  ) {
    this.g = geometry(opts.keepBytes);
    this.flushMs = opts.flushMs ?? FLUSH_MS;
    this.hex = order.toHexString();
  }

  push = (s: StreamName, chunk: Buffer): void => {
    if (chunk.length === 0) return;
    let d = chunk;
    const headLeft = this.g.head - Math.min(this.g.head, this.pos);
    if (headLeft > 0) {
      const take = d.subarray(0, headLeft);
      this.headPending.push({ s, d: take, from: this.pos });
      this.pos += take.length;
      d = d.subarray(take.length);
    }
    if (d.length > 0) {
      if (d.length > this.g.tail) {
        this.pos += d.length - this.g.tail;
        d = d.subarray(d.length - this.g.tail);
      }
      this.tailPending.push({ s, d, from: this.pos });
      this.pos += d.length;
      this.tailPendingBytes += d.length;
      this.trimTail();
    }
    this.schedule();
  };

  /** Keeps the pending tail within g.tail bytes, dropping its oldest bytes. */
  private trimTail(): void {
    let over = this.tailPendingBytes - this.g.tail;
    while (over > 0) {
      const first = this.tailPending[0]!;
      if (first.d.length <= over) {
        this.tailPending.shift();
        this.tailPendingBytes -= first.d.length;
        over -= first.d.length;
      } else {
        this.tailPending[0] = { s: first.s, d: first.d.subarray(over), from: first.from + over };
        this.tailPendingBytes -= over;
        over = 0;
      }
    }
  }

  private schedule(): void {
    if (this.timer || this.flushing || this.closed) return;
    const wait = Math.max(0, this.lastFlush + this.flushMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.headPending.length || this.tailPending.length) this.schedule();
      });
    }, wait);
    this.timer.unref();
  }

  /** The timer's write: on failure all of it stays pending (bounded) and the next one retries. */
  private async flush(): Promise<void> {
    if (!this.headPending.length && !this.tailPending.length) return;
    try {
      await this.write();
      if (this.failing) this.log(`waiter: live output of ${this.hex}: written again`);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log(`waiter: live output of ${this.hex} not written, kept (at most ${this.opts.keepBytes} bytes) for the next try: ${(err as Error).message}`);
      this.failing = true;
    }
  }

  /** One store write of everything pending; the state moves on only once it is written. */
  private async write(): Promise<void> {
    this.lastFlush = Date.now();
    // What arrives while this write is on its way waits for the next one.
    const head = this.headPending;
    const tail = this.tailPending;
    this.headPending = [];
    this.tailPending = [];
    this.tailPendingBytes = 0;
    const plan = this.plan(head, tail);
    try {
      await this.store.write(plan.writes);
    } catch (err) {
      // The current slot may or may not have been pushed to: write it whole next time.
      if (this.current) this.current.stored = false;
      this.headPending = [...head, ...this.headPending];
      this.tailPending = [...tail, ...this.tailPending];
      this.tailPendingBytes = size(this.tailPending);
      this.trimTail();
      throw err;
    }
    this.writes++;
    this.headSlots = plan.headSlots;
    this.tailSlotsUsed = plan.tailSlotsUsed;
    this.current = plan.current ? { ...plan.current, stored: true } : undefined;
  }

  /** The slot writes for what is pending, and the state after them (taken on once written). */
  private plan(headPending: Piece[], tailPending: Piece[]): { writes: SlotWrite[]; current: Slot | undefined; headSlots: number; tailSlotsUsed: number } {
    const at = new Date();
    /** Slots this flush writes, by name; a name reused in one flush (the tail ring went round) keeps the newest. */
    const touched = new Map<string, { slot: Slot; appended: Piece[]; oldTo: number }>();
    let cur: Slot | undefined = this.current ? { ...this.current, chunks: [...this.current.chunks] } : undefined;
    if (cur) touched.set(cur.name, { slot: cur, appended: [], oldTo: cur.to });
    let { headSlots, tailSlotsUsed } = this;
    const place = (pieces: Piece[], head: boolean) => {
      for (let p of pieces) {
        while (p.d.length > 0) {
          if (!(cur && cur.to === p.from && cur.name[0] === (head ? 'h' : 't') && cur.to - cur.from < this.g.slot)) {
            const name = head ? `h${headSlots++}` : `t${tailSlotsUsed++ % this.g.tailSlots}`;
            cur = { name, from: p.from, to: p.from, chunks: [], stored: false };
            touched.set(name, { slot: cur, appended: [], oldTo: p.from });
          }
          const part = { s: p.s, d: p.d.subarray(0, this.g.slot - (cur.to - cur.from)), from: p.from };
          cur.chunks.push(part);
          cur.to += part.d.length;
          touched.get(cur.name)!.appended.push(part);
          p = { s: p.s, d: p.d.subarray(part.d.length), from: p.from + part.d.length };
        }
      }
    };
    place(headPending, true);
    place(tailPending, false);
    const base = `${this.hex}:${this.attempt}:`;
    const writes: SlotWrite[] = [];
    for (const [name, { slot, appended, oldTo }] of touched) {
      if (appended.length === 0) continue;
      if (slot.stored) writes.push({ kind: 'append', id: base + name, oldTo, to: slot.to, at, chunks: merge(appended) });
      else writes.push({ kind: 'replace', doc: { _id: base + name, order: this.order, attempt: this.attempt, from: slot.from, to: slot.to, at, chunks: merge(slot.chunks) } });
    }
    return { writes, current: cur, headSlots, tailSlotsUsed };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      await this.flushing;
      if (!this.headPending.length && !this.tailPending.length) return;
      // The last batch keeps the pace too (one write per flushMs); the claim of the next
      // order does not wait for it (the loop records off the claim's path).
      const wait = this.lastFlush + this.flushMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await retrying(() => this.write(), { what: `writing the output of ${this.hex}`, log: this.log, limitMs: this.opts.closeLimitMs ?? 30_000 });
    } catch (err) {
      this.log(`waiter: the last output of ${this.hex} was not written: ${(err as Error).message}`);
    }
  }
}

function size(pieces: Piece[]): number {
  return pieces.reduce((n, p) => n + p.d.length, 0);
}

/** Consecutive pieces of one stream as one chunk. */
function merge(pieces: Piece[]): Chunk[] {
  const out: { s: StreamName; parts: Buffer[] }[] = [];
  for (const p of pieces) {
    const last = out.at(-1);
    if (last && last.s === p.s) last.parts.push(p.d);
    else out.push({ s: p.s, parts: [p.d] });
  }
  return out.map((c) => ({ s: c.s, d: binary(c.parts.length === 1 ? Buffer.from(c.parts[0]!) : Buffer.concat(c.parts)) }));
}
