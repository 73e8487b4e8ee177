// README's one-minute tour (test/examples.test.ts): twelve clips, two boxes delivering at
// once, `status` while they run and `show` of the clip that failed. Who takes which clip
// is made the same every run: box-b starts first and box-a once box-b's first order is
// half way (crunch.sh sleeps 2 s), so their claims alternate; both boxes are stopped
// (SIGSTOP) for the status snapshot and woken in the same staggered order.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { MongoClient } from 'mongodb';
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
export const CRUNCH = ['#!/bin/sh', 'echo "Crunching on: $*"', 'sleep 2', 'case "$1" in clip-07.mp4) echo "ffmpeg: invalid data found" >&2; exit 3;; esac', 'echo "done!"'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

  const deliver = (name: string) =>
    execa('node', [BIN, '-n', name, 'deliver', './crunch.sh'], { cwd, all: true, reject: false, stdin: 'ignore', env: kitchenEnv(x.where, { WAITER_LIST: list }) });
  const running = (clip: string) => orders.findOne({ arguments: [clip, '720p'], status: 'RUNNING' });
  const b = deliver('box-b');
  x.running.push(b);
  const first = await until(() => running('clip-01.mp4'), 60_000, 'box-b on clip-01');
  await sleep(Math.max(0, +first.start + 1000 - Date.now()));
  const a = deliver('box-a');
  x.running.push(a);

  // While they run: each box is held still (SIGSTOP) on its second order once that order's
  // first line is in the kitchen, so `status` sees two DONE and two RUNNING every time.
  const outputs = db.collection(`${list}.output`);
  const onSecond = async (p: ResultPromise, clip: string, who: string) => {
    const o = await until(() => running(clip), 60_000, `${who} on ${clip}`);
    await until(() => outputs.findOne({ order: o._id }), 60_000, `${clip}'s first line`);
    p.kill('SIGSTOP');
  };
  await onSecond(b, 'clip-03.mp4', 'box-b');
  await onSecond(a, 'clip-04.mp4', 'box-a');
  expect([await orders.countDocuments({ status: 'DONE' }), await orders.countDocuments({ status: 'RUNNING' })]).toEqual([2, 2]);
  x.runs.set('tour-status', ['$ waiter status', ...(await x.cli(list, ['status']))]);
  b.kill('SIGCONT');
  const fifth = await until(() => running('clip-05.mp4'), 60_000, 'box-b on clip-05');
  await sleep(Math.max(0, +fifth.start + 1000 - Date.now()));
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
