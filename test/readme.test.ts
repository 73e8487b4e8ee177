// The README's and the manual's first hour stays true: what they say a newcomer needs matches the repo.
import { readdir, readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from './support/cli.js';
import { extractHeader } from './support/extract.js';
import { MONGOD_LOOKUP_TIMEOUT_MS } from './support/server.js';

const readme = () => readFile(join(ROOT, 'README.md'), 'utf8');
const doc = (page: string) => readFile(join(ROOT, 'docs', page), 'utf8');
const section = (text: string, title: string) => text.split(`\n## ${title}\n`)[1]!.split('\n## ')[0]!;

test('Set up names Go with the version test/server/go.mod requires', async () => {
  const goMod = await readFile(join(ROOT, 'test', 'server', 'go.mod'), 'utf8');
  const version = /^go (\d+\.\d+)/m.exec(goMod)![1]!;
  expect(section(await readme(), 'Set up')).toContain(`Go ≥ ${version}`);
  expect(await readFile(join(ROOT, 'scripts', 'demo.js'), 'utf8')).toContain(`Go (${version} or later)`);
});

test('Set up states the time limit the demo and the tests give the mongod lookup', async () => {
  expect(section(await readme(), 'Set up')).toContain(`cut off after ${MONGOD_LOOKUP_TIMEOUT_MS / 1000} s`);
  expect(await doc('development.md')).toContain(`cut off after ${MONGOD_LOOKUP_TIMEOUT_MS / 1000} s`);
});

test('the walkthrough says, before its first command, how to get a kitchen and the waiter command', async () => {
  const walk = section(await doc('getting-started.md'), 'Walkthrough');
  const before = walk.slice(0, walk.indexOf('$ waiter clean'));
  expect(before).toContain('npm run test-server');
  expect(before).toMatch(/MONGODB_URI=mongodb:\/\/127\.0\.0\.1:\d+\//); // what it prints first
  expect(before).toContain('export WAITER_KITCHEN=');
  expect(before).toContain('-- --port 27017');
  expect(before).toContain('npm link');
  // The server's first line is the one shown.
  expect(await readFile(join(ROOT, 'scripts', 'test-server.js'), 'utf8')).toContain('console.log(`MONGODB_URI=${server.uri}`)');
});

// A hand-written report once kept its old header after extract had four more columns.
// getting-started's report is now a real run (test/examples.test.ts); this still holds any
// report shown outside an example block, and pins the columns' order as extract writes it.
test("every report shown in README and docs/ has extract's header, and each of its rows as many fields", async () => {
  const pages = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
  let shown = 0;
  for (const page of pages) {
    const lines = (await readFile(join(ROOT, page), 'utf8')).split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^ {4}"_id",/.test(lines[i]!)) continue;
      shown++;
      const block: string[] = [];
      for (let j = i; j < lines.length && lines[j]!.startsWith('    ') && !lines[j]!.startsWith('    $'); j++) block.push(lines[j]!.slice(4));
      const [header, ...rows]: string[][] = parse(block.join('\n'), { relax_column_count: true });
      const named = header!.slice(10, header!.indexOf('priority'));
      expect(header, `${page}:${i + 1}`).toEqual(extractHeader(named));
      for (const row of rows) expect(row, `${page}:${i + 1}`).toHaveLength(header!.length);
    }
  }
  expect(shown).toBeGreaterThan(0);
});
