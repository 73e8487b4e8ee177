// What the waiter loop tells about each order, as typed events (the shape of BullMQ's
// Worker events): the registry's view of what runs, the log lines and the pipeline
// releases follow them instead of being called from the loop's steps. Emitted
// synchronously where the loop already is: no await and no round trip added per order.
import { message } from '../errors.js';
import type { Claimed, Finish, JobProgress } from '../order.js';
import type { Releaser } from '../pipeline/release.js';
import type { Ran } from './failure.js';
import type { LoopView } from './registry.js';

export interface LoopEventMap {
  /** A claim took this order. */
  claimed: [c: Claimed];
  /** Its attempt starts (it was not lost too often): about to be prepared and run. */
  started: [c: Claimed];
  /** Its attempt is over (ran undefined: preparing it threw); what it ran to is about to be written, if anything. */
  ended: [c: Claimed, ran: Ran | undefined];
  /** Its result was written: DONE, ERROR, READY for a retry, or READY again (INTERRUPTED; boxFailure when this box failed). */
  finished: [c: Claimed, finish: Finish, boxFailure: string | undefined];
  /** Nothing written: the order was taken away while it ran ('stopped': its stop said so, nothing was sent; 'fenced': the write found it no longer ours). */
  lost: [c: Claimed, how: 'stopped' | 'fenced'];
}

type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * A tiny typed listener list: no EventEmitter machinery (error events, max listeners) on
 * the per-order path. A listener that throws is logged (once per listener and event) and
 * the others still run: some events are emitted outside processOrder's try, and a log
 * line or a view that fails must not stop the waiter or leave an order unrecorded.
 */
export class LoopEvents {
  private readonly listeners: { [K in keyof LoopEventMap]?: Listener<LoopEventMap[K]>[] } = {};
  /** Listeners whose failure was logged already, per event. */
  private readonly failed: { [K in keyof LoopEventMap]?: Set<unknown> } = {};

  constructor(private readonly log: (line: string) => void) {}

  on<K extends keyof LoopEventMap>(name: K, l: Listener<LoopEventMap[K]>): this {
    ((this.listeners[name] ??= []) as Listener<LoopEventMap[K]>[]).push(l);
    return this;
  }

  emit<K extends keyof LoopEventMap>(name: K, ...args: LoopEventMap[K]): void {
    const ls = this.listeners[name];
    if (!ls) return;
    for (const l of ls) {
      try {
        l(...args);
      } catch (err) {
        this.failure(name, l, err);
      }
    }
  }

  private failure(name: keyof LoopEventMap, l: unknown, err: unknown): void {
    const seen = (this.failed[name] ??= new Set());
    if (seen.has(l)) return;
    seen.add(l);
    try {
      this.log(`waiter: a listener of '${name}' failed (said once; the waiter goes on): ${message(err)}`);
    } catch {
      // The log itself is what failed: nothing else to tell it with.
    }
  }
}

/** What runs and what is being written, for the registry's timer and the shutdown message: kept from the events, read by nobody on an order's path. */
export class Board {
  /** Orders running now, by id. */
  readonly running = new Map<string, Claimed>();
  /** Results being written (ended, not yet counted), by order id: the registry's, so a dead box's count is settled from the orders. */
  readonly recording = new Map<string, Date>();

  constructor(
    events: LoopEvents,
    /** What each running order's command last said of its progress (progress.ts), read from memory. */
    private readonly progressOf?: (c: Claimed) => JobProgress | undefined,
  ) {
    events
      .on('started', (c) => this.running.set(c.id.toHexString(), c))
      .on('ended', (c, ran) => {
        const id = c.id.toHexString();
        this.running.delete(id);
        if (ran?.finish) this.recording.set(id, ran.finish.stop);
      })
      .on('finished', (c) => this.recording.delete(c.id.toHexString()))
      .on('lost', (c) => this.recording.delete(c.id.toHexString()));
  }

  view(counts: { delivered: number; failed: number }): LoopView {
    return {
      running: [...this.running].map(([id, c]) => {
        const progress = this.progressOf?.(c);
        return { id, arguments: c.arguments, ...(progress ? { progress } : {}) };
      }),
      delivered: counts.delivered,
      failed: counts.failed,
      recording: [...this.recording].map(([id, stop]) => ({ id, stop })),
    };
  }
}

/** The loop's lines about each order on stderr. */
export function logLines(events: LoopEvents, log: (line: string) => void): void {
  events
    .on('started', (c) => log(`waiter: delivering ${c.id.toHexString()} (attempt ${c.attempt}): ${JSON.stringify(c.arguments)}`))
    .on('lost', (c, how) => {
      // 'stopped': the attempt said so already, when its lease was lost (attempt.ts).
      if (how === 'fenced') log(`waiter: order ${c.id.toHexString()} was reset or taken over while it ran; its result was not recorded`);
    })
    .on('finished', (c, fin, boxFailure) => {
      const id = c.id.toHexString();
      if (fin.result === 'INTERRUPTED') log(`waiter: ${id} put back READY (${boxFailure !== undefined ? 'not run: this box failed' : 'interrupted'})`);
      else if (fin.result !== 'DONE') {
        const retry = fin.due ? ` (will retry after ${fin.due.toISOString()})` : ' (will retry)';
        log(`waiter: ${id} failed: ${fin.error ?? ''}${fin.status === 'READY' ? retry : ''}`);
      }
    });
}

/** Pipelines: an order recorded DONE or ERROR releases what waited for it (in the background: Releaser.finished). */
export function releaseAfter(events: LoopEvents, releaser: Pick<Releaser, 'finished'>): void {
  events.on('finished', (c, fin) => {
    if (fin.status === 'DONE' || fin.status === 'ERROR') releaser.finished(c.id);
  });
}
