// What an order's command inherits, so that a `waiter` it runs (gather, add, status…)
// talks to the same kitchen, database and list with no flags, while no secret is in
// its environment for `env` or `set -x` to print:
// - WAITER_DB and WAITER_LIST: the deliver's own;
// - WAITER_KITCHEN: the deliver's kitchen with its secrets shown as *** (which host, which
//   user: safe to print);
// - WAITER_KITCHEN_FILE, when the kitchen has a secret: a file holding the full URI, mode
//   0600 in a folder of mode 0700 of this process's own (waiter-kitchen-<host>-<pid>-XXXXXX),
//   removed when deliver ends, by a signal too (shutdown.ts); one left by a deliver
//   that was killed (SIGKILL, a crash) is removed by the next deliver on the box. waiter
//   reads the kitchen from it before WAITER_KITCHEN. The driver takes no password from
//   anywhere but the URI (or options in code), so a file named in the environment is how
//   a nested waiter gets it without the environment holding it;
// - WAITER_TOKEN (the serve token) is removed: no job needs it.
// The same private folder holds the orders' progress files (WAITER_PROGRESS, progress.ts),
// so it is made even when the kitchen has no secret (then a failure to make it only means
// no WAITER_PROGRESS).
// The job runs as the same user, so it can still read the file on purpose; masking
// (src/output/mask.ts) covers a job that prints it.
import { lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoxError } from '../errors.js';
import { secretsOf, withoutSecrets } from '../kitchen/connect.js';

export interface JobEnv {
  /** The environment orders inherit. */
  env: NodeJS.ProcessEnv;
  /** The kitchen's secrets (to mask). */
  secrets: string[];
  /** This process's private folder (mode 0700): undefined when it could not be made and nothing needed it. */
  dir?: string;
  /** Removes the kitchen file; idempotent, also run at the process's exit. */
  dispose(): void;
}

export function jobEnv(parent: NodeJS.ProcessEnv, kitchen: { uri: string; db: string; list: string }): JobEnv {
  const env: NodeJS.ProcessEnv = { ...parent, WAITER_KITCHEN: withoutSecrets(kitchen.uri), WAITER_DB: kitchen.db, WAITER_LIST: kitchen.list };
  delete env.WAITER_TOKEN;
  delete env.WAITER_KITCHEN_FILE;
  let secrets: string[] = [];
  try {
    secrets = secretsOf(kitchen.uri);
  } catch {
    // A URI the parser refuses was refused by Kitchen.open before any order ran.
  }
  const prefix = `waiter-kitchen-${hostname().replace(/[^A-Za-z0-9.]/g, '_')}-`;
  sweep(tmpdir(), prefix);
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), `${prefix}${process.pid}-`));
  } catch (err) {
    if (secrets.length === 0) return { env, secrets, dispose: () => undefined };
    throw unwritable(err);
  }
  const dispose = () => {
    process.off('exit', dispose);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', dispose);
  if (secrets.length === 0) return { env, secrets, dir, dispose };
  const file = join(dir, 'kitchen');
  try {
    writeFileSync(file, `${kitchen.uri}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    dispose();
    throw unwritable(err);
  }
  env.WAITER_KITCHEN_FILE = file;
  return { env, secrets, dir, dispose };
}

function unwritable(err: unknown): BoxError {
  const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new BoxError(`this box cannot run orders: cannot write the kitchen file under $TMPDIR (${tmpdir()}): ${why}; set TMPDIR to a writable folder`);
}

/**
 * Removes the kitchen folders of this host's deliver processes that are gone: this
 * user's, named by a pid no longer running. (Another host's, on a shared /tmp, are its own.)
 */
function sweep(tmp: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(tmp);
  } catch {
    return; // mkdtemp says why
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = /^(\d+)-[A-Za-z0-9]{6}$/.exec(name.slice(prefix.length))?.[1];
    if (pid === undefined || running(Number(pid))) continue;
    const path = join(tmp, name);
    try {
      const st = lstatSync(path);
      if (st.isDirectory() && (uid === undefined || st.uid === uid)) rmSync(path, { recursive: true, force: true });
    } catch {
      // Gone meanwhile, or not ours to remove: left as it is.
    }
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
