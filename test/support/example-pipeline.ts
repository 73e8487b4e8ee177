// docs/pipelines.md's two-stage load (test/examples.test.ts): 5,000 frames, then one encode
// that waits for all of them (`--after-all`), and `status` (its first and WAITING lines).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN, kitchenEnv } from './cli.js';
import type { ExampleContext } from './example-tour.js';

export async function pipeline(x: ExampleContext) {
  const list = 'pipeline';
  await writeFile(join(x.dir, 'frames.csv'), Array.from({ length: 5000 }, (_, i) => `frame-${i + 1}.png`).join('\n') + '\n');
  const t = ['$ waiter load frames.csv                           # stage 1: 5,000 orders'];
  t.push(...(await x.cli(list, ['load', 'frames.csv'])));
  t.push('$ echo out.mp4 | waiter load - --after-all         # stage 2: waits for every order loaded before it');
  const second = await execa('node', [BIN, 'load', '-', '--after-all'], { cwd: x.dir, reject: false, input: 'out.mp4\n', env: kitchenEnv(x.where, { WAITER_LIST: list }) });
  if (second.exitCode !== 0) throw new Error(`load - --after-all: ${second.stderr}`);
  t.push(...second.stdout.split('\n'));
  const status = await x.cli(list, ['status']);
  t.push('$ waiter status', status[0]!, '…', ...status.filter((l) => l.startsWith('WAITING')));
  t.push('$ waiter deliver ./step.sh                         # on as many boxes as you like: frames first, then the encode');
  x.runs.set('pipeline', t);
}
