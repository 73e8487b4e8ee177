// The one in-memory kitchen of the in-process loop tests (deliver-loop, containment-loop,
// fleet): claim, heartbeat, finish, columns and the registry's saveWaiter over a list of
// rows, every call kept for the test to look at. What a test needs differently is a
// field to set (a gate on finish, a failing finish, the heartbeat's answer), not a copy.
// Fenced like the real kitchen: a claim a heartbeat found not ours (lost, cancelled,
// held) is refused its finish, so a test cannot pass on a write the product never gets.
import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import type { DeliverDeps } from '../../src/deliver/loop.js';
import type { WaiterDoc } from '../../src/fleet.js';
import type { Claimed, Finish, LeaseAnswer } from '../../src/order.js';

export interface FakeRow {
  args: string[];
  columns?: string;
  /** Given on its first claim and kept: a requeued order is the same document. */
  id?: ObjectId;
}

export interface FakeOptions {
  /** A finish that puts an order back READY puts it first in the list again (a retry this waiter can take). */
  requeue?: boolean;
  /** The kitchen's column names read (absent: the kitchen has none to read). */
  columns?: () => Promise<string[] | null>;
}

export class FakeKitchen {
  readonly ready: FakeRow[];
  /** Every claim: its first argument ('(none)' when nothing was due) and the records in flight when it was made. */
  readonly claims: { args: string; pendingRecords: number }[] = [];
  /** Every finish written, in order. */
  readonly finishes: { args: string[]; f: Finish }[] = [];
  /** Every call in order: 'claim', 'finish', 'registry' and 'registry-end' (saveWaiter). */
  readonly calls: string[] = [];
  /** Every registry document saved. */
  readonly saved: WaiterDoc[] = [];
  pendingRecords = 0;
  /** finish() waits for it (if set) before it writes. */
  gate?: Promise<void>;
  failFinish?: Error;
  /** Claims answered as if made this long ago: the lease is that much nearer its end. */
  claimedAgoMs = 0;
  /** What each heartbeat answers. */
  answer: () => LeaseAnswer = () => 'ours';
  private readonly attempts = new Map<string, number>();
  /** Claims (by token) a heartbeat answered other than 'ours': their finish is refused, as the real fence does. */
  private readonly fenced = new Set<string>();
  /** Each claimed row by its id, to put back as it was (columns, id) when a finish makes it READY again. */
  private readonly rows = new Map<string, FakeRow>();

  constructor(
    rows: (string | FakeRow)[],
    private readonly o: FakeOptions = {},
  ) {
    this.ready = rows.map((r) => (typeof r === 'string' ? { args: [r] } : r));
  }

  /** Each finish as {first argument, status}. */
  get written(): { args: string; status: Finish['status'] }[] {
    return this.finishes.map(({ args, f }) => ({ args: args[0]!, status: f.status }));
  }

  kitchen(): DeliverDeps['kitchen'] & { saveWaiter: (d: WaiterDoc) => Promise<void> } {
    const columns = this.o.columns;
    return {
      claim: async (waiter, _lease, now = new Date(), token = randomUUID()) => {
        this.calls.push('claim');
        const row = this.ready.shift();
        this.claims.push({ args: row?.args[0] ?? '(none)', pendingRecords: this.pendingRecords });
        if (!row) return null;
        const id = (row.id ??= new ObjectId());
        const attempt = (this.attempts.get(id.toHexString()) ?? 0) + 1;
        this.attempts.set(id.toHexString(), attempt);
        this.rows.set(id.toHexString(), row);
        return {
          id,
          token,
          attempt,
          waiter,
          start: new Date(+now - this.claimedAgoMs),
          arguments: row.args,
          history: [],
          ...(row.columns ? { columns: row.columns } : {}),
        } satisfies Claimed;
      },
      heartbeat: async (c) => {
        const answer = this.answer();
        if (answer !== 'ours') this.fenced.add(c.token);
        return answer;
      },
      finish: async (c, f) => {
        this.calls.push('finish');
        this.pendingRecords++;
        try {
          await this.gate;
          if (this.failFinish) throw this.failFinish;
          if (this.fenced.has(c.token)) return false;
          this.finishes.push({ args: c.arguments, f });
          const row = this.rows.get(c.id.toHexString());
          if (this.o.requeue && f.status === 'READY' && row) this.ready.unshift(row);
          return true;
        } finally {
          this.pendingRecords--;
        }
      },
      ...(columns ? { columns } : {}),
      saveWaiter: async (d) => {
        this.calls.push(d.ended ? 'registry-end' : 'registry');
        this.saved.push(structuredClone(d));
      },
    };
  }
}
