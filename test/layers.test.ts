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
