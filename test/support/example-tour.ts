// README's one-minute tour (test/examples.test.ts): twelve clips, two boxes delivering at
// once, `status` while they run and `show` of the clip that failed. Who takes which clip
// is made the same every run: the boxes take turns (below).
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { MongoClient, ObjectId } from 'mongodb';
import { expect } from 'vitest';
import { BIN, kitchenEnv, until, type Where } from './cli.js';

export interface ExampleContext {
  client: MongoClient;
  where: Where;
  dir: string;
  running: ResultPromise[];
  cli: (list: string, args: string[], code?: number, env?: Record<string, string>, cwd?: string) => Promise<string[]>;
  runs: Map<string, string[]>;
}

/** The job the tour shows with `cat crunch.sh`, as it runs. */
export const CRUNCH = ['#!/bin/sh', 'echo "Crunching on: $*"', 'sleep 4', 'case "$1" in clip-07.mp4) echo "ffmpeg: invalid data found" >&2; exit 3;; esac', 'echo "done!"'];

export async function tour(x: ExampleContext) {
  const list = 'tour';
  const db = x.client.db(x.where.name);
  const orders = db.collection(list);
  const cwd = join(x.dir, 'tour');
  await mkdir(cwd);
  const clips = Array.from({ length: 12 }, (_, i) => `clip-${String(i + 1).padStart(2, '0')}.mp4,720p`);
  await writeFile(join(cwd, 'clips.csv'), clips.join('\n') + '\n');
  await writeFile(join(cwd, 'crunch.sh'), CRUNCH.join('\n') + '\n');
  await chmod(join(cwd, 'crunch.sh'), 0o755);

  const t: string[] = ['$ cat clips.csv', clips[0]!, '…', clips.at(-1)!];
  t.push('$ cat crunch.sh                                      # a stand-in for the real work', ...CRUNCH);
  t.push('$ export WAITER_KITCHEN=mongodb://db.example.com/      # on every box', '$ waiter load clips.csv');
  t.push(...(await x.cli(list, ['load', 'clips.csv'], 0, {}, cwd)));

  // crunch.sh's `sleep` is a stand-in (first on the boxes' PATH) that returns once it has slept
  // and the test has opened the order's gate: a clip cannot finish before its box's next turn, however slow
  // its first line is to reach the kitchen on a loaded machine (the sleep alone was a race).
  const gates = join(x.dir, 'tour-gates');
  const shim = join(x.dir, 'tour-bin');
  await mkdir(gates);
  await mkdir(shim);
  // It sleeps as asked first: a clip that ran under a second would show `peak not seen` in `show`.
  const sleep = ['#!/bin/sh', '/bin/sleep "$1"', 'i=0', 'while [ ! -e "$TOUR_GATES/$WAITER_ORDER_ID" ] && [ $i -lt 2400 ]; do /bin/sleep 0.05; i=$((i + 1)); done'];
  await writeFile(join(shim, 'sleep'), sleep.join('\n') + '\n');
  await chmod(join(shim, 'sleep'), 0o755);
  const open = (id: string | undefined) => (id ? writeFile(join(gates, id), '') : Promise.resolve());
  const env = kitchenEnv(x.where, { WAITER_LIST: list, TOUR_GATES: gates, PATH: `${shim}:${process.env.PATH ?? ''}` });
  const deliver = (name: string) => execa('node', [BIN, '-n', name, 'deliver', './crunch.sh'], { cwd, all: true, reject: false, stdin: 'ignore', env });
  const running = (clip: string) => orders.findOne({ arguments: [clip, '720p'], status: 'RUNNING' });
  // In lock step: only the box whose turn it is runs (the other is held by SIGSTOP), and it
  // is held again once it runs its clip and that clip's first line is in the kitchen; its
  // previous clip's gate opens as its turn starts, so it finishes that clip, then claims the
  // next. So box-b takes the odd clips and box-a the even ones on any machine, however loaded.
  const outputs = db.collection(`${list}.output`);
  const current = new Map<ResultPromise, ObjectId>();
  const turn = async (p: ResultPromise, clip: string) => {
    const before = current.get(p);
    await open(before?.toHexString());
    p.kill('SIGCONT');
    // Its previous clip recorded before the next is looked at (the two writes race otherwise).
    if (before) await until(() => orders.findOne({ _id: before, status: { $ne: 'RUNNING' } }), 60_000, `${clip}'s box recording its previous clip`);
    const o = await until(() => running(clip), 120_000, `${clip} running (its box woken with SIGCONT)`);
    current.set(p, o._id);
    await until(() => outputs.findOne({ order: o._id }), 60_000, `${clip}'s first line`);
    p.kill('SIGSTOP');
  };
  const b = deliver('box-b');
  x.running.push(b);
  await turn(b, 'clip-01.mp4');
  const a = deliver('box-a');
  x.running.push(a);
  let bOut = '';
  b.all.on('data', (d: Buffer) => (bOut += d.toString()));
  for (let k = 2; k <= 12; k++) {
    await turn(k % 2 ? b : a, clips[k - 1]!.split(',')[0]!);
    if (k === 4) {
      // While they run: two DONE, two RUNNING.
      const now = await orders.find({ status: { $in: ['DONE', 'RUNNING'] } }).toArray();
      expect(
        now
          .map((o) => `${o.arguments[0]} ${o.status} ${o.waiter}`)
          .sort()
          .join(', '),
      ).toBe('clip-01.mp4 DONE box-b, clip-02.mp4 DONE box-a, clip-03.mp4 RUNNING box-b, clip-04.mp4 RUNNING box-a');
      x.runs.set('tour-status', ['$ waiter status', ...(await x.cli(list, ['status']))]);
    }
  }
  // box-b finishes clip-11 and waits for box-a's clip-12 (and says so) before box-a goes on.
  await open(current.get(b)?.toHexString());
  b.kill('SIGCONT');
  await until(() => bOut.includes('waiter: nothing due now'), 60_000, 'box-b waiting for clip-12');
  await open(current.get(a)?.toHexString());
  a.kill('SIGCONT');

  const [rb, ra] = await Promise.all([b, a]);
  const bl = rb.all.split('\n');
  const al = ra.all.split('\n');
  const waited = bl.find((l) => l.startsWith('waiter: nothing due now'));
  t.push('', 'box-a$ waiter -n box-a deliver ./crunch.sh          # runs ./crunch.sh clip-02.mp4 720p, …', ...al.slice(0, 3), '…', al.at(-1)!);
  t.push('', 'box-b$ waiter -n box-b deliver ./crunch.sh', bl[0]!, '…', ...(waited ? [waited] : []), bl.at(-1)!);
  x.runs.set('tour', t);

  const failed = (await orders.findOne({ arguments: ['clip-07.mp4', '720p'] }))!._id.toHexString();
  x.runs.set('tour-show', [`$ waiter show ${failed}`, ...(await x.cli(list, ['show', failed]))]);
}
