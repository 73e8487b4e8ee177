// deliver --checkpoint, per attempt: restore before the command starts, take the
// checkpoints the command marks as it runs (beside it: the command never waits for a
// store), store the last one before an order is handed back, and restart the command in
// place when it exits with --checkpoint-exit-code. The loop calls it at four points
// (src/deliver/attempt.ts): begin, env, running, end.
//
// How a command marks a checkpoint complete: it writes its files, then creates the file
// named by $WAITER_CHECKPOINT_READY (`touch "$WAITER_CHECKPOINT_READY"`). Waiter takes the
// marker (renames it away) and stores the files matching --checkpoint, at most once per
// --checkpoint-every; at once when the waiter is told to stop or the box is going away;
// and after the command exits without finishing (a signal, a failure), if it left a
// marker. Exiting with --checkpoint-exit-code marks a checkpoint too.
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectId } from 'mongodb';
import type { Claimed, Outcome } from '../order.js';
import type { Running } from '../run.js';
import { retrying } from '../deliver/retry.js';
import type { Shutdown } from '../deliver/shutdown.js';
import { sizeText } from '../output/size.js';
import { counted } from '../words.js';
import type { CheckpointOptions } from './options.js';
import { restoreCheckpoint, type RestoreQueries } from './restore.js';
import { OWN_PREFIX, storeCheckpoint, type StoreQueries, type Stored } from './store.js';

/** The marker the command creates once a checkpoint is complete ($WAITER_CHECKPOINT_READY). */
export const MARKER = `${OWN_PREFIX}-ready`;
/** The marker once taken: renamed, so a marker made again meanwhile is the next checkpoint's. */
const TAKEN = `${OWN_PREFIX}-taken`;
/** How often the marker is looked at, at most (a stat-free rename attempt each time). */
const LOOK_MS = 1000;
/** How long a restore may ride out a kitchen outage before the command starts from scratch. */
const RESTORE_RETRY_MS = 60_000;

export type CheckpointQueriesUsed = StoreQueries & RestoreQueries;

/** The deps-level hook (DeliverDeps.checkpoint): one Keeper per attempt that has a folder. */
export class Checkpointer {
  constructor(
    private readonly q: CheckpointQueriesUsed,
    readonly o: CheckpointOptions,
    private readonly log: (line: string) => void,
    private readonly shutdown: Shutdown,
  ) {}

  /** Restores the order's checkpoint into `workdir` (if it has one that checks out), and keeps the attempt's from then on. */
  async begin(c: Claimed, workdir: string): Promise<Keeper> {
    let resumed: number | undefined;
    if (c.checkpoint) {
      try {
        const r = await retrying(() => restoreCheckpoint(this.q, c, workdir, this.log), {
          what: `restoring the checkpoint of ${c.id.toHexString()}`,
          log: this.log,
          limitMs: RESTORE_RETRY_MS,
        });
        resumed = r === 'stopped' ? undefined : r;
      } catch (err) {
        this.log(`waiter: the checkpoint of ${c.id.toHexString()} was not restored (${(err as Error).message.split('\n')[0]}); the command starts from scratch`);
      }
      if (resumed !== undefined) this.log(`waiter: ${c.id.toHexString()} resumes from the checkpoint of attempt ${resumed}`);
    }
    return new Keeper(this.q, this.o, this.log, this.shutdown, c, workdir, resumed);
  }

  private readonly drops = new Set<Promise<void>>();

  /** The order was recorded DONE, its checkpoint no longer current: its files go (beside the loop; what fails to go, clean removes). */
  dropped(c: Claimed): void {
    const d = this.q.files
      .removeFor([c.id])
      .then(() => undefined)
      .catch((err: unknown) => this.log(`waiter: the checkpoint files of ${c.id.toHexString()} were not removed: ${(err as Error).message}`))
      .finally(() => this.drops.delete(d));
    this.drops.add(d);
  }

  /** Before the waiter closes the kitchen: the removals under way end. */
  async drain(): Promise<void> {
    await Promise.all([...this.drops]);
  }
}

export class Keeper {
  /** The set now current: the one restored (even if it did not check out: it is replaced all the same), then this attempt's last. */
  private current: ObjectId | undefined;
  private storing: Promise<void> | undefined;
  /** When the last store began (epoch ms): the next waits --checkpoint-every. */
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void)[] = [];
  private ended = false;
  /** The exit with --checkpoint-exit-code that ended the command was stored already (stopped while it was). */
  private exitStored = false;
  private readonly id: string;

  constructor(
    private readonly q: StoreQueries,
    private readonly o: CheckpointOptions,
    private readonly log: (line: string) => void,
    private readonly shutdown: Shutdown,
    private readonly c: Claimed,
    private readonly workdir: string,
    /** The attempt whose checkpoint was restored, if one was. */
    readonly resumed: number | undefined,
  ) {
    this.current = c.checkpoint?.set;
    this.id = c.id.toHexString();
  }

  /** Whether the order has a checkpoint (restored or not, or stored by this attempt). */
  get holds(): boolean {
    return this.current !== undefined;
  }

  /** What the command is told: where to mark a checkpoint complete, and which attempt's it starts from. */
  get env(): Record<string, string> {
    return { WAITER_CHECKPOINT_READY: join(this.workdir, MARKER), ...(this.resumed !== undefined ? { WAITER_RESUMED: String(this.resumed) } : {}) };
  }

  /**
   * The command as started (`first`), kept looking at its marker; with --checkpoint-exit-code,
   * an exit with it stores the folder's checkpoint and starts `again` in the same folder,
   * the same attempt, until it exits otherwise or is stopped (a waiter draining lets it go
   * on, as it lets every running order finish).
   */
  running(first: Running, again: (env: Record<string, string>) => Running): Running {
    const tick = Math.max(50, Math.min(LOOK_MS, this.o.everyMs));
    // unref: a look never keeps the waiter alive (end() clears it; this is for an attempt that throws before).
    this.timer = setInterval(() => this.look(), tick).unref();
    // Told to stop, or the box going away: the command's checkpoint is taken now, whatever --checkpoint-every says.
    this.unsubscribe.push(this.shutdown.onStop(() => this.look('the waiter told to stop')));
    this.unsubscribe.push(this.shutdown.onKill(() => this.look('the command told to stop')));
    let current = first;
    let stopped = false;
    const code = this.o.exitCode;
    const outcome = (async (): Promise<Outcome> => {
      for (;;) {
        const o = await current.outcome;
        if (code === undefined || o.exitCode !== code || stopped) return o;
        await this.settled();
        const r = await this.store(`exit code ${code}`);
        if (stopped) {
          this.exitStored = true;
          return o;
        }
        this.log(`waiter: ${this.id} exited ${code} (a checkpoint${'stored' in r ? '' : ', not stored'}): starting it again in its folder, same attempt`);
        current = again({ WAITER_RESUMED: String(this.c.attempt) });
      }
    })();
    return {
      outcome,
      terminate: (deadlineMs) => {
        stopped = true;
        current.terminate(deadlineMs);
      },
    };
  }

  /**
   * After the command exited: no more looks; the store under way is waited for; when the
   * order is not finished (`final`: handed back, failed, to be run again), a checkpoint the
   * command marked (or its exit with --checkpoint-exit-code) is stored now.
   */
  async end(final: boolean, outcome?: Outcome): Promise<void> {
    this.ended = true;
    clearInterval(this.timer);
    for (const u of this.unsubscribe.splice(0)) u();
    await this.settled();
    if (!final) return;
    const exited = this.o.exitCode !== undefined && outcome?.exitCode === this.o.exitCode && !this.exitStored;
    if (exited || (await this.take())) await this.store(exited ? `exit code ${this.o.exitCode}` : 'before handing the order back');
  }

  private async settled(): Promise<void> {
    while (this.storing) await this.storing;
  }

  /** A look at the marker: a store when there is one and --checkpoint-every has passed (or now, for the reason `now`). Never more than one at a time. */
  private look(now?: string): void {
    if (this.ended || this.storing) return;
    if (now === undefined && Date.now() - this.last < this.o.everyMs) return;
    const s = (async () => {
      if (await this.take()) await this.store(now ?? 'marked');
    })()
      .catch((err: unknown) => this.log(`waiter: the checkpoint of ${this.id} was not stored: ${(err as Error).message}`))
      .finally(() => {
        if (this.storing === s) this.storing = undefined;
      });
    this.storing = s;
  }

  /** Takes the marker (renames it away): true when the command had marked a checkpoint since the last take. */
  private async take(): Promise<boolean> {
    try {
      await rename(join(this.workdir, MARKER), join(this.workdir, TAKEN));
      return true;
    } catch {
      return false;
    }
  }

  /** Stores the folder's checkpoint now; says how it went. A failure puts the marker back, so the next look tries again. */
  private async store(why: string): Promise<Stored> {
    this.last = Date.now();
    const r = await storeCheckpoint(this.q, this.c, this.workdir, this.o, this.current);
    if ('stored' in r) {
      this.current = r.stored.set;
      this.log(`waiter: checkpoint of ${this.id} stored (${counted(r.stored.files, 'file')}, ${sizeText(r.stored.bytes)}; ${why})`);
    } else if ('fenced' in r) {
      this.log(`waiter: checkpoint of ${this.id} not kept: the order is no longer this attempt's`);
    } else {
      this.log(`waiter: checkpoint of ${this.id} not stored (${'skipped' in r ? r.skipped : r.failed}); the previous one stays`);
      if ('failed' in r) await writeFile(join(this.workdir, MARKER), '', { flag: 'a' }).catch(() => undefined);
    }
    return r;
  }
}
