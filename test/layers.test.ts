// The layers of src/: imports run down, never back up. Only the entry point (cli.ts)
// imports the commands; the rooms below them (serve, deliver, kitchen, ...) never do.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from './support/cli.js';

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('nothing below the commands imports from src/commands (the option parsers live in src/values.ts)', async () => {
  const src = join(ROOT, 'src');
  const upward: string[] = [];
  for (const file of await sources(src)) {
    const rel = relative(src, file);
    if (rel === 'cli.ts' || rel.startsWith('commands/')) continue;
    for (const m of (await readFile(file, 'utf8')).matchAll(/from '([^']+)'/g)) {
      if (/(^|\/)commands\//.test(m[1]!)) upward.push(`${rel} imports ${m[1]}`);
    }
  }
  expect(upward).toEqual([]);
});

/** Imports of one file: the module names after `from`. */
async function importsOf(file: string): Promise<string[]> {
  return [...(await readFile(file, 'utf8')).matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
}

test('src/app/ (the use cases CLI and API share) never imports the commands, the server, yargs or hono', async () => {
  const src = join(ROOT, 'src');
  const found: string[] = [];
  for (const file of await sources(join(src, 'app'))) {
    for (const m of await importsOf(file)) {
      if (/(^|\/)(commands|serve)\//.test(m) || /^(yargs|hono)(\/|$)/.test(m)) found.push(`${relative(src, file)} imports ${m}`);
    }
  }
  expect(found).toEqual([]);
});

// What writes to the kitchen: its write methods, and the helpers that write through them.
// The commands and the server reach them only through src/app/ (one add, one reset, ...
// for both), so a route and a command cannot drift apart again.
const WRITES = [
  'insertOrders',
  'addOrder',
  'saveColumns',
  'reset',
  'releaseWritten',
  'releaseAll',
  'releaseFor',
  'newBarrier',
  'ensureIndexes',
  'settleWaiters',
  'removeFor',
  'removeAll',
  'clean',
  'cleanOutputs',
  'waitInsert',
  'waitRows',
];

test('src/commands/ and src/serve/ write to the kitchen only through src/app/', async () => {
  const src = join(ROOT, 'src');
  const all = await sources(src);
  // Each name is still defined somewhere in src/: a renamed method would make the check pass for nothing.
  const text = (await Promise.all(all.map((f) => readFile(f, 'utf8')))).join('\n');
  for (const name of WRITES) expect(new RegExp(`(async ${name}\\(|function ${name}\\()`).test(text), `${name} is defined in src/`).toBe(true);
  const calls = new RegExp(`(\\.|\\b)(${WRITES.join('|')})\\(`, 'g');
  const found: string[] = [];
  for (const file of all) {
    const rel = relative(src, file);
    if (!rel.startsWith('commands/') && !rel.startsWith('serve/')) continue;
    const code = (await readFile(file, 'utf8'))
      .split('\n')
      .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l))
      .join('\n');
    for (const m of code.matchAll(calls)) found.push(`${rel} calls ${m[2]}`);
    for (const m of await importsOf(file)) if (/kitchen\/clean/.test(m)) found.push(`${rel} imports ${m}`);
  }
  expect(found).toEqual([]);
});
