// deliver --checkpoint's options, read from argv and refused at the door when they can
// never work (exit 2, nothing written).
import type { Options } from 'yargs';
import { UsageError } from '../errors.js';
import { checkGlobs } from '../output/collect.js';
import { size } from '../output/size.js';
import { timerDuration } from '../values.js';

/** Default --checkpoint-every: a minute of work at most lost to a box that dies without a word, one store a minute per order. */
export const DEFAULT_CHECKPOINT_EVERY_MS = 60_000;
/** Default --checkpoint-max, as --collect-max. */
export const DEFAULT_CHECKPOINT_MAX = 100 * 1024 * 1024;
/** How long one store may take before it is given up (the previous checkpoint stays current). */
export const STORE_TIMEOUT_MS = 120_000;

export interface CheckpointOptions {
  globs: string[];
  /** At most one store per order this often (the marker is looked at each second, or as often as this if shorter). */
  everyMs: number;
  /** Over this many bytes a set is not stored (the log says so); the order goes on. */
  maxBytes: number;
  /** --checkpoint-exit-code: the command exits with it after writing a checkpoint; stored, then started again in place, in the same attempt. */
  exitCode?: number;
  timeoutMs: number;
}

/** deliver's --checkpoint options (src/commands/deliver.ts spreads them among its own). */
export const CHECKPOINT_FLAGS: Record<string, Options> = {
  checkpoint: {
    type: 'string',
    array: true,
    describe:
      'With --workdir: these files of the order\'s folder are its checkpoint: stored in the kitchen when the command marks one complete (touch "$WAITER_CHECKPOINT_READY"), restored into the folder of the order\'s next attempt, on any box, before its command starts (WAITER_RESUMED)',
  },
  'checkpoint-every': { type: 'string', describe: 'With --checkpoint: store at most one checkpoint per order this often; always one at a stop or a notice (default 60s)' },
  'checkpoint-max': { type: 'string', describe: 'With --checkpoint: a checkpoint over this size is not stored (the log says so; the previous one stays) (default 100MiB)' },
  'checkpoint-exit-code': {
    type: 'string',
    describe:
      'With --checkpoint: the command exits with this code after writing a checkpoint (HTCondor: 85); it is stored and the command started again in its folder at once, in the same attempt',
  },
};

const OWN = ['checkpoint-every', 'checkpoint-max', 'checkpoint-exit-code'];

/** --checkpoint and its options; undefined without --checkpoint. */
export function checkpointOptions(argv: Record<string, unknown>, workdir: boolean): CheckpointOptions | undefined {
  const globs = argv.checkpoint === undefined ? [] : [argv.checkpoint].flat().map(String);
  if (globs.length === 0) {
    for (const o of OWN) if (argv[o] !== undefined) throw new UsageError(`--${o} goes with --checkpoint`);
    return undefined;
  }
  if (!workdir) throw new UsageError("--checkpoint needs --workdir (the checkpoint is files of the order's folder)");
  let checked: string[];
  try {
    checked = checkGlobs(globs);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^--collect/, '--checkpoint'));
  }
  const everyMs = argv['checkpoint-every'] === undefined ? DEFAULT_CHECKPOINT_EVERY_MS : timerDuration('checkpoint-every', argv['checkpoint-every']);
  if (everyMs <= 0) throw new UsageError('--checkpoint-every: give a duration above 0 (e.g. 30s)');
  const maxBytes = argv['checkpoint-max'] === undefined ? DEFAULT_CHECKPOINT_MAX : size('checkpoint-max', argv['checkpoint-max']);
  if (maxBytes === 0) throw new UsageError('--checkpoint-max: 0 would store nothing (drop --checkpoint instead)');
  const o: CheckpointOptions = { globs: checked, everyMs, maxBytes, timeoutMs: STORE_TIMEOUT_MS };
  const code = argv['checkpoint-exit-code'];
  if (code !== undefined) {
    const text = (typeof code === 'string' || typeof code === 'number' ? String(code) : '').trim();
    const n = Number(text);
    // 0 is success; above 125 the shell's own codes (126, 127, 128+n for a signal) would be read as a checkpoint.
    if (text === '' || !Number.isInteger(n) || n < 1 || n > 125) throw new UsageError(`--checkpoint-exit-code: '${text}' is not an exit code from 1 to 125 (HTCondor's is 85)`);
    o.exitCode = n;
  }
  return o;
}
