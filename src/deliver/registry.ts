// This waiter's document in the registry (`<list>.waiters`), kept from memory: written
// at start, every --heartbeat by its own timer (busy or idle), within CHANGE_CHECK_MS
// of a change between idle and busy (its first claim, the list running dry, more orders
// running than last written), and at exit. The loop only updates what it runs in
// memory, so an order's critical path never waits on it; a fleet in steady state
// writes once per heartbeat, whatever the number of orders.
//
// The write answers with the document after it: what others asked of this waiter
// (`waiter pause`, `waiter stop`) comes back with it, handed to `heard` (steer.ts). A
// starting waiter also reads the list's pause once, after its first write and before
// its first claim (start() resolves then, and not before both got through): a pause
// made meanwhile is never missed.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { cutArguments, type Paused, type StopAsked, type WaiterDoc } from '../fleet.js';
import type { Kitchen } from '../kitchen.js';
import type { JobProgress } from '../order.js';
import { retrying } from './retry.js';
import type { Shutdown } from './shutdown.js';

/** What others asked of this waiter, as its registry write read it back. */
export interface Asked {
  paused?: Paused;
  stop?: StopAsked;
}

/** Where the registry is written (FleetQueries.saveWaiter, ControlQueries.joinPause). */
export interface RegistryStore {
  /** The write; its answer, what the document holds after it and whether the write created it (a fake may answer nothing). */
  saveWaiter(doc: WaiterDoc): Promise<(Asked & { created?: boolean }) | null | void>;
  /** The list's pause joined at start (ControlQueries.joinPause); absent: the list is never paused. */
  joinPause?(id: string): Promise<Paused | null>;
}

/** What the loop knows at any moment; read by the timer. */
export interface LoopView {
  running: { id: string; arguments: string[]; progress?: JobProgress }[];
  delivered: number;
  failed: number;
  /** Results being written now (ended, not yet in `delivered`): see WaiterDoc.recording. */
  recording?: { id: string; stop: Date }[];
}

/** The kitchen's registry write and pause read, as the Registry takes them. */
export function registryStore(k: Pick<Kitchen, 'fleet' | 'control'>): RegistryStore {
  return {
    saveWaiter: async (d) => {
      const { doc, created } = await k.fleet.saveWaiter(d);
      return { ...(doc?.paused ? { paused: doc.paused } : {}), ...(doc?.stop ? { stop: doc.stop } : {}), created };
    },
    joinPause: (id) => k.control.joinPause(id),
  };
}

export interface RegistryInfo {
  name: string;
  command: string[];
  concurrency: number;
  leaseMs: number;
  heartbeatMs: number;
  /** Secrets out of the exit reason (an error may quote them); the command comes masked already. */
  mask?: (text: string) => string;
  /** Run after the first write (and the pause read), on the same chain (deliver: the fleet view's indexes). */
  prepare?: () => Promise<void>;
  /** Told what each write read back (not the exit write's): src/deliver/steer.ts. */
  heard?: (asked: Asked) => void;
  /** How often memory is compared with what was last written (default CHANGE_CHECK_MS). */
  changeCheckMs?: number;
}

/**
 * The fleet view is right within about this long (plus one write) of a waiter's first
 * claim and of each idle<->busy change. In memory only: no round trip unless it changed.
 */
export const CHANGE_CHECK_MS = 250;

export class Registry {
  readonly id = randomUUID();
  private readonly started = new Date();
  private timer?: NodeJS.Timeout;
  private view: () => LoopView = () => ({ running: [], delivered: 0, failed: 0 });
  /** The write in flight, so writes never overtake each other (the exit write is last). */
  private writing: Promise<void> = Promise.resolve();
  private busy = false;
  private failing = false;
  private changes?: NodeJS.Timeout;
  /** What the last write said: how many orders ran. */
  private written = 0;
  /** `delivered` at the last look: an order recorded since then means busy, even between two orders. */
  private lastDelivered = 0;
  /** The list's pause was read (joinPause) since the document was last created: until then every write reads it. */
  private joined = false;

  constructor(
    private readonly kitchen: RegistryStore,
    private readonly info: RegistryInfo,
    private readonly log: (line: string) => void,
    private readonly host = hostname(),
    private readonly pid = process.pid,
  ) {}

  /**
   * First write, then one every heartbeat until end(). Resolves once a write and the
   * read of the list's pause have both got through: the first claim waits for that
   * alone, not for the fleet view's indexes. A waiter that claimed before would claim
   * on a paused list; so a kitchen away is retried (retrying: capped backoff, up to its
   * limit, then thrown as a claim's would be), and a shutdown meanwhile gives up.
   */
  async start(view: () => LoopView, shutdown?: Shutdown): Promise<void> {
    this.view = view;
    await retrying(() => this.write(undefined, true), { what: 'the waiter registry', log: this.log, shutdown, once: true });
    if (this.info.prepare) {
      // One chain: the registry's requests never compete with each other for connections.
      const prepare = this.info.prepare;
      this.writing = this.writing.then(() => prepare().catch((err: unknown) => this.log(`waiter: ${err instanceof Error ? err.message : String(err)}`)));
    }
    // A beat while the last write still waits on the kitchen (an outage) is skipped, not queued.
    this.timer = setInterval(() => void (this.busy ? undefined : this.write()), this.info.heartbeatMs);
    this.timer.unref();
    this.changes = setInterval(() => {
      if (this.changed() && !this.busy) void this.write();
    }, this.info.changeCheckMs ?? CHANGE_CHECK_MS);
    this.changes.unref();
  }

  /**
   * Memory differs from the last write in what the fleet view shows: busy (orders
   * running) vs idle, or more orders running than written (a waiter starting -x 4).
   * Between two orders (none running for an instant, one just recorded) is still busy,
   * so a steady stream of orders never reads as a change.
   */
  private changed(): boolean {
    const v = this.view();
    const recorded = v.delivered !== this.lastDelivered;
    this.lastDelivered = v.delivered;
    const n = v.running.length;
    if (n === 0) return this.written > 0 && !recorded;
    return this.written === 0 || n > this.written;
  }

  /** Last write: how the waiter ended. */
  async end(reason: string): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.changes);
    await this.write({ ended: new Date(), reason: this.info.mask ? this.info.mask(reason) : reason });
  }

  /** The document as of now. */
  doc(now = new Date(), end?: { ended: Date; reason: string }): WaiterDoc {
    const v = this.view();
    const first = v.running[0];
    return {
      _id: this.id,
      name: this.info.name,
      host: this.host,
      pid: this.pid,
      command: this.info.command,
      concurrency: this.info.concurrency,
      lease: this.info.leaseMs,
      heartbeat: this.info.heartbeatMs,
      started: this.started,
      seen: now,
      expires: new Date(+now + this.info.leaseMs),
      running: v.running.map((r) => r.id),
      ...(first ? { current: { order: first.id, arguments: cutArguments(first.arguments), ...(first.progress ? { progress: first.progress } : {}) } } : {}),
      delivered: v.delivered,
      failed: v.failed,
      ...(v.recording?.length ? { recording: v.recording.map((r) => ({ order: r.id, stop: r.stop })) } : {}),
      ...(end ?? {}),
    };
  }

  /**
   * A failed write is logged once and retried by the next heartbeat: after start, the
   * registry never stops a waiter. `strict` (start's): thrown instead, for retrying.
   */
  private write(end?: { ended: Date; reason: string }, strict = false): Promise<void> {
    this.busy = true;
    const written = this.writing.then(async () => {
      try {
        await this.save(end);
        if (this.failing) this.log('waiter: the waiter registry is written again');
        this.failing = false;
      } catch (err) {
        if (strict) throw err;
        if (!this.failing) this.log(`waiter: could not write the waiter registry, will retry: ${err instanceof Error ? err.message : String(err)}`);
        this.failing = true;
      } finally {
        this.busy = false;
      }
    });
    this.writing = written.catch(() => undefined);
    return written;
  }

  /** One write; what it read back goes to `heard`. A document written fresh (no pause on it yet) also reads the list's own (joinPause). */
  private async save(end?: { ended: Date; reason: string }): Promise<void> {
    const doc = this.doc(new Date(), end);
    this.written = doc.running.length;
    const after = await this.kitchen.saveWaiter(doc);
    if (end) return;
    const asked: Asked = { ...(after?.paused ? { paused: after.paused } : {}), ...(after?.stop ? { stop: after.stop } : {}) };
    // Created: the first write, or a whole `clean` emptied the registry meanwhile. Joined
    // only once the read got through: the next write's document, with no pause copied on
    // it, would otherwise resume a waiter of a paused list.
    if (after?.created) this.joined = false;
    if (!this.joined && this.kitchen.joinPause) {
      const p = asked.paused ? null : await this.kitchen.joinPause(this.id);
      if (p) asked.paused = p;
      this.joined = true;
    }
    this.info.heard?.(asked);
  }
}
