// Preparing one order: its column names, its argv from the template, its
// WAITER_ARG_ variables and its folder, created; or why it cannot run. Used by the
// loop and by deliver --dry-run (which creates no folder).
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Claimed } from '../order.js';
import { columnEnv, expand, expandWord, parseTemplate, type Fields, type Template } from '../template.js';
import { message } from '../errors.js';
import type { DeliverDeps, DeliverOptions } from './types.js';
import { retrying } from './retry.js';
import type { Shutdown } from './shutdown.js';

/** What runs for one order: the program, its arguments, extra environment, its folder; or why it cannot run. */
export type Prepared =
  | { file: string; args: string[]; env: Record<string, string>; workdir?: string; error?: undefined; interrupted?: undefined }
  /** `interrupted`: a signal stopped the preparation (not the order's fault): the order goes back READY. */
  | { error: string; workdir?: string; interrupted?: boolean; code?: string };

/**
 * Per order: names of its columns (one read per columns document per waiter, then
 * cached), the expanded argv, WAITER_ARG_ variables, and the folder, created.
 * Without placeholders, columns or --workdir this is the old append, no I/O.
 */
export function preparer(
  opts: DeliverOptions,
  template: Template | undefined,
  deps: Pick<DeliverDeps, 'kitchen'>,
  log: (line: string) => void,
  shutdown?: Shutdown,
  dryRun = false,
) {
  const cache = new Map<string, Promise<readonly string[] | undefined | 'stopped'>>();
  /** The names (undefined: no such document), or 'stopped' when a signal ended the retries: then nothing is cached. */
  const namesOf = (columns: string): Promise<readonly string[] | undefined | 'stopped'> => {
    const read = deps.kitchen.columns;
    if (!read) return Promise.resolve(undefined);
    let names = cache.get(columns);
    if (!names) {
      names = retrying(() => read.call(deps.kitchen, columns), { what: 'reading column names', log, ...(shutdown ? { shutdown } : {}) }).then((n) => {
        if (n === 'stopped') cache.delete(columns);
        return n ?? undefined;
      });
      names.catch(() => cache.delete(columns));
      cache.set(columns, names);
    }
    return names;
  };

  const withNames = (c: Claimed, names: readonly string[] | undefined): Prepared | Promise<Prepared> => {
    const fields: Fields = { arguments: c.arguments, names, id: c.id.toHexString(), attempt: c.attempt, waiter: opts.waiter, ...(c.after ? { after: c.after.join(',') } : {}) };
    let file = opts.command;
    let args: string[];
    if (template) {
      const e = expand(template, fields);
      if (e.error !== undefined) return { error: e.error };
      [file, ...args] = e.argv as [string, ...string[]];
    } else {
      args = [...opts.commandArgs, ...c.arguments];
    }
    const env = columnEnv(names, c.arguments);
    // What it waited for (src/pipeline/): the ids of add --after, the barrier of --after-all.
    if (c.after) env.WAITER_AFTER = c.after.join(',');
    if (c.barrier) env.WAITER_AFTER_ALL = c.barrier;
    if (!opts.workdir) return { file, args, env };
    return inWorkdir(opts.workdir, fields, file, args, env);
  };
  const inWorkdir = async (workdirTemplate: Template, fields: Fields, file: string, args: string[], env: Record<string, string>): Promise<Prepared> => {
    const w = expandWord(workdirTemplate, fields);
    if (w.error !== undefined) return { error: `--workdir ${w.error}` };
    const workdir = resolve(w.text);
    try {
      if (!dryRun) await mkdir(workdir, { recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { error: `cannot create the workdir ${workdir}: ${code ?? message(err)}`, workdir, ...(code ? { code } : {}) };
    }
    // The command runs in the folder; a relative program path (./crunch.sh) still means the one next to the waiter.
    if (!opts.shell && file.includes('/')) file = resolve(file);
    env.WAITER_WORKDIR = workdir;
    return { file, args, env, workdir };
  };

  const stopped = (): Prepared => ({ error: `interrupted by ${shutdown?.by ?? 'a signal'}`, interrupted: true });
  return (c: Claimed): Prepared | Promise<Prepared> =>
    c.columns ? namesOf(c.columns).then((names) => (names === 'stopped' ? stopped() : withNames(c, names))) : withNames(c, undefined);
}

export function templateOf(opts: DeliverOptions): Template | undefined {
  return opts.shell ? undefined : (opts.template ?? parseTemplate([opts.command, ...opts.commandArgs]));
}
