// Shell completion through a real bash: the script `waiter completion` prints is
// sourced, and bash's completion function is called as Tab would call it.
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, expect, test } from 'vitest';
import { completions } from '../src/cli.js';
import { BIN } from './support/cli.js';

let bin: string;
beforeAll(async () => {
  // `waiter` on PATH, as after npm link: the script calls it by name.
  bin = await mkdtemp(join(tmpdir(), 'waiter-bin-'));
  await writeFile(join(bin, 'waiter'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  await chmod(join(bin, 'waiter'), 0o755);
});

/** What bash offers for the command line `words` (the last word is the one being completed). */
async function tab(...words: string[]): Promise<string[]> {
  const quoted = ['waiter', ...words].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `source <(waiter completion)
COMP_WORDS=(${quoted}); COMP_CWORD=${words.length}
_waiter_yargs_completions
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await execa('bash', ['-c', script], { env: { PATH: `${bin}:${process.env.PATH}`, SHELL: '/bin/bash' } });
  return r.stdout.split('\n').filter(Boolean);
}

test('the script registers a completion for waiter in bash', async () => {
  const r = await execa('bash', ['-c', 'source <(waiter completion) && complete -p waiter'], { env: { PATH: `${bin}:${process.env.PATH}`, SHELL: '/bin/bash' } });
  expect(r.stdout).toBe('complete -o bashdefault -o default -F _waiter_yargs_completions waiter');
});

test('Tab completes commands, and options with their real spelling only', async () => {
  expect(await tab('sta')).toEqual(['status']);
  const deliver = await tab('deliver', '--');
  expect(deliver).toEqual(expect.arrayContaining(['--kitchen', '--list', '--name', '--concurrency', '--max', '--max-attempts']));
  // Short aliases are -k, -x, ...: never written as long options.
  expect(deliver.filter((c) => /^--.$/.test(c))).toEqual([]);
  expect((await tab('load', '--')).filter((c) => /^--.$/.test(c))).toEqual([]);
  expect(await tab('deliver', '-')).toEqual(expect.arrayContaining(['-x', '-k', '--max']));
  // The option being typed is itself a choice: --max<Tab> offers --max and --max-attempts.
  const max = await tab('deliver', '--max');
  expect(max).toEqual(expect.arrayContaining(['--max', '--max-attempts']));
  expect(max.every((c) => c.startsWith('--max'))).toBe(true);
  expect(await tab('load', '--uni')).toEqual(['--unique']);
  expect(await tab('canc')).toEqual(['cancel']);
  expect(await tab('cancel', '--with')).toEqual(['--with-dependants']);
}, 60_000);

test('completions(): a typed option that is complete is kept; an unknown one is not made up', () => {
  expect(completions('--max', ['--max-attempts', '--k'], ['max', 'max-attempts', 'k'])).toEqual(['--max', '--max-attempts']);
  expect(completions('--maxi', ['--kitchen'], ['max'])).toEqual(['--kitchen']);
  expect(completions('--max', ['--max:Deliver at most N', '--max-attempts:x'], ['max'])).toEqual(['--max:Deliver at most N', '--max-attempts:x']);
});

test('waiter completion --help is help, not the script', async () => {
  const r = await execa('node', [BIN, 'completion', '--help']);
  expect(r.stdout).toMatch(/^waiter completion\n/);
  expect(r.stdout).not.toContain('###-begin-waiter-completions-###');
});
