// Runs the real CLI (bin/waiter.js, built by `npm test`) as a child process.
import { fileURLToPath } from 'node:url';
import { execa, type Options, type ResultPromise } from 'execa';
import { metadataGuard } from './metadata.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/waiter.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

export interface Where {
  uri: string;
  name: string;
}

/**
 * What a developer's shell may export that changes the CLI's output (a table width,
 * colour, yargs' messages in another language): removed (undefined) or pinned.
 */
const NEUTRAL = { COLUMNS: undefined, NO_COLOR: undefined, FORCE_COLOR: undefined, LC_ALL: 'C.UTF-8' };

/** Environment pointing the CLI at a test's database (flags would do too; this keeps argv for the test). */
export function kitchenEnv(k: Where, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { ...NEUTRAL, WAITER_KITCHEN: k.uri, WAITER_DB: k.name, ...extra };
}

/** Starts `waiter <args>`; never rejects on a non-zero exit (tests assert the code). */
export function waiter(k: Where, args: string[], opts: Options & { env?: Record<string, string> } = {}): ResultPromise<{ reject: false }> {
  metadataGuard(args);
  return execa('node', [BIN, ...args], {
    reject: false,
    cwd: ROOT,
    ...(opts.input === undefined ? { stdin: 'ignore' } : {}),
    ...opts,
    env: { ...kitchenEnv(k), ...opts.env },
  } as Options) as unknown as ResultPromise<{ reject: false }>;
}

/** Polls fn until it returns a truthy value (or throws after timeoutMs). Never "sleep long enough". */
export async function until<T>(fn: () => Promise<T> | T, timeoutMs = 30_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
