// The outputs the docs show are real: every block marked `<!-- example: NAME -->` in
// README.md or docs/**/*.md equals (normalised: test/support/examples.ts) what the
// commands print on a list built here once, by real deliver processes on the test server.
// `npm run examples` (WAITER_EXAMPLES=write) writes the runs into the blocks instead.
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { BIN, FIXTURES, ROOT, kitchenEnv, until, type Where } from './support/cli.js';
import { difference, docFiles, markedBlocks, normalise, rewrite, updated, type Block } from './support/examples.js';
import { sharedClient, uniqueDbName } from './support/kitchen.js';
import { api } from './support/example-api.js';
import { loadUnique, testServer, usage } from './support/example-docs.js';
import { pipeline } from './support/example-pipeline.js';
import { sizing } from './support/example-sizing.js';
import { tour } from './support/example-tour.js';
import { needsGo } from './support/gates.js';

const WRITE = process.env.WAITER_EXAMPLES === 'write';
/** The test server's own start (docs/getting-started.md) needs Go, or its binary built: else that one block is not compared. */
const go = needsGo();
const unchecked = go.run ? [] : ['test-server'];

let client: MongoClient;
let where: Where;
let dir = '';
let pidFile = '';
const running: ResultPromise[] = [];
/** Each example's lines, as a terminal shows them (commands as `$ …`). */
const runs = new Map<string, string[]>();

/** `waiter <args>` in the examples' folder, on `list`; the shown host is the docs' `vm`. */
async function cli(list: string, args: string[], code = 0, env: Record<string, string> = {}, cwd = dir): Promise<string[]> {
  const r = await execa('node', [BIN, ...args], { cwd, reject: false, stdin: 'ignore', env: { ...kitchenEnv(where, { WAITER_LIST: list }), ...env } });
  if (r.exitCode !== code) throw new Error(`waiter ${args.join(' ')}: exit ${r.exitCode}, expected ${code}: ${r.stderr}`);
  return r.stdout === '' ? [] : r.stdout.split('\n').map(shownHost);
}

/** The first `n` lines `waiter <args>` prints (a `--watch`, which runs until stopped), then Ctrl-C. */
async function firstLines(list: string, args: string[], n: number, env: Record<string, string> = {}): Promise<string[]> {
  const p = execa('node', [BIN, ...args], { cwd: dir, reject: false, stdin: 'ignore', env: { ...kitchenEnv(where, { WAITER_LIST: list }), ...env } });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.split('\n').length > n, 60_000, `${n} lines of waiter ${args.join(' ')}`);
  p.kill('SIGINT');
  const r = await p;
  if (r.exitCode !== 0) throw new Error(`waiter ${args.join(' ')}: exit ${r.exitCode} on Ctrl-C: ${r.stderr}`);
  return out.split('\n').slice(0, n).map(shownHost);
}

/** A kitchen that does not answer (nothing listens on port 1), as `status --watch` shows it. */
async function unreachable() {
  const uri = 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500';
  const lines = await firstLines('orders', ['-k', uri, 'status', '--watch', '1s'], 1, { WAITER_DB: 'demo' });
  runs.set('watch-unreachable', [`$ waiter -k '${uri}' status --watch 1s | cat`, ...lines, '…']);
}

/** This machine's name as the docs' `vm`; in a table, padded to the column's width. */
const shownHost = (line: string) => {
  const h = hostname();
  return line
    .split(`${h}  `)
    .join(`${'vm'.padEnd(h.length)}  `)
    .split(h)
    .join('vm');
};

/** A terminal session: `$ <shown>` and what the command printed. */
class Transcript {
  readonly lines: string[] = [];
  constructor(
    private readonly list: string,
    private readonly cwd = dir,
  ) {}
  async run(shown: string, opts: { args?: string[]; head?: number } = {}) {
    this.lines.push(`$ ${shown}`);
    const out = await cli(this.list, opts.args ?? shown.split(' ').slice(1), 0, {}, this.cwd);
    this.lines.push(...(opts.head === undefined ? out : out.slice(0, opts.head)));
  }
  text(...lines: string[]) {
    this.lines.push(...lines);
  }
}

/** The job the walkthrough types in: it fails on tty1, so the reset after has an order to put back. */
const WALK_JOB = ['#!/bin/sh', 'echo "Crunching on: $*"', 'sleep 1', 'case "$*" in *tty1) echo "tty1: device busy" >&2; exit 3;; esac', 'echo "done!"'];

/**
 * The Walkthrough, in a folder of its own (fleet() has a crunch.sh too): a clean list, 315
 * names loaded, status before any waiter; then one waiter delivers two, the report's first
 * rows, and the reset of the failed one. The failure is the last order it runs: a failure's
 * line is printed once its record is written, which races the next order's first lines.
 */
async function walkthrough() {
  const cwd = join(dir, 'walk');
  await mkdir(cwd);
  const t = new Transcript('walk', cwd);
  await t.run('waiter clean');
  t.text('$ ls /dev > orders.csv');
  await writeFile(join(cwd, 'orders.csv'), Array.from({ length: 315 }, (_, i) => `tty${i}`).join('\n') + '\n');
  await t.run('waiter load orders.csv');
  t.text('');
  await t.run('waiter status');
  runs.set('walkthrough', t.lines);

  await writeFile(join(cwd, 'crunch.sh'), WALK_JOB.join('\n') + '\n');
  await chmod(join(cwd, 'crunch.sh'), 0o755);
  runs.set('walkthrough-job', ['$ cat > crunch.sh', ...WALK_JOB, '$ chmod +x crunch.sh']);

  // Both streams into one pipe, as a terminal shows them: the waiter writes its lines and the
  // command's (which it copies) in the order they happen, where two pipes could be read out of order.
  const shown = 'waiter deliver --max 2 ./crunch.sh --some-param some-value';
  const d = await execa('sh', ['-c', 'exec "$0" "$@" 2>&1', 'node', BIN, ...shown.split(' ').slice(1)], {
    cwd,
    reject: false,
    stdin: 'ignore',
    env: kitchenEnv(where, { WAITER_LIST: 'walk' }),
  });
  if (d.exitCode !== 1) throw new Error(`${shown}: exit ${d.exitCode}, expected 1 (tty1 failed): ${d.stdout}`);
  runs.set('walkthrough-deliver', [`$ ${shown}`, ...d.stdout.split('\n').map(shownHost)]);

  const report = new Transcript('walk', cwd);
  await report.run('waiter extract -o report.csv && head -3 report.csv', { args: ['extract', '-o', 'report.csv'] });
  report.text(...(await readFile(join(cwd, 'report.csv'), 'utf8')).split('\n').slice(0, 3).map(shownHost));
  runs.set('walkthrough-report', report.lines);

  const reset = new Transcript('walk', cwd);
  await reset.run('waiter reset');
  runs.set('walkthrough-reset', reset.lines);
}

/**
 * Watching a fleet: 40 clips, two broken (fixtures/clip.sh, as ./crunch.sh), --max-attempts 2.
 * box-c is killed (kill -9) on clip-06; once its lease is out box-b takes that over and
 * delivers 12, box-a the rest; box-d waits on the empty list, is stopped with Ctrl-C
 * and started again. Each box runs alone, so the counts are the same every time.
 */
async function fleet() {
  const list = 'orders';
  const orders = client.db(where.name).collection(list);
  await writeFile(join(dir, 'clips.csv'), Array.from({ length: 40 }, (_, i) => `clip-${String(i + 1).padStart(2, '0')}.mp4,720p\n`).join(''));
  await copyFile(join(FIXTURES, 'clip.sh'), join(dir, 'crunch.sh'));
  await cli(list, ['load', 'clips.csv']);
  const deliver = (name: string, args: string[], env: Record<string, string> = {}) =>
    execa('node', [BIN, '-n', name, 'deliver', '--max-attempts', '2', ...args, './crunch.sh'], {
      cwd: dir,
      reject: false,
      stdin: 'ignore',
      env: { ...kitchenEnv(where, { WAITER_LIST: list }), ...env },
    });

  const c = deliver('box-c', ['--lease', '6s'], { HANG_ON: 'clip-06.mp4', PIDS: pidFile });
  running.push(c);
  const hung = await until(() => orders.findOne({ arguments: ['clip-06.mp4', '720p'], status: 'RUNNING' }), 60_000, 'box-c on clip-06');
  // Killed once what it printed of clip-06 is in the kitchen: the same output documents every run.
  await until(() => client.db(where.name).collection(`${list}.output`).findOne({ order: hung._id }), 60_000, "clip-06's output");
  // And once its registry entry says so: the entry is written every heartbeat, not per order,
  // so until then `waiters` shows an earlier clip (and fewer delivered) on a loaded machine.
  const registry = client.db(where.name).collection(`${list}.waiters`);
  // Its progress, sent with a heartbeat: `show` says it as of then, and after the takeover in its LOST attempt.
  await until(() => orders.findOne({ _id: hung._id, progress: { $exists: true } }), 60_000, "clip-06's progress");
  // The entry's own write of a heartbeat may land after the order's, and the record of
  // clip-05 rides beside clip-06's claim: wait for the entry with clip-06, its progress and
  // the 5 clips before it delivered.
  await until(
    () => registry.findOne({ name: 'box-c', 'current.order': hung._id.toHexString(), 'current.progress': { $exists: true }, delivered: 5 }),
    60_000,
    "box-c's entry on clip-06, with its progress and 5 delivered",
  );
  const hungId = hung._id.toHexString();
  const whileRunning = cli(list, ['show', hungId]);
  const mid = new Transcript(list);
  await mid.run('waiter waiters');
  await mid.run('waiter status');
  c.kill('SIGKILL');
  await c;
  mid.text('$ kill -9 <its pid>                  # on box-c');
  // Its registry entry has a timer of its own: STALE (not live) only once that lease is out too.
  await until(async () => +(await registry.findOne({ name: 'box-c' }))!.expires < Date.now() - 500, 60_000, 'box-c STALE');
  await mid.run('waiter waiters');
  runs.set('fleet-mid', mid.lines);
  await until(async () => +(await orders.findOne({ _id: hung._id }))!.expires < Date.now() - 500, 60_000, "box-c's lease to run out");

  expect((await deliver('box-b', ['--max', '12'])).exitCode).toBe(0); // clip-07 failed once: READY again, not ERROR
  const taken = await cli(list, ['show', hungId]);
  runs.set('fleet-progress', [
    `$ waiter show ${hungId} | grep progress                  # while box-c runs it`,
    ...(await whileRunning).filter((l) => l.includes('progress')),
    `$ waiter show ${hungId} | grep LOST                      # once box-b took it over`,
    ...taken.filter((l) => l.includes('LOST')),
  ]);
  expect((await deliver('box-a', [])).exitCode).toBe(1);

  const idle = (p: ResultPromise) => until(() => registry.findOne({ name: 'box-d', pid: p.pid, 'running.0': { $exists: false } }), 60_000, 'box-d idle');
  const d1 = deliver('box-d', ['--wait']);
  await idle(d1);
  d1.kill('SIGINT');
  expect((await d1).exitCode).toBe(130);
  const d2 = deliver('box-d', ['--wait']);
  running.push(d2);
  await idle(d2);

  const clip07 = (await orders.findOne({ arguments: ['clip-07.mp4', '720p'] }))!._id.toHexString();
  // Beside the calls below: nothing changes any more (box-d waits on an empty list).
  const watched = firstLines(list, ['status', '--watch', '1s'], 2);
  const t = new Transcript(list);
  await t.run('waiter status');
  await t.run('waiter status --json');
  await t.run('waiter waiters --json | head -1', { args: ['waiters', '--json'], head: 1 });
  await t.run(`waiter show ${clip07}`);
  runs.set('fleet-done', t.lines);
  const all = new Transcript(list);
  await all.run('waiter waiters --all');
  runs.set('fleet-all', all.lines);
  runs.set('fleet-watch', ['$ waiter status --watch 1s | cat', ...(await watched), '^C']);
}

beforeAll(async () => {
  client = await sharedClient();
  where = { uri: inject('mongodbUri'), name: uniqueDbName('examples') };
  dir = await mkdtemp(join(tmpdir(), 'waiter-examples-'));
  pidFile = join(dir, 'pids');
  await writeFile(pidFile, '');
  const ctx = { client, where, dir, running, cli, runs };
  await Promise.all([walkthrough(), fleet(), tour(ctx), api(ctx), pipeline(ctx), sizing(ctx), unreachable(), loadUnique(ctx), usage(ctx), go.run ? testServer(ctx) : undefined]);
}, 300_000);

afterAll(async () => {
  for (const p of running) p.kill('SIGKILL');
  await Promise.all(running.map((p) => p.catch(() => undefined)));
  // A kill -9'd waiter leaves its command running (its own process group).
  for (const pid of (await readFile(pidFile, 'utf8').catch(() => '')).split('\n').filter(Boolean)) {
    try {
      process.kill(-Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await client?.db(where.name).dropDatabase();
  await client?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every marked block of every doc, read after `npm run examples` wrote them. */
async function blocks(): Promise<Block[]> {
  const out: Block[] = [];
  for (const file of docFiles(ROOT)) out.push(...markedBlocks(file, await readFile(join(ROOT, file), 'utf8')));
  return out;
}

describe('the docs show what the commands print', () => {
  beforeAll(async () => {
    if (!WRITE) return;
    for (const file of docFiles(ROOT)) {
      const text = await readFile(join(ROOT, file), 'utf8');
      const found = markedBlocks(file, text).filter((b) => runs.has(b.name));
      const next = rewrite(
        text,
        found.map((block) => ({ block, lines: updated(block.lines, runs.get(block.name)!) })),
      );
      if (next !== text) await writeFile(join(ROOT, file), next);
    }
  });

  test('each marked example is a real run (normalised: ids, times, spans, sizes, paces)', async () => {
    const found = (await blocks()).filter((b) => !unchecked.includes(b.name));
    const problems = found.map((b) =>
      runs.has(b.name)
        ? difference(b.name, `${b.file}:${b.markerLine}`, b.lines, runs.get(b.name)!)
        : `${b.file}:${b.markerLine}: no run makes example '${b.name}' (known: ${[...runs.keys()].join(', ')})`,
    );
    expect(problems.filter(Boolean).join('\n\n')).toBe('');
    // An example whose marker went missing (a section moved without it) is no longer checked: say so.
    expect([...runs.keys()].filter((n) => !found.some((b) => b.name === n))).toEqual([]);
  });

  test.runIf(go.run)(go.title("the test server's first lines are a real run"), () => {
    expect(runs.get('test-server')).toHaveLength(3);
  });
});

describe('the checker', () => {
  test('finds fenced and indented blocks after their marker, and sees an edited line', () => {
    const md = ['text', '<!-- example: a -->', '', '    $ waiter status', '    READY    3', '', 'more', '<!-- example: b -->', '```sh', '$ x', '```', ''].join('\n');
    const [a, b] = markedBlocks('x.md', md);
    expect([a!.name, a!.lines, b!.name, b!.lines]).toEqual(['a', ['$ waiter status', 'READY    3'], 'b', ['$ x']]);
    expect(() => markedBlocks('x.md', '<!-- example: c -->\n\nprose')).toThrow(/not followed by a code block/);
    const run = ['order     6b077ef664f8b85fcef5bba6', 'stop      2026-11-26T00:36:31.912Z (3.0s)', 'exit code 3', 'NAME  HOST  UP  SEEN', 'box-b  vm  11s  1.8s ago'];
    const doc = ['order     0123456789abcdef01234567', 'stop      2027-01-01T00:00:00.000Z (45ms)', 'exit code 3', 'NAME   HOST  UP   SEEN', 'box-b  vm    2m03s  120ms ago'];
    expect(difference('x', 'x.md:1', doc, run)).toBe('');
    const edited = doc.map((l, i) => (i === 2 ? 'exit code 4' : l));
    expect(difference('x', 'x.md:1', edited, run)).toContain('- exit code 4\n+ exit code 3');
    // One id shown twice must be the same id twice.
    expect(normalise(['a 0123456789abcdef01234567 b 0123456789abcdef01234568'])).toEqual(['a <id1> b <id2>']);
    // A report row: the waiter's pid and what the attempt used vary, how it was measured and the columns before do not.
    const row = (waiter: string, used: string) => normalise([`x,DONE,${waiter},,0,1,,0,,${used}`])[0];
    expect(row('vm/1457', '1009,0,,proc-sample+wait')).toBe(row('vm/28153', '1012,10,3334144,proc-sample+wait'));
    expect(row('vm/1457', '1009,0,,wall')).not.toBe(row('vm/1457', '1009,0,,proc-sample+wait'));
    expect(row('vm/1457', '1009,0,,proc-sample+wait')).not.toBe(normalise(['x,DONE,vm/1457,,0,1,0,,1009,0,,proc-sample+wait'])[0]);
    expect(updated(doc, run)).toBe(doc);
    expect(updated(edited, run)).toEqual([doc[0], ...run.slice(1)]); // the run, with the doc's id
    expect(rewrite(md, [{ block: a!, lines: ['$ waiter status', '', 'READY 4'] }])).toContain('\n    $ waiter status\n\n    READY 4\n\nmore');
  });
});
