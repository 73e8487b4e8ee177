// What Linux lets a program receive (execve(2)): one argument or environment string
// of at most MAX_ARG_STRLEN bytes (32 pages: 131,072, its NUL included), all of them
// together within ARG_MAX (a quarter of the stack limit: 2 MiB by default, for argv
// AND the environment), none holding a NUL. An order over either can never run anywhere: load, add and
// the API refuse it at the door, and deliver checks what it is about to start. Pure.

/** The longest one argument may be, in UTF-8 bytes (MAX_ARG_STRLEN less its NUL). */
export const MAX_ARGUMENT_BYTES = 128 * 1024 - 1;
/**
 * The most an order's arguments may take together: a quarter of the default ARG_MAX,
 * which leaves room for the command, the inherited environment and, with named
 * columns, the WAITER_ARG_ copy of every argument.
 */
export const MAX_ARGUMENTS_BYTES = 512 * 1024;
/** What each argument costs beyond its bytes: its NUL and the pointer to it (64-bit). */
export const ARGUMENT_OVERHEAD = 9;

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Why these strings cannot be passed to a program, or undefined when they can. `what`
 * names one of them by its index (e.g. i => `argument ${i + 1}`). Cheap when nothing is
 * near the limits (lengths only; bytes counted only where they could matter).
 */
export function argvProblem(strings: readonly string[], what: (i: number) => string = (i) => `argument ${i + 1}`, limit = MAX_ARGUMENTS_BYTES): string | undefined {
  let units = 0;
  let longest = 0;
  for (let i = 0; i < strings.length; i++) {
    const s = strings[i]!;
    units += s.length;
    if (s.length > longest) longest = s.length;
    if (s.includes('\0')) return `${what(i)} contains a NUL character, which no program can receive`;
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  const fits = longest * 3 <= MAX_ARGUMENT_BYTES && units * 3 + strings.length * ARGUMENT_OVERHEAD <= limit;
  if (fits) return undefined;
  let total = 0;
  for (let i = 0; i < strings.length; i++) {
    const bytes = Buffer.byteLength(strings[i]!);
    if (bytes > MAX_ARGUMENT_BYTES)
      return `${what(i)} is ${count(bytes)} bytes: argument too long (a program can receive at most ${count(MAX_ARGUMENT_BYTES)} bytes in one, Linux's MAX_ARG_STRLEN)`;
    total += bytes + ARGUMENT_OVERHEAD;
  }
  if (total > limit) return `the arguments take ${count(total)} bytes together: argument list too long (at most ${count(limit)}; see "When things go wrong" in the README)`;
  return undefined;
}

/** ARG_MAX as Linux sets it by default (a quarter of an 8 MiB stack). */
export const ARG_MAX = 2 * 1024 * 1024;

/** The room the inherited environment leaves in ARG_MAX (computed once per waiter). */
export function roomBeside(inherited: NodeJS.ProcessEnv): number {
  let bytes = 0;
  for (const [k, v] of Object.entries(inherited)) if (v !== undefined) bytes += Buffer.byteLength(k) + Buffer.byteLength(v) + 2 + 8;
  return ARG_MAX - bytes;
}

/**
 * What deliver is about to start: the program and its arguments, and the environment
 * strings it adds (NAME=value), within `room` (roomBeside the inherited environment).
 */
export function startProblem(argv: readonly string[], env: Record<string, string>, room: number): string | undefined {
  const keys = Object.keys(env);
  const strings = keys.length ? [...argv, ...keys.map((k) => `${k}=${env[k]}`)] : argv;
  const what = (i: number) => (i === 0 ? 'the program' : i < argv.length ? `argument ${i}` : `the variable ${keys[i - argv.length]}`);
  return argvProblem(strings, what, room);
}
