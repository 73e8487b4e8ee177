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
  'cancelMany',
  'cancelIds',
  'cancelRunning',
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

/** Under src/, relative: the home of every query (src/kitchen.ts, the facade; src/kitchen/, its rooms and plans.ts). */
const isKitchen = (rel: string) => rel === 'kitchen.ts' || rel.startsWith('kitchen/');
/** Driver calls that send a query or a write (none of them an Array or Map method). */
const QUERY_CALL =
  /\.(findOne|findOneAndUpdate|findOneAndReplace|findOneAndDelete|updateOne|updateMany|replaceOne|deleteOne|deleteMany|insertOne|insertMany|bulkWrite|aggregate|countDocuments|estimatedDocumentCount|distinct|createIndex|createIndexes|indexExists|dropIndex|watch|collection|openUploadStream|openDownloadStream)\(/;
/** `.find(` is an Array method too: a query when it is called on a collection. */
const COLLECTION_FIND = /\b(orders|waiters|docs|chunks|columnDocs|collection\([^)]*\))\s*\.find\(/;
/** The values other layers may take from the driver: ObjectId (ids are data everywhere) and its error classes (retry.ts and the loop classify failures by them). */
const DRIVER_VALUE = /^(ObjectId|Mongo\w*Error)$/;

test('every query is in src/kitchen.ts or src/kitchen/: no driver calls elsewhere, and no driver values but ObjectId and its error classes', async () => {
  const src = join(ROOT, 'src');
  const outside: string[] = [];
  for (const file of await sources(src)) {
    const rel = relative(src, file);
    if (isKitchen(rel)) continue;
    const text = await readFile(file, 'utf8');
    text.split('\n').forEach((line, i) => {
      if (QUERY_CALL.test(line) || COLLECTION_FIND.test(line)) outside.push(`${rel}:${i + 1} queries: ${line.trim()}`);
    });
    for (const m of text.matchAll(/^import (type )?\{([^}]*)\} from 'mongodb'/gm)) {
      if (m[1]) continue; // types are allowed everywhere
      for (const name of m[2]!.split(',').map((s) => s.trim())) {
        if (name && !name.startsWith('type ') && !DRIVER_VALUE.test(name)) outside.push(`${rel} imports the value ${name} from 'mongodb'`);
      }
    }
    if (/^import (?!type )[^{]*from 'mongodb'/m.test(text)) outside.push(`${rel} imports the driver whole`);
  }
  expect(outside).toEqual([]);
});

test('the kitchen never imports its facade: src/kitchen/ takes what it needs, src/kitchen.ts imports the rooms', async () => {
  const dir = join(ROOT, 'src', 'kitchen');
  const back: string[] = [];
  for (const file of await sources(dir)) {
    for (const m of (await readFile(file, 'utf8')).matchAll(/from '([^']+)'/g)) {
      if (m[1] === '../kitchen.js') back.push(`${relative(dir, file)} imports ${m[1]}`);
    }
  }
  expect(back).toEqual([]);
});
