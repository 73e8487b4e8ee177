// docs/commands.md is what scripts/commands-doc.js writes from the CLI's own yargs
// definitions: a command, option or description changed without `npm run docs` fails here.
import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { commandsDoc, FILE } from '../scripts/commands-doc.js';
import { waiter } from './support/cli.js';

const NOWHERE = { uri: 'mongodb://127.0.0.1:1/', name: 'unused' }; // --help reads no kitchen

test('docs/commands.md is current (npm run docs rewrites it)', async () => {
  const written = await readFile(FILE, 'utf8');
  expect(written, 'docs/commands.md is not current: run npm run docs').toBe(await commandsDoc());
});

test('it holds every command and option that --help shows', async () => {
  const doc = await readFile(FILE, 'utf8');
  const help = await waiter(NOWHERE, ['--help']);
  const commands = [...help.stdout.matchAll(/^ {2}waiter (\w+)/gm)].map((m) => m[1]!);
  expect(commands).toContain('deliver');
  for (const c of commands) expect(doc, c).toContain(`\n## ${c}\n`);
  const deliverHelp = await waiter(NOWHERE, ['deliver', '--help']);
  const flags = [...deliverHelp.stdout.matchAll(/^ {2}(?:-\w,| {3}) (--[\w-]+)/gm)].map((m) => m[1]!);
  expect(flags).toContain('--max-failures-in-a-row');
  const deliverDoc = doc.split('\n## deliver\n')[1]!.split('\n## ')[0]!;
  for (const f of flags.filter((f) => !['--help', '--version', '--kitchen', '--kitchen-file', '--db', '--list'].includes(f))) expect(deliverDoc, f).toContain(`\`${f}\``);
});
