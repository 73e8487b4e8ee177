// deliver's side of --collect: its options, read from argv, and the loop's hook
// (deps.collect) around collect.ts.
import type { Claimed } from '../order.js';
import { UsageError } from '../errors.js';
import { checkGlobs, collect, DEFAULT_COLLECT_MAX, DEFAULT_COLLECT_TIMEOUT_MS, type CollectOn, type CollectOptions } from './collect.js';
import { timerDuration } from '../values.js';
import type { FileStore } from '../kitchen/files.js';
import { size, sizeText } from './size.js';
import { until } from './until.js';

export type { CollectOptions } from './collect.js';

/** --collect, --collect-max, --collect-on; undefined without --collect. */
export function collectOptions(argv: Record<string, unknown>, workdir: boolean): CollectOptions | undefined {
  const globs = argv.collect === undefined ? [] : [argv.collect].flat().map(String);
  if (globs.length === 0) {
    for (const o of ['collect-max', 'collect-on', 'collect-timeout']) if (argv[o] !== undefined) throw new UsageError(`--${o} goes with --collect`);
    return undefined;
  }
  if (!workdir) throw new UsageError("--collect needs --workdir (the files are collected from the order's folder)");
  const maxBytes = argv['collect-max'] === undefined ? DEFAULT_COLLECT_MAX : size('collect-max', argv['collect-max']);
  if (maxBytes === 0) throw new UsageError('--collect-max: 0 would collect nothing (drop --collect instead)');
  // At most a timer's limit (about 24.8 days): AbortSignal.timeout refuses more, and would fail every attempt instead.
  const timeoutMs = argv['collect-timeout'] === undefined ? DEFAULT_COLLECT_TIMEOUT_MS : timerDuration('collect-timeout', argv['collect-timeout']);
  return { globs: checkGlobs(globs), maxBytes, on: (argv['collect-on'] as CollectOn | undefined) ?? 'done', timeoutMs };
}

/** The loop's hook: collects after a DONE attempt (and after a failed run with --collect-on always); the error that fails the attempt, if any. */
export function collector(store: FileStore, o: CollectOptions, log: (line: string) => void) {
  return async (c: Claimed, workdir: string, ok: boolean): Promise<string | undefined> => {
    if (!ok && o.on !== 'always') return undefined;
    const id = c.id.toHexString();
    try {
      const r = await collect(store, c.id, c.attempt, workdir, o, log);
      if (r.files > 0) log(`waiter: collected ${r.files} file${r.files === 1 ? '' : 's'} (${sizeText(r.bytes)}) of ${id}`);
      return undefined;
    } catch (err) {
      const line = (err as Error).message.split('\n')[0] ?? 'failed';
      // Not half an attempt's files: what was stored of it goes (best effort; not waited on past a minute: the kitchen may be what hangs).
      await until(store.removeFor([c.id], c.attempt), AbortSignal.timeout(60_000)).catch(() => undefined);
      log(`waiter: the files of ${id} were not collected: ${line}`);
      // After a failed run its own error stands; after a DONE run this is the attempt's error.
      return ok ? (line.startsWith('--collect-') ? line : `collecting files: ${line}`) : undefined;
    }
  };
}
