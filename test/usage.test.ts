// Usage per attempt (issue 28, src/usage/): the deliver loop in process with its fake
// kitchen and real commands, their figures checked against GNU time (wait4's rusage);
// --memory-max; a SIGKILL waiter did not send, said plainly.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ObjectId } from 'mongodb';
import { options as deliverOptions } from '../src/commands/deliver.js';
import { reportRow } from '../src/commands/extract.js';
import { render } from '../src/commands/show.js';
import { deliver, type DeliverDeps, type DeliverOptions } from '../src/deliver/loop.js';
import { UsageError } from '../src/errors.js';
import { Shutdown } from '../src/deliver/shutdown.js';
import type { Order, Usage } from '../src/order.js';
import { start } from '../src/run.js';
import { parseStat, reapedOf, reapedTicks } from '../src/usage/proc.js';
import { Sampler } from '../src/usage/sampler.js';
import { killedText, overText, usageLine } from '../src/usage/text.js';
import { Reaps } from '../src/usage/waited.js';
import { ROOT, until } from './support/cli.js';
import { FakeKitchen, type FakeRow } from './support/fake-kitchen.js';
import { GNU_TIME, needsGnuTime, needsProc } from './support/gates.js';
import { loopOptions, sink } from './support/loop.js';

const HOG = join(ROOT, 'fixtures', 'hog.sh');
const MiB = 2 ** 20;
const GiB = 2 ** 30;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'waiter-usage-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Delivers `rows` with real processes, looking at them every 200 ms (SAMPLE_MS is 1 s). */
async function delivered(rows: FakeRow[], o: Partial<DeliverOptions>) {
  const list = new FakeKitchen(rows);
  const logged: string[] = [];
  const deps: DeliverDeps = {
    kitchen: list.kitchen(),
    start,
    stdout: sink(),
    stderr: sink(),
    log: (l) => logged.push(l),
    shutdown: new Shutdown(),
    usage: new Sampler({ everyMs: 200, ...(o.memoryMax ? { memoryMax: o.memoryMax } : {}) }),
  };
  const r = await deliver(loopOptions(o), deps);
  return { r, list, logged, finishes: list.finishes.map((x) => x.f) };
}

const within = (got: number, want: number, share: number) => expect(Math.abs(got - want), `${got} vs ${want}`).toBeLessThanOrEqual(share * want);

describe('usage per attempt', () => {
  const t = needsGnuTime();
  test.runIf(t.run)(t.title('~2 s of CPU in two processes, ~300 MB held: CPU and peak within 15 % of GNU time (wait4 rusage)'), async () => {
    const report = join(dir, 'time');
    const { finishes } = await delivered([{ args: ['300', '1'] }], { command: GNU_TIME, commandArgs: ['-f', '%U %S %M', '-o', report, 'sh', HOG] });
    expect(finishes).toHaveLength(1);
    expect(finishes[0]).toMatchObject({ status: 'DONE', usage: { measured: 'proc-sample+wait' } });
    const u = finishes[0]!.usage!;
    const [user, sys, maxKiB] = readFileSync(report, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
    const cpuMs = (user! + sys!) * 1000;
    expect(cpuMs).toBeGreaterThan(1500); // the fixture did burn about 2 s
    within(u.cpuMs!, cpuMs, 0.15);
    // GNU time's peak is its largest process's (node, ~300 MB + its own); ours sums the tree (+ two shells and time itself).
    within(u.peakRssBytes!, maxKiB! * 1024, 0.15);
    expect(u.wallMs).toBeGreaterThan(0);
  });

  const p = needsProc();
  test.runIf(p.run)(p.title('--memory-max: the order over it is stopped, ERROR "over --memory-max (peak …)", and the next order runs'), async () => {
    // big: hog.sh holds 300 MiB for a minute unless stopped; small: ends at once.
    const script = 'if [ "$1" = big ]; then exec sh "$0" 300 0 60; fi; echo small';
    const { r, finishes, logged } = await delivered([{ args: ['big'] }, { args: ['small'] }], { command: 'sh', commandArgs: ['-c', script, HOG], memoryMax: 100 * MiB });
    expect(finishes.map((f) => [f.status, f.result])).toEqual([
      ['ERROR', 'ERROR'],
      ['DONE', 'DONE'],
    ]);
    expect(finishes[0]!.error).toMatch(/^over --memory-max \(peak \d+(\.\d)? MiB, more than 100 MiB\)$/);
    expect(finishes[0]!.usage!.peakRssBytes).toBeGreaterThan(100 * MiB);
    expect(logged.some((l) => /^waiter: order [0-9a-f]{24} uses .* over --memory-max 100 MiB: stopping its command$/.test(l))).toBe(true);
    expect(r).toMatchObject({ delivered: 2, failed: 1 });
  });

  test.runIf(p.run)(p.title('what outlives the command in its group is looked at once more as it exits: its CPU counts'), async () => {
    const flag = join(dir, 'stop');
    // The command starts busy.sh in the background and exits once that has used 0.3 s of CPU (fields 14, 15 of its stat; no braces: deliver's placeholders).
    const script = 'sh "$0" "$1" & b=$!; while :; do read -r s < /proc/$b/stat; set -- $s; shift 13; [ $(($1 + $2)) -ge 30 ] && break; sleep 0.1; done';
    try {
      const { finishes } = await delivered([{ args: [flag] }], { command: 'sh', commandArgs: ['-c', script, join(ROOT, 'fixtures', 'busy.sh')] });
      expect(finishes[0]).toMatchObject({ status: 'DONE', usage: { measured: 'proc-sample+wait' } });
      expect(finishes[0]!.usage!.cpuMs).toBeGreaterThanOrEqual(300);
    } finally {
      await writeFile(flag, '');
    }
  });

  test.runIf(p.run)(p.title('a SIGKILL from outside (the OOM killer, kill -9) ends ERROR "killed (SIGKILL, not sent by waiter…)", not a bare signal 9'), async () => {
    const pidFile = join(dir, 'pid');
    const script = 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1"; exec sleep 60';
    const done = delivered([{ args: [pidFile] }], { command: 'sh', commandArgs: ['-c', script, 'sh'] });
    const pid = Number(await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim(), 30_000, 'the pid file'));
    process.kill(pid, 'SIGKILL');
    const { finishes } = await done;
    expect(finishes[0]).toMatchObject({ status: 'ERROR', result: 'ERROR', signal: 'SIGKILL' });
    // With the peak when a look saw it run (it depends on when the look came): never "likely out of memory" for a sleep.
    expect(finishes[0]!.error).toMatch(/^killed \(SIGKILL, not sent by waiter(; peak [\d.]+ [KM]iB of [\d.]+ [MGT]iB on this box)?\)$/);
  });
});

test('the words: likely out of memory only near what the box holds; --memory-max names both sizes; a box without /proc says wall only', () => {
  const u = (peak?: number): Usage => ({ wallMs: 5000, cpuMs: 4200, ...(peak !== undefined ? { peakRssBytes: peak } : {}), measured: 'proc-sample+wait' });
  expect(killedText(u(3.9 * GiB), 4 * GiB)).toBe('killed (SIGKILL, not sent by waiter; peak 3.9 GiB of 4 GiB on this box: likely out of memory)');
  expect(killedText(u(1 * GiB), 4 * GiB)).toBe('killed (SIGKILL, not sent by waiter; peak 1 GiB of 4 GiB on this box)');
  expect(killedText(u(), 4 * GiB)).toBe('killed (SIGKILL, not sent by waiter)');
  expect(killedText(undefined, 4 * GiB)).toBe('killed (SIGKILL, not sent by waiter)');
  expect(overText(301.2 * MiB, 256 * MiB)).toBe('over --memory-max (peak 301.2 MiB, more than 256 MiB)');
  expect(usageLine(u(301.2 * MiB))).toBe("wall 5.0s, cpu 4.2s, peak 301.2 MiB (CPU: the kernel's count for the command and what it waited for; peak: /proc looks each second)");
  expect(usageLine({ wallMs: 300, measured: 'wall' })).toBe('wall 300ms (wall time only: no /proc on that box, or it ended before a look, reaped with another order)');
});

test('a box without /proc records wall time only, and says so', async () => {
  const meter = new Sampler({ proc: false }).meter();
  await start({ file: 'true', args: [], killAfterMs: 1000, stdout: sink(), stderr: sink(), watch: meter }).outcome;
  expect(await meter.end()).toEqual({ wallMs: expect.any(Number), measured: 'wall' });
});

test("the exact CPU goes to a command only when its reap was the pass's only one", async () => {
  let counter = 100;
  const reaps = new Reaps(() => counter);
  reaps.spawning();
  counter += 7; // one command reaped
  expect(await reaps.reaped()).toBe(7);
  counter += 5; // two reaped in one pass: whose is what is not known
  expect(await Promise.all([reaps.reaped(), reaps.reaped()])).toEqual([undefined, undefined]);
  counter += 3;
  expect(await reaps.reaped()).toBe(3);
});

test('/proc/<pid>/stat: fields counted after the last parenthesis (a command name may hold spaces and parentheses)', () => {
  const line = '4242 (a) b (c) S 1 4240 4240 0 -1 4194560 100 0 0 0 150 30 7 3 20 0 1 0 1000 10000000 2500 18446744073709551615';
  expect(parseStat(line)).toEqual({ pid: 4242, pgid: 4240, cpuTicks: 190, rssPages: 2500 });
  expect(parseStat('garbage')).toBeUndefined();
  // The waiter's own cutime + cstime (fields 16, 17), read from bytes per reap pass.
  const reaped = (t: string) => reapedOf(Buffer.from(t, 'latin1'), Buffer.byteLength(t, 'latin1'));
  expect(reaped(line)).toBe(10);
  expect(reaped(line.replace(' 7 3 ', ' 1234 56 '))).toBe(1290);
  expect(reaped('garbage')).toBeUndefined();
  expect(reaped('1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2')).toBeUndefined();
});

test('--memory-max takes the sizes --collect-max does (512M, 4G, 1.5GiB); 0 or words are usage errors', () => {
  const g = { kitchen: 'mongodb://127.0.0.1:1/', db: 'waiter', list: 'orders', name: 'box-1' };
  const max = (v: string) => deliverOptions({ 'memory-max': v }, ['echo'], g).memoryMax;
  expect([max('512M'), max('4G'), max('1.5GiB'), max('1048576')]).toEqual([512 * MiB, 4 * GiB, 1.5 * GiB, MiB]);
  expect(deliverOptions({}, ['echo'], g)).not.toHaveProperty('memoryMax');
  expect(() => max('0')).toThrow(new UsageError("--memory-max: '0' would stop every order; give a size such as 512M or 4G"));
  expect(() => max('lots')).toThrow(new UsageError("--memory-max: 'lots' is not a size (try 0, 512KiB, 1MiB, 2GiB)"));
});

test("show prints the last attempt's usage and each attempt's; extract has a column for each figure", () => {
  const usage: Usage = { wallMs: 2310, cpuMs: 2030, peakRssBytes: 301.2 * MiB, measured: 'proc-sample' };
  const start = new Date('2026-01-02T03:04:05Z');
  const stop = new Date('2026-01-02T03:04:07.310Z');
  const o: Order = {
    _id: new ObjectId(),
    status: 'DONE',
    arguments: [],
    attempts: 1,
    start,
    stop,
    exitCode: 0,
    usage,
    history: [{ attempt: 1, waiter: 'w', start, stop, result: 'DONE', exitCode: 0, usage }],
  };
  const lines = render(o);
  expect(lines).toContain('usage     wall 2.3s, cpu 2.0s, peak 301.2 MiB (/proc looks each second: the last second may be missing)');
  expect(lines).toContain('  #1  DONE         w  2026-01-02T03:04:05.000Z  2.3s  exit code 0  (wall 2.3s, cpu 2.0s, peak 301.2 MiB)');
  expect(reportRow(o)).toMatchObject({ wall_ms: 2310, cpu_ms: 2030, peak_rss_bytes: 301.2 * MiB, measured: 'proc-sample' });
  expect(reportRow({ ...o, usage: { wallMs: 5, measured: 'wall' } })).toMatchObject({ wall_ms: 5, cpu_ms: '', peak_rss_bytes: '', measured: 'wall' });
});

test('two commands reaped in one pass, neither looked at: no CPU figure (not "cpu 0ms"), measured says wall only', async () => {
  // Forced on: with /proc the reap count is read and, the pass holding two exits, given to neither; without, there is none.
  const s = new Sampler({ proc: true, everyMs: 60_000 });
  const [a, b] = [s.meter(), s.meter()];
  // Pids no look will reach: the exits come in the same tick, as libuv's one reap pass calls them.
  a.spawned(2 ** 22 + 1);
  b.spawned(2 ** 22 + 2);
  a.exited();
  b.exited();
  for (const u of [await a.end(), await b.end()]) {
    expect(u).toEqual({ wallMs: expect.any(Number), measured: 'wall' });
    expect(usageLine(u!)).not.toMatch(/cpu/);
  }
});

const proc = needsProc();
test.runIf(proc.run)(proc.title('an onOver that throws: logged once, no unhandled rejection, the looks go on'), async () => {
  const unhandled: unknown[] = [];
  const note = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', note);
  const logged: string[] = [];
  const s = new Sampler({ everyMs: 20, memoryMax: 1, log: (l) => logged.push(l) });
  const runs: ReturnType<typeof start>[] = [];
  // A sleep is over 1 byte at its first look: its onOver is called, says so, and throws.
  const over = () =>
    new Promise<void>((told) => {
      const watch = s.meter({
        onOver: () => {
          told();
          throw new Error('boom');
        },
      });
      runs.push(start({ file: 'sleep', args: ['30'], killAfterMs: 1000, stdout: sink(), stderr: sink(), watch }));
    });
  try {
    await over();
    // A command started after the throw is still looked at: the sampler's timer went on.
    await over();
  } finally {
    for (const r of runs) r.terminate(0);
    await Promise.all(runs.map((r) => r.outcome));
    process.off('unhandledRejection', note);
  }
  expect(unhandled).toEqual([]);
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatch(/^waiter: looking at the commands' usage failed \(the looks go on\): Error: boom$/);
});

test.runIf(proc.run)(proc.title("the reaped CPU read from the main thread's stat file is the process's, as /proc/self/stat says"), () => {
  const fromSelf = () => {
    const b = readFileSync('/proc/self/stat');
    return reapedOf(b, b.length);
  };
  const [before, selfBefore] = [reapedTicks()!, fromSelf()!];
  // A child burning ~0.2 s, reaped by spawnSync: both counters rise by its CPU.
  spawnSync(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 200);']);
  const [after, selfAfter] = [reapedTicks()!, fromSelf()!];
  expect(after - before).toBeGreaterThanOrEqual(10);
  expect(after).toBe(selfAfter);
  expect(after - before).toBe(selfAfter - selfBefore);
});
