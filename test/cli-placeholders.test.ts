// Placeholders, named columns and --workdir through the real CLI against the real server.
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, test } from 'vitest';
import { shortHash } from '../src/order.js';
import { argumentsHash } from '../src/template.js';
import { FIXTURES, waiter } from './support/cli.js';
import { extractHeader } from './support/extract.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const orders = () => k.db.collection('orders');
const seed = (rows: string[][]) => orders().insertMany(rows.map((a) => ({ status: 'READY', arguments: a, attempts: 0 })));
const byId = () => orders().find({}).sort({ _id: 1 }).toArray();
const args = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('arg: '))
    .map((l) => l.slice(5));

describe('placeholders', () => {
  test('every form, alone and inside a word; metacharacters verbatim; no append once there is a placeholder', async () => {
    const nasty = ['; rm -rf ~', '$(touch /tmp/pwned)', 'a b'];
    await seed([nasty]);
    const [o] = await byId();
    const r = await waiter(k, ['-n', 'w1', 'deliver', `${FIXTURES}ok.sh`, '{}', 'x{}y', '{2}', 'out/{1}.png', '{id}', '{attempt}', '{waiter}', '{hash}', '{{}}']);
    expect(r.exitCode).toBe(0);
    expect(args(r.stdout)).toEqual([...nasty, `x${nasty.join(' ')}y`, nasty[1], 'out/; rm -rf ~.png', o!._id.toHexString(), '1', 'w1', argumentsHash(nasty), '{}']);
  });

  test('no placeholder: the arguments are appended, {{…}} left alone (existing commands keep working)', async () => {
    await seed([['a']]);
    const r = await waiter(k, ['deliver', `${FIXTURES}ok.sh`, '--format', '{{.Id}}']);
    expect(args(r.stdout)).toEqual(['--format', '{{.Id}}', 'a']);
  });

  test("--shell with a placeholder: exit 2, one line saying why; ${…} in a snippet is the shell's", async () => {
    await seed([['a']]);
    const r = await waiter(k, ['deliver', '--shell', 'convert {} out/{1}.png']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('waiter: --shell: placeholders such as {} are not expanded in a shell snippet; use "$1".."$N" or "$@" (or drop --shell)');
    expect(await orders().findOne({})).toMatchObject({ status: 'READY', attempts: 0 });
    const ok = await waiter(k, ['deliver', '--shell', 'echo "arg: ${1}"']);
    expect(ok.exitCode).toBe(0);
    expect(args(ok.stdout)).toEqual(['a']);
  });

  test('an order lacking a field ends in ERROR unrun, and the waiter goes on', async () => {
    await seed([['1', '2', '3'], ['1', '2', '3', '4'], ['x']]);
    const r = await waiter(k, ['deliver', `${FIXTURES}ok.sh`, '{4}', '{size}']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/Done\. Delivered 3 orders\.$/);
    expect(args(r.stdout)).toEqual([]); // none ran: the second lacks {size}
    const all = await byId();
    expect(all.map((o) => [o.status, o.error])).toEqual([
      ['ERROR', '{4}: the order has 3 arguments'],
      ['ERROR', '{size}: the order has no named columns (load the list with --header, or add --field)'],
      ['ERROR', '{4}: the order has 1 argument'],
    ]);
    expect(all[0]!.history).toMatchObject([{ attempt: 1, result: 'ERROR', error: '{4}: the order has 3 arguments' }]);
    const after = await waiter(k, ['deliver', `${FIXTURES}ok.sh`, '{1}']);
    expect(after.stdout).toBe('Done. Delivered 0 orders.');
  });

  test('--dry-run N prints the argv of the next N orders, claims nothing', async () => {
    await seed([['a', 'b'], ['c'], ['d']]);
    const [a, c] = await byId();
    const r = await waiter(k, ['deliver', '--dry-run', '2', 'echo', '{2}']);
    expect(r.exitCode).toBe(1); // one of them could not run
    expect(r.stdout.split('\n').map((l) => JSON.parse(l))).toEqual([
      { id: a!._id.toHexString(), argv: ['echo', 'b'] },
      { id: c!._id.toHexString(), error: '{2}: the order has 1 argument' },
    ]);
    expect(await orders().countDocuments({ status: 'READY', attempts: 0 })).toBe(3);
  });
});

describe('named columns', () => {
  test('load --header -> {name} and WAITER_ARG_<NAME> in the child -> extract columns (CSV and --json)', async () => {
    const load = await waiter(k, ['load', '--header', `${FIXTURES}named.csv`]);
    expect(load.stdout).toBe('Loaded 2 orders');
    expect(load.stderr).toBe("waiter: column 'file name' cannot be written {file name}: use {3} or $WAITER_ARG_FILE_NAME");
    const columnDocs = await k.db.collection('orders.columns').find({}).toArray();
    expect(columnDocs).toHaveLength(1); // once per load, not per order
    expect(columnDocs[0]!.names).toEqual(['animal', 'size', 'file name']);
    expect(columnDocs[0]!._id).toBe(shortHash(['animal', 'size', 'file name'])); // the same hash as {hash}
    const r = await waiter(k, ['deliver', `${FIXTURES}columns.sh`, '--size={size}', '{animal}']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(['WAITER_ARG_ANIMAL=cat', 'WAITER_ARG_FILE_NAME=a b.jpg', 'WAITER_ARG_SIZE=12', 'arg: --size=12', 'arg: cat'].join('\n'));
    expect(r.stdout).toContain(['WAITER_ARG_ANIMAL=dog', 'WAITER_ARG_FILE_NAME=$(id).png', 'WAITER_ARG_SIZE=3', 'arg: --size=3', 'arg: dog'].join('\n'));

    const rows = parse<Record<string, string>>((await waiter(k, ['extract'])).stdout, { columns: true });
    expect(Object.keys(rows[0]!)).toEqual(extractHeader(['animal', 'size', 'file name']));
    expect(rows.map((x) => [x.status, x.animal, x.size, x['file name']])).toEqual([
      ['DONE', 'cat', '12', 'a b.jpg'],
      ['DONE', 'dog', '3', '$(id).png'],
    ]);
    const json = (await waiter(k, ['extract', '--json'])).stdout.split('\n').map((l) => JSON.parse(l));
    expect(json[0]).toMatchObject({ arguments: ['cat', '12', 'a b.jpg'], fields: { animal: 'cat', size: '12', 'file name': 'a b.jpg' } });
    expect(json[0]).not.toHaveProperty('columns');
    const shown = await waiter(k, ['show', json[0]._id]);
    expect(shown.stdout).toContain('fields    animal="cat" size="12" file name="a b.jpg"');
    expect(JSON.parse((await waiter(k, ['show', '--json', json[0]._id])).stdout)).toMatchObject({ fields: { animal: 'cat' } });
  });

  test('add --field name=value names the arguments too; bad fields are usage errors', async () => {
    const r = await waiter(k, ['add', '--field', 'animal=owl', '--field', 'note=a=b']);
    expect(r.stdout).toMatch(/^Added order [0-9a-f]{24}$/);
    expect((await waiter(k, ['add', '--field', 'x'])).stderr).toBe("waiter: --field: 'x' is not name=value");
    expect((await waiter(k, ['add', '--field', 'a=1', 'b'])).exitCode).toBe(2);
    const d = await waiter(k, ['deliver', `${FIXTURES}ok.sh`, '{note}', '{animal}']);
    expect(args(d.stdout)).toEqual(['a=b', 'owl']);
  });

  test.each([
    ['animal,,size', 'line 1: column 2 has an empty name'],
    ['animal,size,animal', "line 1: duplicate column name 'animal' (columns 1 and 3)"],
  ])('header %s: exit 4, one line naming file and line, nothing loaded', async (header, message) => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    const file = join(dir, 'bad-header.csv');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, `${header}\na,b,c\n`);
    const r = await waiter(k, ['load', '--header', file]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toBe(`waiter: ${file} ${message}`);
    expect(await orders().countDocuments()).toBe(0);
  });
});

describe('clean', () => {
  test('a whole clean forgets the column names: extract after a plain reload has no named columns', async () => {
    expect((await waiter(k, ['load', '--header', `${FIXTURES}named.csv`])).exitCode).toBe(0);
    expect(await k.db.collection('orders.columns').countDocuments()).toBe(1);
    expect((await waiter(k, ['clean', '--status', 'READY'])).stdout).toBe('Cleaned 2 orders.');
    expect(await k.db.collection('orders.columns').countDocuments()).toBe(1); // a clean of one state keeps them
    expect((await waiter(k, ['load', '--header', `${FIXTURES}named.csv`])).exitCode).toBe(0);
    expect((await waiter(k, ['clean'])).stdout).toBe('Cleaned 2 orders.');
    expect(await k.db.collection('orders.columns').countDocuments()).toBe(0);
    await seed([['x', 'y']]);
    const rows = parse<Record<string, string>>((await waiter(k, ['extract'])).stdout, { columns: true });
    expect(Object.keys(rows[0]!)).toEqual(extractHeader());
    expect(JSON.parse((await waiter(k, ['extract', '--json'])).stdout)).not.toHaveProperty('fields');
  });
});

describe('--workdir', () => {
  test('a folder per order, created, the command runs there, recorded and extracted; --save-output keeps full output', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    await seed([
      ['cat', '1'],
      ['dog', '2'],
    ]);
    const big = 'x'.repeat(6000); // more than the 4 KiB tail the kitchen keeps
    const r = await waiter(k, ['deliver', '--workdir', `${dir}/runs/{1}-{hash}`, '--save-output', '--shell', `echo "pwd: $(pwd)"; echo ${big}; echo "err $1" >&2`]);
    expect(r.exitCode).toBe(0);
    const all = await byId();
    for (const o of all) {
      const expected = join(dir, 'runs', `${o.arguments[0]}-${argumentsHash(o.arguments)}`);
      expect(o.workdir).toBe(expected);
      expect(r.stdout).toContain(`pwd: ${expected}`);
      expect(await readFile(join(expected, 'stdout'), 'utf8')).toBe(`pwd: ${expected}\n${big}\n`);
      expect(await readFile(join(expected, 'stderr'), 'utf8')).toBe(`err ${o.arguments[0]}\n`);
      // The kitchen keeps the last 4 KiB of the combined output: the last line, not the first.
      expect(o.output.length).toBeLessThanOrEqual(4096);
      expect(o.output).toMatch(new RegExp(`x{100}\\n(err ${o.arguments[0]}\\n)?$`));
      expect(o.output).toContain(`err ${o.arguments[0]}\n`);
      expect(o.output).not.toContain('pwd:');
    }
    expect((await readdir(join(dir, 'runs'))).sort()).toEqual(all.map((o) => `${o.arguments[0]}-${argumentsHash(o.arguments)}`).sort());
    const rows = parse<Record<string, string>>((await waiter(k, ['extract'])).stdout, { columns: true });
    expect(rows.map((x) => x.workdir)).toEqual(all.map((o) => o.workdir));
    expect((await waiter(k, ['show', all[0]!._id.toHexString()])).stdout).toContain(`workdir   ${all[0]!.workdir}`);
  });

  test('a relative program still means the one next to the waiter; --save-output needs --workdir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    await seed([['a']]);
    const r = await waiter(k, ['deliver', '--workdir', join(dir, '{1}'), './fixtures/columns.sh', '{1}']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`pwd: ${join(dir, 'a')}\n`);
    expect((await waiter(k, ['deliver', '--save-output', 'true'])).stderr).toBe("waiter: --save-output needs --workdir (the files go in the order's folder)");
  });
});

describe('--workdir: fixed folders and escapes', () => {
  test('without a placeholder the folder is used as written: the arguments are not appended to it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    await seed([
      ['a.png', '720p'],
      ['b.png', '1080p'],
    ]);
    const r = await waiter(k, ['deliver', '--workdir', join(dir, 'runs'), '--shell', 'echo "pwd: $(pwd)"']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('pwd: '))).toEqual([`pwd: ${join(dir, 'runs')}`, `pwd: ${join(dir, 'runs')}`]);
    expect((await byId()).map((o) => [o.status, o.workdir])).toEqual([
      ['DONE', join(dir, 'runs')],
      ['DONE', join(dir, 'runs')],
    ]);
    expect(await readdir(dir)).toEqual(['runs']);
  });

  test("a field that would leave the folder ('/' or '..') ends its order in ERROR unrun; nothing is created outside", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    await seed([['../../escaped'], ['..'], ['ok']]);
    const r = await waiter(k, ['deliver', '--workdir', join(dir, 'runs', '{1}'), '--save-output', '--shell', 'echo ran "$1"']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('ran ok');
    expect(r.stdout).not.toContain('ran ..');
    const rule = 'a value in --workdir must be one folder name';
    expect((await byId()).map((o) => [o.status, o.error])).toEqual([
      ['ERROR', `--workdir {1}: the value "../../escaped" contains '/'; ${rule}`],
      ['ERROR', `--workdir {1}: the value ".." is '..'; ${rule}`],
      ['DONE', undefined],
    ]);
    expect(await readdir(dir)).toEqual(['runs']);
    expect(await readdir(join(dir, 'runs'))).toEqual(['ok']);
    expect(await readFile(join(dir, 'runs', 'ok', 'stdout'), 'utf8')).toBe('ran ok\n');
  });
});

describe('completion', () => {
  test("waiter completion prints a bash script; the script's query completes commands and each command's options", async () => {
    const bash = { env: { SHELL: '/bin/bash' } }; // zsh's answers carry descriptions
    const script = await waiter(k, ['completion'], bash);
    expect(script.exitCode).toBe(0);
    expect(script.stdout).toContain('complete -o bashdefault -o default -F _waiter_yargs_completions waiter');
    expect(script.stdout).toContain('waiter --get-yargs-completions');
    const commands = (await waiter(k, ['--get-yargs-completions', 'waiter', ''], bash)).stdout.split('\n');
    expect(commands).toEqual(expect.arrayContaining(['load', 'add', 'status', 'deliver', 'reset', 'extract', 'clean', 'completion']));
    const deliverFlags = (await waiter(k, ['--get-yargs-completions', 'waiter', 'deliver', '--'], bash)).stdout.split('\n');
    expect(deliverFlags).toEqual(expect.arrayContaining(['--workdir', '--save-output', '--dry-run', '--shell', '--kitchen']));
    const loadFlags = (await waiter(k, ['--get-yargs-completions', 'waiter', 'load', '--'], bash)).stdout.split('\n');
    expect(loadFlags).toEqual(expect.arrayContaining(['--header', '--unique', '--delimiter']));
    const zsh = await waiter(k, ['completion'], { env: { SHELL: '/usr/bin/zsh' } });
    expect(zsh.stdout).toContain('compdef _waiter_yargs_completions waiter');
  });
});
