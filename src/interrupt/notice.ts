// What every watcher hands over: one notice that the box is going away, and how a
// watcher polls beside the waiter (unref'd timers, one request at a time, a failing
// source said once on the log).

/**
 * SIGTERM to SIGKILL at least, however near the notice's time: a command's time to trap
 * SIGTERM and save something (and no deadline is ever before when the notice was seen).
 */
export const MIN_NOTICE_MS = 5000;

const ISO_WITH_ZONE = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/;

/** An ISO 8601 time WITH a zone (Z or an offset) in epoch ms, else NaN: one without is read as local time, hours off. */
export function isoTime(text: string): number {
  return ISO_WITH_ZONE.test(text) ? Date.parse(text) : NaN;
}

/** A notice that the box is going away. */
export interface Notice {
  /** Who said so: aws, gcp, or `file <path>`. */
  from: string;
  /** What will happen, as the source says it: terminate, stop, hibernate, preempted, … */
  action: string;
  /** When this waiter saw it. */
  seen: Date;
  /** When the box goes away. */
  deadline: Date;
}

/** The registry's reason and each interrupted order's error: "spot interruption notice (aws) at <seen>: terminate at <deadline>". */
export function noticeText(n: Notice): string {
  const what = n.from.startsWith('file') ? 'interruption notice' : 'spot interruption notice';
  return `${what} (${n.from}) at ${n.seen.toISOString()}: ${n.action} at ${n.deadline.toISOString()}`;
}

/** A watcher running beside the waiter. */
export interface Watcher {
  /** Looks made so far (tests wait on it). */
  readonly polls: number;
  stop(): void;
}

/**
 * Runs `look` now and then again `gapMs()` after each look ends (never two at once),
 * until it returns a notice or stop() is called (which aborts a look in flight). Timers
 * are unref'd: a watcher never keeps the waiter alive. A look that throws is said once
 * on the log (`failing`), not fatal: the next look comes as usual; so is an onNotice
 * that throws (always said: it happens once).
 */
export function poll(
  look: (signal: AbortSignal) => Promise<Notice | undefined>,
  gapMs: (failed: boolean) => number,
  onNotice: (n: Notice) => void,
  failing: (err: unknown) => void,
): Watcher {
  const abort = new AbortController();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let polls = 0;
  let said = false;
  const next = (failed: boolean) => {
    if (stopped) return;
    timer = setTimeout(() => void once(), gapMs(failed));
    timer.unref();
  };
  const once = async () => {
    let n: Notice | undefined;
    let failed = false;
    try {
      n = await look(abort.signal);
    } catch (err) {
      failed = true;
      if (!said && !stopped) failing(err);
      said = true;
    }
    polls++;
    if (stopped) return;
    if (n) {
      stopped = true;
      // Called from a timer: a throw here would be an unhandled rejection, the process's end.
      try {
        onNotice(n);
      } catch (err) {
        failing(err);
      }
      return;
    }
    next(failed);
  };
  void once();
  return {
    get polls() {
      return polls;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      abort.abort();
    },
  };
}
