// Usage per attempt (issue 28), the way HTCondor's procd does it without cgroups: the
// order's process group (every process whose pgid is the command's: run.ts makes it
// lead its own) is looked at in /proc at most once a second, one look for all the
// orders this waiter runs, and once more as the command exits. From the looks: the CPU
// (utime + stime of each live process, plus the cutime/cstime of the children it
// reaped), the peak RSS of the tree (the largest sum at one look), and --memory-max.
//
// The race at the end: Node reaps the command before any JavaScript hears of its exit,
// so its /proc entry is gone by the last look, which sees only what outlived it. Its
// CPU is not lost: the reap adds it to this process's cutime, read exactly per pass
// (waited.ts). Its RSS since the previous look is: the peak may miss the last second.
//
// Nothing here is on an order's path: the timer is unref'd, a look reads in slices
// (proc.ts), and a command that ran under a second costs two preads and a kill(0).
import type { ProcessWatch } from '../run.js';
import type { Usage } from '../order.js';
import { groupLeft, hasProc, lookAt, TICK_MS, type GroupLook } from './proc.js';
import { Reaps } from './waited.js';

/** How often the process groups are looked at, at most. */
export const SAMPLE_MS = 1000;

export interface SamplerOptions {
  /** Default SAMPLE_MS (tests look more often). */
  everyMs?: number;
  /** deliver --memory-max: a group whose RSS passes it is reported (onOver) at the look that sees it. */
  memoryMax?: number;
  /** Whether to read /proc (default: whether this box has it); false records wall time only. */
  proc?: boolean;
  /** Where a look that failed is said, once (deliver's log). */
  log?: (line: string) => void;
}

export interface MeterOptions {
  /** Called once, at the first look that finds the group's RSS over --memory-max, with that RSS. */
  onOver?: (rssBytes: number) => void;
}

/** One attempt's command, metered: handed to run.ts as its watch; end() gives the usage once it exited. */
export interface Metering extends ProcessWatch {
  /** The usage, once the command exited and the last look is in; undefined when it never started. */
  end(): Promise<Usage | undefined>;
}

/** What is known of one running command. */
class Metered implements Metering {
  pgid?: number;
  /** When it was spawned (performance.now()). */
  t0 = 0;
  private wallMs = 0;
  /** The most CPU (ticks) one look saw for the group. */
  private cpuTicks = 0;
  private peak?: number;
  private over = false;
  /** A look saw it run. */
  looked = false;
  private done?: Promise<Usage | undefined>;

  constructor(
    private readonly s: Sampler,
    private readonly o: MeterOptions,
  ) {}

  spawned(pid: number): void {
    this.pgid = pid;
    this.t0 = performance.now();
    this.s.add(this);
  }

  exited(): void {
    this.wallMs = Math.round(performance.now() - this.t0);
    this.done = this.s.finish(this).then(({ waited, last }) => this.usage(waited, last));
  }

  end(): Promise<Usage | undefined> {
    return this.done ?? Promise.resolve(undefined);
  }

  /** One look's figures for the group. */
  saw(g: GroupLook, memoryMax: number | undefined): void {
    this.looked = true;
    this.cpuTicks = Math.max(this.cpuTicks, g.cpuTicks);
    this.peak = Math.max(this.peak ?? 0, g.rssBytes);
    if (memoryMax !== undefined && g.rssBytes > memoryMax && !this.over) {
      this.over = true;
      this.o.onOver?.(g.rssBytes);
    }
  }

  private usage(waited: number | undefined, last: GroupLook | undefined): Usage {
    if (!this.s.proc) return { wallMs: this.wallMs, measured: 'wall' };
    if (last) this.saw(last, undefined);
    // No look saw it and its reap was not alone (two commands in one pass): its CPU is not
    // known, and 0 would read as a figure. Its wall time is all that was measured.
    if (waited === undefined && !this.looked) return { wallMs: this.wallMs, measured: 'wall' };
    // What outlived the command is alive, so none of it is in the reap's count: the two add up.
    const ticks = Math.max(this.cpuTicks, waited === undefined ? 0 : waited + (last?.cpuTicks ?? 0));
    return {
      wallMs: this.wallMs,
      cpuMs: ticks * TICK_MS,
      ...(this.peak !== undefined ? { peakRssBytes: this.peak } : {}),
      measured: waited === undefined ? 'proc-sample' : 'proc-sample+wait',
    };
  }
}

/** The looks of one waiter: one timer and one /proc look a tick for every command it runs. */
export class Sampler {
  private readonly live = new Set<Metered>();
  private readonly reaps = new Reaps();
  private timer?: NodeJS.Timeout;
  private looking = false;
  private failedOnce = false;
  private readonly everyMs: number;
  readonly proc: boolean;

  constructor(private readonly o: SamplerOptions = {}) {
    this.everyMs = o.everyMs ?? SAMPLE_MS;
    this.proc = o.proc ?? hasProc();
  }

  /** A meter for one attempt's command: pass it to run.ts as `watch` before the spawn. */
  meter(o: MeterOptions = {}): Metering {
    if (this.proc) this.reaps.spawning();
    return new Metered(this, o);
  }

  add(m: Metered): void {
    if (!this.proc) return;
    this.live.add(m);
    if (!this.timer) {
      // A throw here would be an unhandled rejection, and end the waiter over a figure.
      this.timer = setInterval(() => void this.tick().catch((e: unknown) => this.failed(e)), this.everyMs);
      this.timer.unref();
    }
  }

  /** At the command's exit: its exact CPU if it was alone in its reap pass, and a last look if its group outlived it. */
  async finish(m: Metered): Promise<{ waited?: number; last?: GroupLook }> {
    this.live.delete(m);
    if (!this.proc || m.pgid === undefined) return {};
    const pgid = m.pgid;
    const waited = this.reaps.reaped();
    // Only for a command old enough to have been looked at: a short one's check would cost
    // more than its figures (process.kill throws an ErrnoException for a group that is gone).
    const last = m.looked && groupLeft(pgid) ? (await lookAt(new Set([pgid]))).get(pgid) : undefined;
    const w = await waited;
    return { ...(w !== undefined ? { waited: w } : {}), ...(last ? { last } : {}) };
  }

  private async tick(): Promise<void> {
    if (this.live.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    // A look slower than the interval (a box with many processes) is not stacked on.
    if (this.looking) return;
    this.looking = true;
    try {
      // Only commands at least half an interval old: a look per command at most once an
      // interval, the first 0.5-1.5 intervals after its start. A box running short
      // orders (the 2,000 × `true` bench) never pays for a look at all.
      const now = performance.now();
      const metered = [...this.live].filter((m) => now - m.t0 >= this.everyMs / 2);
      if (metered.length === 0) return;
      const looks = await lookAt(new Set(metered.map((m) => m.pgid!)));
      for (const m of metered) {
        const g = looks.get(m.pgid!);
        // Ended during the look: its own last look and the reap count stand.
        if (!g || !this.live.has(m)) continue;
        // One meter's failure (its onOver) does not cost the others this look.
        try {
          m.saw(g, this.o.memoryMax);
        } catch (e) {
          this.failed(e);
        }
      }
    } finally {
      this.looking = false;
    }
  }

  /** Said once: a failure that repeats each second would flood the log; the looks go on. */
  private failed(e: unknown): void {
    if (this.failedOnce) return;
    this.failedOnce = true;
    this.o.log?.(`waiter: looking at the commands' usage failed (the looks go on): ${String(e)}`);
  }
}
