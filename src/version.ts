// waiter's version, given to yargs rather than guessed: yargs looks for a package.json
// near its own files (or the working folder), which a single-file build does not have.
import { readFileSync } from 'node:fs';

/** Set by the bundler (scripts/package.js) in dist/waiter.cjs and the executable. */
declare const __WAITER_VERSION__: string | undefined;

export const VERSION: string =
  typeof __WAITER_VERSION__ === 'string' ? __WAITER_VERSION__ : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
