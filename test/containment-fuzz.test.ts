// Issue 15: 200 orders with random arguments (0-300 KB, random non-NUL code points,
// shell metacharacters) through add, the API and load. Each is refused at the door
// with a clear error and nothing written, or delivered with its arguments verbatim;
// no waiter exits non-zero for an order's sake.
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, test } from 'vitest';
import { argvProblem } from '../src/limits.js';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';
import { orders } from './support/recovery.js';

const k = useDb();

/** A seeded generator (mulberry32): a failure can be replayed from the seed in the title. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = 15_2026;
const META = ['$(id)', '`id`', ';', '&&', '|', '>', '<', '*', '?', '~', '"', "'", '\\', ' ', '\t', '\n', '\r', '{}', '{1}', '%s', '-', '--', '='];

function argument(r: () => number): string {
  // Mostly short; now and then up to 300 KB (in UTF-16 units; bytes up to 3x in UTF-8 for the BMP).
  const size = Math.floor(300_000 * r() ** 4);
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const pick = r();
    let s: string;
    if (pick < 0.15) s = META[Math.floor(r() * META.length)]!;
    else if (pick < 0.6) s = String.fromCharCode(32 + Math.floor(r() * 95));
    else {
      // Any code point but NUL, a lone surrogate or a BOM (load strips one at the file's start).
      let cp = 1 + Math.floor(r() * 0x10fffe);
      if ((cp >= 0xd800 && cp <= 0xdfff) || cp === 0xfeff) cp = 0x41;
      s = String.fromCodePoint(cp);
    }
    // Long runs of one cheap piece, so that big arguments are cheap to make.
    const run = size > 10_000 ? Math.min(size - n, 1 + Math.floor(r() * 2000)) : 1;
    parts.push(s.repeat(Math.max(1, Math.floor(run / s.length))));
    n += Math.max(s.length, run);
  }
  return parts.join('');
}

/** What the program received, as the fixture below prints it. */
const digest = (args: string[]) =>
  createHash('sha256')
    .update(args.map((a) => `${a}\0`).join(''))
    .digest('hex');

describe(`fuzz (seed ${SEED})`, () => {
  test('100 random orders through add, the API and load: each refused at the door with a clear error, or delivered verbatim', async () => {
    const r = random(SEED);
    const all = Array.from({ length: 100 }, () => Array.from({ length: Math.floor(r() * 5) }, () => argument(r)));
    const dir = await mkdtemp(join(tmpdir(), 'waiter-fuzz-'));
    const accepted: string[][] = [];
    let refused = 0;
    // Refused: a problem argvProblem names too, and nothing written (the count is
    // still that of the accepted ones; the end checks each accepted one wrote one order).
    const expectRefused = async (args: string[]) => {
      refused++;
      expect(argvProblem(args), JSON.stringify(args.map((a) => a.length))).toBeDefined();
      expect(await orders(k.db).countDocuments()).toBe(accepted.length);
    };
    const s = await serve(k);

    for (const [i, args] of all.entries()) {
      // A process per add and per load: fewer of those, to keep the test within CI's time.
      const route = i % 20 === 0 ? 'add' : i % 20 === 1 || i % 20 === 11 ? 'load' : 'api';
      // add: only what a shell can pass to waiter at all (each argument under MAX_ARG_STRLEN).
      if (route === 'add' && args.every((a) => Buffer.byteLength(a) < 131_000)) {
        const res = await waiter(k, ['add', '--', ...args]);
        if (res.exitCode === 0) accepted.push(args);
        else {
          expect([res.exitCode, res.stderr.split('\n').length]).toEqual([2, 1]);
          expect(res.stderr).toMatch(/^waiter: add: .*argument list too long.*; nothing added$/);
          await expectRefused(args);
        }
      } else if (route === 'load' && args.length > 0 && args[0] !== '') {
        const file = join(dir, `${i}.csv`);
        await writeFile(file, stringify([args]));
        const res = await waiter(k, ['load', file]);
        if (res.exitCode === 0) {
          expect(res.stdout).toBe('Loaded 1 order');
          accepted.push(args);
        } else {
          expect([res.exitCode, res.stderr.split('\n').length]).toEqual([4, 1]);
          expect(res.stderr).toMatch(
            new RegExp(`^waiter: ${file} line 1: (field \\d+ is [\\d,]+ bytes: argument too long|the arguments take [\\d,]+ bytes together: argument list too long)`),
          );
          await expectRefused(args);
        }
      } else {
        const res = await s.call('/api/orders', { method: 'POST', json: { arguments: args } });
        if (res.status === 201) accepted.push(args);
        else {
          expect(res.status, res.text.slice(0, 200)).toBe(400);
          expect(res.body.error).toMatch(/^body: (arguments\[\d+\] is [\d,]+ bytes: argument too long|the arguments take [\d,]+ bytes together: argument list too long)/);
          await expectRefused(args);
        }
      }
    }
    // Both outcomes were exercised.
    expect(refused).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(50);
    for (const args of accepted) expect(argvProblem(args)).toBeUndefined();

    // Two waiters deliver them all; the program prints a digest of what it received.
    // (printf with no argument would still print one NUL: hence the test of $#.)
    const cmd = ['--shell', `{ [ $# -gt 0 ] && printf '%s\\0' "$@"; } | sha256sum | cut -d' ' -f1`];
    const [w1, w2] = await Promise.all([waiter(k, ['-n', 'f1', 'deliver', '-x', '2', ...cmd]), waiter(k, ['-n', 'f2', 'deliver', ...cmd])]);
    expect([w1.exitCode, w2.exitCode]).toEqual([0, 0]);
    const done = await orders(k.db).find({}).toArray();
    expect(done).toHaveLength(accepted.length);
    for (const o of done) {
      expect(o.status).toBe('DONE');
      expect(o.output!.trim()).toBe(digest(o.arguments));
    }
    const want = accepted.map(digest).sort();
    expect(done.map((o) => digest(o.arguments)).sort()).toEqual(want);
  }, 600_000);
});
