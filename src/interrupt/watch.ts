// deliver --interruptions aws|gcp|off and --interruption-file: the watchers started
// beside the waiter, and what a notice does to it. The watchers cost the kitchen
// nothing and sit on no order's path: a notice reaches the waiter only through its
// Shutdown (src/deliver/shutdown.ts, preempt()), which stops claiming, tells every
// running command (SIGTERM) and SIGKILLs it NOTICE_MARGIN_MS before the deadline; its
// order is recorded READY at once, INTERRUPTED, its attempt not counted (STOPPED.preempt).
import { AWS_ENDPOINT, AWS_POLL_MS, METADATA_TIMEOUT_MS, watchAws } from './aws.js';
import { FILE_POLL_MS, fileNoticeNow, watchFile } from './file.js';
import { GCP_ENDPOINT, GCP_GAP_MS, GCP_RETRY_MS, GCP_WAIT_S, watchGcp } from './gcp.js';
import { MIN_NOTICE_MS, noticeText, type Notice, type Watcher } from './notice.js';

export type Cloud = 'aws' | 'gcp' | 'off';
export const CLOUDS: readonly Cloud[] = ['aws', 'gcp', 'off'];

/** The documented metadata address of each cloud (--metadata-endpoint's default). */
export const METADATA_ENDPOINTS: Readonly<Record<Exclude<Cloud, 'off'>, string>> = { aws: AWS_ENDPOINT, gcp: GCP_ENDPOINT };

/**
 * Taken off the notice's deadline for the commands: after their SIGKILL the waiter still
 * records their orders READY (a round trip each, slots in parallel) and writes its
 * registry's last word, with room for a slow kitchen, before the box goes. A constant:
 * on EC2 commands get 110 s of the 120, on GCP 20 of the 30.
 */
export const NOTICE_MARGIN_MS = 10_000;

export interface InterruptOptions {
  cloud: Cloud;
  /** The metadata service's address (a stand-in's, in tests). */
  endpoint?: URL;
  /** --interruption-file. */
  file?: string;
}

/** What a notice acts on: src/deliver/shutdown.ts's Shutdown. */
export interface Preemptible {
  preempt(notice: string, killDeadlineMs: number): void;
  describe(): string;
}

/** How often each watcher looks (the documented rates; tests shorten them). */
export interface Rates {
  awsEveryMs: number;
  gcpGapMs: number;
  gcpRetryMs: number;
  gcpWaitS: number;
  fileEveryMs: number;
  timeoutMs: number;
}

export const RATES: Rates = {
  awsEveryMs: AWS_POLL_MS,
  gcpGapMs: GCP_GAP_MS,
  gcpRetryMs: GCP_RETRY_MS,
  gcpWaitS: GCP_WAIT_S,
  fileEveryMs: FILE_POLL_MS,
  timeoutMs: METADATA_TIMEOUT_MS,
};

/**
 * Starts the watchers `o` asks for; the first notice preempts `shutdown` and stops them
 * all. A file already there is a notice at once, before the first claim. Returns the stop.
 */
export function watchInterruptions(o: InterruptOptions, shutdown: Preemptible, log: (line: string) => void, rates: Rates = RATES): () => void {
  const watchers: Watcher[] = [];
  let heard = false;
  const stopAll = () => {
    for (const w of watchers) w.stop();
  };
  const onNotice = (n: Notice) => {
    if (heard) return;
    heard = true;
    stopAll();
    try {
      act(n, shutdown, log);
    } catch (err) {
      log(`waiter: acting on the interruption notice failed (${why(err)}); going on`);
    }
  };
  const now = o.file !== undefined ? fileNoticeNow(o.file) : undefined;
  if (now) {
    onNotice(now);
    return stopAll;
  }
  if (o.cloud !== 'off') {
    const endpoint = o.endpoint ?? new URL(METADATA_ENDPOINTS[o.cloud]);
    const failing = (err: unknown) =>
      log(
        `waiter: --interruptions ${o.cloud}: no answer from the metadata service at ${endpoint.origin} (${why(err)}); not on ${o.cloud === 'aws' ? 'EC2' : 'Compute Engine'}? Watching on quietly`,
      );
    const ignoring = (what: string) => log(`waiter: --interruptions aws: spot/instance-action answered ${what}: not taken as a notice; watching on (said once)`);
    watchers.push(
      o.cloud === 'aws'
        ? watchAws({ endpoint, everyMs: rates.awsEveryMs, timeoutMs: rates.timeoutMs }, onNotice, failing, ignoring)
        : watchGcp({ endpoint, gapMs: rates.gcpGapMs, retryMs: rates.gcpRetryMs, waitS: rates.gcpWaitS, timeoutMs: rates.timeoutMs }, onNotice, failing),
    );
  }
  if (o.file !== undefined) {
    const file = o.file;
    watchers.push(
      watchFile({ path: file, everyMs: rates.fileEveryMs }, onNotice, (err) => log(`waiter: --interruption-file ${file}: cannot look for it (${why(err)}); looking on quietly`)),
    );
  }
  return stopAll;
}

/** The notice, acted on: no new claims; running commands told now, SIGKILLed NOTICE_MARGIN_MS before the deadline (MIN_NOTICE_MS after SIGTERM at least). */
export function act(n: Notice, shutdown: Preemptible, log: (line: string) => void): void {
  const text = noticeText(n);
  const killMs = Math.max(MIN_NOTICE_MS, +n.deadline - Date.now() - NOTICE_MARGIN_MS);
  log(`waiter: ${text}: no new orders; telling ${shutdown.describe()} to stop (SIGTERM now, SIGKILL in ${Math.round(killMs / 1000)} s) and putting them back READY`);
  shutdown.preempt(text, killMs);
}

function why(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (err instanceof Error ? err.message : String(err));
}
