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
  'removeOf',
  'removeAll',
  'clean',
  'cancelMany',
  'cancelIds',
  'stopMany',
  'stopRunning',
  'resetCancelled',
  'releaseHeld',
  'cleanOutputs',
  'waitInsert',
  'waitRows',
  'loadRows', // src/load.ts: writes through insertOrders
  'pauseList',
  'resumeList',
  'askToStop',
];

/** The write calls in `code` (comment lines left out): `k.insertOrders(`, `k.insertOrders<T>(`, `k['insertOrders'](`, `loadRows(`. */
function writeCalls(code: string): string[] {
  // The name, maybe quoted in brackets, maybe with type arguments, then its call's parenthesis.
  const calls = new RegExp(`(\\[\\s*['"\`]|\\.|\\b)(${WRITES.join('|')})(['"\`]\\s*\\])?\\s*(<[^()]*?>)?\\s*\\(`, 'g');
  return [
    ...code
      .split('\n')
      .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l))
      .join('\n')
      .matchAll(calls),
  ].map((m) => m[2]!);
}

test('the write matcher finds a write however it is called, and not in a comment', () => {
  const planted = [
    'await k.insertOrders(rows);',
    'await k.insertOrders<Order>(rows);',
    "await k['insertOrders'](rows);",
    'await k?.addOrder(args);',
    'const n = await loadRows(k, rows, 0, {});',
    '// k.reset() in a comment is not a call',
    'const name = "insertOrders";',
  ];
  expect(writeCalls(planted.join('\n'))).toEqual(['insertOrders', 'insertOrders', 'insertOrders', 'addOrder', 'loadRows']);
});

test('src/commands/ and src/serve/ write to the kitchen only through src/app/', async () => {
  const src = join(ROOT, 'src');
  const all = await sources(src);
  // Each name is still defined somewhere in src/: a renamed method would make the check pass for nothing.
  const text = (await Promise.all(all.map((f) => readFile(f, 'utf8')))).join('\n');
  for (const name of WRITES) expect(new RegExp(`(async ${name}\\(|function ${name}\\()`).test(text), `${name} is defined in src/`).toBe(true);
  const found: string[] = [];
  for (const file of all) {
    const rel = relative(src, file);
    if (!rel.startsWith('commands/') && !rel.startsWith('serve/')) continue;
    for (const name of writeCalls(await readFile(file, 'utf8'))) found.push(`${rel} calls ${name}`);
    for (const m of await importsOf(file)) if (/kitchen\/clean/.test(m)) found.push(`${rel} imports ${m}`);
  }
  expect(found).toEqual([]);
});

/** Under src/, relative: the home of every query (src/kitchen.ts, the facade; src/kitchen/, its rooms and plans.ts). */
const isKitchen = (rel: string) => rel === 'kitchen.ts' || rel.startsWith('kitchen/');
/** Driver calls that send a query or a write (none of them an Array or Map method). */
const QUERY_METHODS =
  'findOne|findOneAndUpdate|findOneAndReplace|findOneAndDelete|updateOne|updateMany|replaceOne|deleteOne|deleteMany|insertOne|insertMany|bulkWrite|aggregate|countDocuments|estimatedDocumentCount|distinct|createIndex|createIndexes|indexExists|dropIndex|watch|collection|openUploadStream|openDownloadStream';
/**
 * `name` called: `.name` (whitespace and newlines allowed around the dot: a chain Prettier
 * broke) or `['name']`, then an optional type argument `<…>`, then `(`.
 */
const called = (names: string) => `(?:\\??\\.\\s*(?:${names})\\b|\\[\\s*['"\`](?:${names})['"\`]\\s*\\])\\s*(?:<[^();]*>\\s*)?\\(`;
const QUERY_CALL = new RegExp(called(QUERY_METHODS), 'g');
/** `.find(` is an Array method too: a query when it is called on a collection. */
const COLLECTION_FIND = new RegExp(`\\b(?:orders|waiters|docs|chunks|columnDocs|collection\\([^)]*\\))\\s*${called('find')}`, 'g');
/** The values other layers may take from the driver: ObjectId (ids are data everywhere) and its error classes (retry.ts and the loop classify failures by them). */
const DRIVER_VALUE = /^(ObjectId|Mongo\w*Error)$/;

/** The driver calls in one file's text, matched on the whole text (a call may span lines): `line: code` for each. */
function queriesIn(text: string): string[] {
  const at = (i: number) => text.slice(0, i).split('\n').length;
  return [...text.matchAll(QUERY_CALL), ...text.matchAll(COLLECTION_FIND)].map((m) => `${at(m.index)}: ${m[0].replace(/\s+/g, ' ')}`);
}

test('the query matcher sees a call however Prettier or a type argument splits it', () => {
  const planted = [
    'const a = await k.orders\n    .find({ status: "READY" })\n    .toArray();',
    'await k.orders.find<Order>({});',
    'await this.orders.findOne<Pick<Order, "_id">>({ _id: id });',
    "await k.orders['updateMany']({}, { $set: { x: 1 } });",
    'await k.waiters\n  .updateOne({ _id }, u);',
    'for await (const d of this.docs\n  .find({})) use(d);',
    'const c = db\n  .collection<Order>(name);',
  ];
  for (const code of planted) expect(queriesIn(code), code).toHaveLength(1);
  // Array and Map methods are not queries.
  for (const code of ['rows.find((r) => r.id === id)', 'seen.distinctive = 1;', 'list.findIndex((x) => x)']) expect(queriesIn(code), code).toEqual([]);
});

test('every query is in src/kitchen.ts or src/kitchen/: no driver calls elsewhere, and no driver values but ObjectId and its error classes', async () => {
  const src = join(ROOT, 'src');
  const outside: string[] = [];
  for (const file of await sources(src)) {
    const rel = relative(src, file);
    if (isKitchen(rel)) continue;
    const text = await readFile(file, 'utf8');
    for (const q of queriesIn(text)) outside.push(`${rel}:${q}`);
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

/**
 * What keeps src/kitchen/*plans.ts pure: their value imports (types are free) come from the
 * driver (ObjectId only), src/order.ts (the domain's constants and rules), the other plans
 * and src/errors.ts (what a bad argument throws), and they
 * reads no clock, randomness or environment. So a builder's document depends on its
 * arguments alone, and test/plans.test.ts pins it without a server.
 */
function impuritiesOf(text: string): string[] {
  const found: string[] = [];
  const imports = [...text.matchAll(/^import\s+(type\s+)?([\s\S]*?)\s*from\s*'([^']+)'/gm)];
  for (const [, typeOnly, clause, from] of imports) {
    if (typeOnly) continue;
    const named = /^\{([\s\S]*)\}$/.exec(clause!.trim());
    const values = named
      ? named[1]!
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s && !s.startsWith('type '))
      : [clause!.trim()];
    for (const v of values) {
      // Also the other plans (pure by this same test) and the error classes a builder throws for a bad argument.
      const ok = (from === 'mongodb' && v === 'ObjectId') || from === '../order.js' || /^\.\/(\w+-)?plans\.js$/.test(from!) || from === '../errors.js';
      if (!ok) found.push(`imports the value ${v} from '${from}'`);
    }
  }
  for (const m of text.matchAll(/^import\s+'([^']+)'/gm)) found.push(`imports '${m[1]}' for its effects`);
  for (const m of text.matchAll(/\bimport\(|\brequire\(|\bnew Date\(\)|\bDate\.now\(|\bMath\.random\(|\bprocess\.|\brandomUUID\(/g)) found.push(`uses ${m[0]}`);
  return found;
}

test('the purity matcher reports a driver value, an I/O module, a clock and a side-effect import', () => {
  expect(impuritiesOf("import { ObjectId, type Filter } from 'mongodb';\nimport type { X } from './x.js';\nimport { PRIO_RUNNING } from '../order.js';")).toEqual([]);
  expect(impuritiesOf("import {\n  ObjectId,\n  MongoClient,\n} from 'mongodb';")).toEqual(["imports the value MongoClient from 'mongodb'"]);
  expect(impuritiesOf("import { readFile } from 'node:fs/promises';")).toEqual(["imports the value readFile from 'node:fs/promises'"]);
  expect(impuritiesOf("import * as fs from 'node:fs';")).toEqual(["imports the value * as fs from 'node:fs'"]);
  expect(impuritiesOf("import './setup.js';")).toEqual(["imports './setup.js' for its effects"]);
  expect(impuritiesOf('export const now = () => new Date();')).toEqual(['uses new Date()']);
});

test('src/kitchen/*plans.ts stay pure: types, ObjectId and the domain (src/order.ts) only; no clock, randomness or environment', async () => {
  const dir = join(ROOT, 'src', 'kitchen');
  const plans = (await readdir(dir)).filter((f) => f.endsWith('plans.ts'));
  expect(plans).toEqual(expect.arrayContaining(['plans.ts', 'steer-plans.ts', 'fleet-plans.ts']));
  const found: string[] = [];
  for (const f of plans) for (const p of impuritiesOf(await readFile(join(dir, f), 'utf8'))) found.push(`${f}: ${p}`);
  expect(found).toEqual([]);
});
