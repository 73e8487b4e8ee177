// test/exit-codes-doc.test.ts's half that reads the table and makes the runs: each row of
// docs/exit-codes.md's "Lines you can parse" is keyed by its first cell (the command, in
// situation), and runAll() gives, per key, the line a real `waiter` process printed for it.
// The lists are small and mostly written straight into the kitchen (a RUNNING order with a
// live or an ended lease, DONE and ERROR ones): the command run on them is the real one.
// Groups of commands on lists of their own run side by side (the whole takes seconds).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Db, ObjectId } from 'mongodb';
import { inject } from 'vitest';
import { PRIO_RUNNING } from '../../src/order.js';
import { cancelLine } from '../../src/commands/cancel.js';
import { editLine } from '../../src/commands/edit.js';
import { holdLine } from '../../src/commands/hold.js';
import { BIN, kitchenEnv, until, type Where } from './cli.js';
import { sharedClient, uniqueDbName } from './kitchen.js';

export interface Row {
  /** The first cell as written: the key of its run. */
  command: string;
  /** The line, the second cell's code span. */
  form: string;
  /** 1-based line in the file. */
  line: number;
}

/** The rows of the section's table: two cells each, the second one code span (the line). */
export function parseLinesTable(md: string): Row[] {
  const all = md.split('\n');
  const start = all.indexOf('## Lines you can parse');
  if (start < 0) throw new Error('no "## Lines you can parse" section');
  const rows: Row[] = [];
  for (let i = start + 1; i < all.length && !all[i]!.startsWith('## '); i++) {
    const cells = /^\|(.*)\|\s*$/
      .exec(all[i]!)?.[1]
      ?.split(' | ')
      .map((c) => c.trim());
    if (!cells || cells[0] === 'command' || /^[-|: ]+$/.test(cells.join(''))) continue;
    const form = cells.length === 2 ? /^`([^`]+)`$/.exec(cells[1]!)?.[1] : undefined;
    if (form === undefined) throw new Error(`docs/exit-codes.md:${i + 1}: a row is a command and one \`line\` in code: ${all[i]}`);
    rows.push({ command: cells[0]!, form, line: i + 1 });
  }
  return rows;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A row's line as a pattern: numbers (grouped by commas, as every line writes them) are any
 * number, and a counted word shown plural may be singular (`order` for one); `<id>` is an
 * ObjectId, `<iso>` a time, other `<…>` any text, `…` anything; sizes any size.
 */
export function formRegex(form: string): RegExp {
  const token = /<id>|<iso>|<[^<>]+>|\d[\d,]*(?:\.\d+)? (?:B|KiB|MiB|GiB|TiB)\b|\d[\d,]*(?:\.\d+)?|…/g;
  let re = '';
  let at = 0;
  for (let m = token.exec(form); m; m = token.exec(form)) {
    re += escape(form.slice(at, m.index));
    at = m.index + m[0].length;
    const t = m[0];
    if (t === '<id>') re += '[0-9a-f]{24}';
    else if (t === '<iso>') re += '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
    else if (t.startsWith('<')) re += '.+?';
    else if (t === '…') re += '.*';
    else if (/ [KMGT]?i?B$/.test(t) || t.endsWith(' B')) re += '\\d+(?:\\.\\d)? (?:B|KiB|MiB|GiB|TiB)';
    else {
      re += '\\d{1,3}(?:,\\d{3})*(?:\\.\\d+)?';
      // "3 orders", "2 live waiters", "12 files": the word may be singular ("1 order").
      const counted = t === '1' ? null : /^ ((?:[a-z]+ )?[a-z]+)s(?![a-z])/.exec(form.slice(at));
      if (counted) {
        re += ` ${escape(counted[1]!)}s?`;
        at += counted[0].length;
      }
    }
  }
  return new RegExp(`^${re}${escape(form.slice(at))}$`);
}

/** A list of the database: documents written as the kitchen keeps them, and `waiter` run on it. */
class List {
  constructor(
    readonly db: Db,
    readonly where: Where,
    readonly name: string,
    readonly cwd: string,
  ) {}

  /** `waiter <args>`: its stdout lines; the exit code must be `code`. */
  async run(args: string[], code = 0, env: Record<string, string> = {}): Promise<string[]> {
    const r = await execa('node', [BIN, ...args], { cwd: this.cwd, reject: false, stdin: 'ignore', env: { ...kitchenEnv(this.where, { WAITER_LIST: this.name }), ...env } });
    if (r.exitCode !== code) throw new Error(`waiter ${args.join(' ')}: exit ${r.exitCode}, expected ${code}: ${r.stderr}`);
    return r.stdout === '' ? [] : r.stdout.split('\n');
  }

  start(args: string[], env: Record<string, string> = {}): ResultPromise {
    return execa('node', [BIN, ...args], { cwd: this.cwd, reject: false, stdin: 'ignore', env: { ...kitchenEnv(this.where, { WAITER_LIST: this.name }), ...env } });
  }

  /** Orders of one state, their first argument `tag` (for `--where 1=<tag>`); their ids in _id order. */
  async put(tag: string, state: 'READY' | 'LIVE' | 'STALE' | 'DONE' | 'ERROR', n: number): Promise<ObjectId[]> {
    const now = Date.now();
    const ran = { attempts: 1, waiter: 'box-9', start: new Date(now - 60_000) };
    const doc = (i: number) => {
      const args = [tag, `${state.toLowerCase()}-${i}`];
      if (state === 'READY') return { status: 'READY', arguments: args, attempts: 0, due: new Date(now), prio: 0 };
      if (state === 'DONE') return { status: 'DONE', arguments: args, ...ran, stop: new Date(now - 1000), exitCode: 0, prio: 0 };
      if (state === 'ERROR') return { status: 'ERROR', arguments: args, ...ran, stop: new Date(now - 1000), exitCode: 3, error: 'exit code 3', prio: 0 };
      // RUNNING on a waiter not of this test: a lease to run an hour more (live) or over an hour ago (stale).
      const expires = new Date(state === 'LIVE' ? now + 3_600_000 : now - 3_600_000);
      return { status: 'RUNNING', arguments: args, ...ran, claim: `c-${tag}-${i}`, prio: PRIO_RUNNING, heartbeat: new Date(expires.getTime() - 60_000), expires, due: expires };
    };
    const r = await this.db.collection(this.name).insertMany(Array.from({ length: n }, (_, i) => doc(i)));
    return Object.values(r.insertedIds);
  }
}

type Lines = Map<string, string>;

/** Loads, delivers (collect, checkpoint), dry runs, extract, gather, clean --outputs, clean. */
async function files(l: List, got: Lines) {
  await writeFile(join(l.cwd, 'clips.csv'), 'clip-01.mp4,720p\nclip-02.mp4,720p\nbad,720p\n');
  got.set('`load`', (await l.run(['load', 'clips.csv']))[0]!);
  got.set('`deliver --dry-run N` (one line per order)', (await l.run(['deliver', '--dry-run', '1', './crunch.sh']))[0]!);
  got.set('`deliver --dry-run N`, an order that could not run (exit 1)', (await l.run(['deliver', '--dry-run', '1', '--workdir', 'runs/{nope}', './crunch.sh'], 1))[0]!);
  got.set('`extract` (its first line; named columns, of `load --header` or `add --field`, come between `workdir` and `priority`)', (await l.run(['extract']))[0]!);
  // Each order checkpoints first (exit 85: stored, run again), then leaves a result file, or fails: bad ends ERROR, its checkpoint kept.
  const job = '[ -e state ] || { echo 1 > state; exit 85; }; [ "$1" = bad ] && exit 3; mkdir -p out; echo "$1" > out/r.txt';
  const deliver = ['deliver', '--workdir', 'runs/{id}', '--collect', 'out/*', '--checkpoint', 'state', '--checkpoint-exit-code', '85', '--shell', job];
  got.set('`deliver` (its last line)', (await l.run(deliver, 1)).at(-1)!);
  const ids = (await l.run(['extract'])).slice(1).map((row) => row.slice(0, 24));
  await mkdir(join(l.cwd, 'all'));
  got.set('`gather -o results`', (await new List(l.db, l.where, l.name, join(l.cwd, 'all')).run(['gather', '-o', 'results']))[0]!);
  // A folder where the first order's file goes: that file refused; the failed order has none.
  const some = join(l.cwd, 'some');
  await mkdir(join(some, 'results', ids[0]!, 'out', 'r.txt'), { recursive: true });
  got.set('`gather -o results <id…>`, some refused (exit 1) or without files', (await new List(l.db, l.where, l.name, some).run(['gather', '-o', 'results', ...ids], 1))[0]!);
  got.set('`clean --outputs`', (await l.run(['clean', '--outputs']))[0]!);
  got.set('`clean --outputs --status S` or `--older-than D`', (await l.run(['clean', '--outputs', '--status', 'DONE']))[0]!);
  got.set('`clean`', (await l.run(['clean']))[0]!);
}

/** load --unique, and a waiter stopping itself after two failures in a row. */
async function loads(l: List, got: Lines) {
  await writeFile(join(l.cwd, 'three.csv'), 'a\nb\nc\n');
  got.set('`load --unique`', (await l.run(['load', '--unique', 'three.csv']))[0]!);
  got.set('`deliver`, stopped by `--max-failures-in-a-row` (exit 6) or a box failure (exit 5)', (await l.run(['deliver', '--max-failures-in-a-row', '2', 'false'], 6)).at(-1)!);
}

/** add (plain, --after on a READY order and on a DONE one, --unique twice), a hold of two, release, and cancel --with-dependants. */
async function pipeline(l: List, got: Lines) {
  const id = (line: string) => line.split(' ')[2]!;
  const first = (await l.run(['add', 'r', 'p']))[0]!;
  got.set('`add`', first);
  const p = id(first);
  const w = (await l.run(['add', '--after', p, 'r', 'w']))[0]!;
  got.set('`add --after`, `--after-any`, `--after-all`, what it waits for not done', w);
  const [done] = await l.put('d', 'DONE', 1);
  got.set('`add --after`, `--after-any`, `--after-all`, what it waits for done already (released at once)', (await l.run(['add', '--after', done!.toHexString(), 'd', 'x']))[0]!);
  await l.run(['add', '--unique', 'r', 'u']);
  got.set('`add --unique`, the order already in the list', (await l.run(['add', '--unique', 'r', 'u']))[0]!);
  await l.run(['hold', p, id(w)]);
  got.set('`release --dry-run <selection>`', (await l.run(['release', '--dry-run', '--where', '1=r']))[0]!);
  got.set('`release <selection>`', (await l.run(['release', '--where', '1=r']))[0]!);
  got.set('`cancel --dry-run --with-dependants <selection>`', (await l.run(['cancel', '--dry-run', '--with-dependants', p]))[0]!);
  got.set('`cancel --with-dependants <selection>`', (await l.run(['cancel', '--with-dependants', p]))[0]!);
}

/** cancel, hold, edit and reset over orders READY, RUNNING (live, stale), DONE, ERROR. */
async function steering(db: Db, where: Where, dir: string, got: Lines) {
  const list = (name: string) => new List(db, where, name, dir);
  const cancel = list('cancel');
  await cancel.put('a', 'READY', 2);
  await cancel.put('a', 'LIVE', 1);
  await cancel.put('a', 'STALE', 2);
  await cancel.put('a', 'DONE', 2);
  await cancel.put('b', 'READY', 8);
  got.set('`cancel --dry-run <selection>`', (await cancel.run(['cancel', '--dry-run', '--where', '1=a']))[0]!);
  got.set('`cancel <selection>`', (await cancel.run(['cancel', '--where', '1=a']))[0]!);
  got.set('`cancel --dry-run`, more than 5 orders', (await cancel.run(['cancel', '--dry-run', '--where', '1=b']))[0]!);

  const hold = list('hold');
  const [one] = await hold.put('h', 'READY', 2);
  await hold.put('h', 'LIVE', 2);
  await hold.run(['hold', one!.toHexString()]);
  got.set('`hold --dry-run <selection>`', (await hold.run(['hold', '--dry-run', '--where', '1=h']))[0]!);
  got.set('`hold <selection>`', (await hold.run(['hold', '--where', '1=h']))[0]!);

  const edit = list('edit');
  await edit.put('e', 'READY', 2);
  await edit.put('e', 'LIVE', 1);
  await edit.put('e', 'DONE', 2);
  got.set('`edit --dry-run <selection>`', (await edit.run(['edit', '--dry-run', '--where', '1=e', '--priority', '5']))[0]!);
  got.set('`edit <selection>`', (await edit.run(['edit', '--where', '1=e', '--priority', '5']))[0]!);

  const reset = list('reset');
  await reset.put('x', 'ERROR', 2);
  await reset.put('y', 'ERROR', 1);
  await reset.put('y', 'LIVE', 2);
  got.set('`reset`', (await reset.run(['reset', '--where', '1=x']))[0]!);
  got.set('`reset --dry-run`', (await reset.run(['reset', '--dry-run']))[0]!);
  got.set('`reset`, some RUNNING orders live', (await reset.run(['reset']))[0]!);
}

/**
 * pause, resume and stop with two live waiters (deliver --wait on an empty list). Their
 * heartbeat is longer than the test: none sees a stop before the last one is asked, so
 * each stop finds them live; they are sent SIGTERM at the end.
 */
async function fleet(l: List, got: Lines, running: ResultPromise[]) {
  for (const name of ['box-1', 'box-2']) running.push(l.start(['-n', name, 'deliver', '--wait', '--lease', '10m', '--heartbeat', '5m', 'true']));
  await until(async () => (await l.db.collection(`${l.name}.waiters`).countDocuments({ ended: { $exists: false } })) === 2, 60_000, 'two waiters registered');
  got.set('`pause`', (await l.run(['pause', '--reason', 'deploy of the model']))[0]!);
  got.set('`pause`, already paused', (await l.run(['pause']))[0]!);
  got.set('`resume`', (await l.run(['resume']))[0]!);
  got.set('`resume`, not paused', (await l.run(['resume']))[0]!);
  got.set('`stop <name>`', (await l.run(['stop', 'box-1']))[0]!);
  got.set('`stop --host <host> --now`', (await l.run(['stop', '--host', hostname(), '--now']))[0]!);
  got.set('`stop --all`', (await l.run(['stop', '--all']))[0]!);
}

/** serve's first line, with a token. */
async function serve(l: List, got: Lines, running: ResultPromise[]) {
  const s = l.start(['serve', '--port', '0'], { WAITER_TOKEN: 's3cret-token-123' });
  running.push(s);
  let out = '';
  s.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  got.set('`serve` (its first line)', await until(() => out.split('\n').find((line) => line.includes('http://')), 60_000, 'waiter serve to listen'));
}

/**
 * Lines only a race makes (a RUNNING order taken over again and again while a cancel or a
 * hold wrote it; an order claimed or steered between an edit's count and its write): no
 * run gives them on demand, so the line the command would print is asked of its printer.
 */
function races(got: Lines) {
  const r = { dryRun: false, running: 0, stale: 0, finished: 0, busy: 1 };
  got.set('`cancel`, `hold`: a running order taken over while they wrote', cancelLine({ ...r, cancelled: 2, dependants: 0 }));
  if (!holdLine({ ...r, held: 2, already: 0 }).endsWith('(1 taken over while holding, left alone: try again)')) throw new Error('hold says a race otherwise than cancel');
  got.set('`edit`: orders taken or steered while it wrote', editLine({ edited: 2, running: 0, finished: 0, meanwhile: 1, dryRun: false }));
}

/** Every row's line, from real runs on one database; `done` stops what still runs and drops it. */
export async function runAll(): Promise<{ got: Lines; done: () => Promise<void> }> {
  const client = await sharedClient();
  const where = { uri: inject('mongodbUri'), name: uniqueDbName('exit-codes-doc') };
  const db = client.db(where.name);
  const dir = await mkdtemp(join(tmpdir(), 'waiter-lines-'));
  const running: ResultPromise[] = [];
  const got: Lines = new Map();
  const done = async () => {
    for (const p of running) p.kill('SIGTERM');
    await Promise.all(running);
    await db.dropDatabase();
    await rm(dir, { recursive: true, force: true });
  };
  const list = (name: string) => new List(db, where, name, dir);
  races(got);
  try {
    await Promise.all([
      files(list('files'), got),
      loads(list('loads'), got),
      pipeline(list('pipe'), got),
      steering(db, where, dir, got),
      fleet(list('fleet'), got, running),
      serve(list('orders'), got, running),
    ]);
  } catch (err) {
    await done();
    throw err;
  }
  return { got, done };
}
