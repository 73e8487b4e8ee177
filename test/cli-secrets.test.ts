// A `waiter` run by an order talks to its deliver's kitchen, database and list with no
// flags (issue 25), and no secret reaches a job's environment or what the kitchen keeps
// of its output (issue 31): real processes, the real test server.
import { existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { BIN, waiter } from './support/cli.js';
import { takesAnyPassword } from './support/gates.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';
import { tempDir } from './recovery-support.js';

const k = useDb();
const TOKEN = 'serve-token-7f3a9c';

async function added(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await waiter(k, args, { env });
  expect(r.exitCode, r.stderr).toBe(0);
  return /Added order ([0-9a-f]{24})/.exec(r.stdout)![1]!;
}

test('a waiter run by an order talks to the deliver\'s database and list with no flags: a reduce step gathers its parent\'s files, status and add reach that list', async () => {
  const dir = await tempDir('nested');
  // The outer environment names another database and the default list: the flags of deliver must win for its orders.
  const env = { WAITER_DB: 'h2_not_this_db', WAITER_TEST_BIN: BIN };
  const flags = ['--db', k.name, '-l', 'other'];
  const parent = await added([...flags, 'add', 'a'], env);
  await added([...flags, 'add', '--after', parent, 'reduce'], env);
  const job = [
    'if [ "$1" = a ]; then echo "made-by-$1" > out.txt; exit 0; fi',
    'if [ "$1" = from-the-job ]; then exit 0; fi', // added below, then delivered too
    'node "$WAITER_TEST_BIN" gather -o "$WAITER_WORKDIR/g" "$WAITER_AFTER" || exit 1',
    'cat "$WAITER_WORKDIR/g/$WAITER_AFTER/out.txt" || exit 1',
    'node "$WAITER_TEST_BIN" status --json || exit 1',
    'node "$WAITER_TEST_BIN" add from-the-job || exit 1',
  ].join('\n');
  const r = await waiter(k, [...flags, 'deliver', '--workdir', join(dir, '{id}'), '--collect', 'out.txt', '--shell', job], { env });
  expect(r.exitCode, r.stderr).toBe(0);
  const orders = k.db.collection('other');
  const reduce = await orders.findOne({ arguments: ['reduce'] });
  expect(reduce?.status, reduce?.error).toBe('DONE');
  expect(reduce!.output).toContain('made-by-a');
  const status = JSON.parse(/\{"READY".*\}/.exec(reduce!.output)![0]);
  expect(status.total).toBe(2); // the two orders of list `other`, not the list `orders`
  expect((await orders.findOne({ arguments: ['from-the-job'] }))?.status).toBe('DONE');
  expect(await k.db.collection('orders').countDocuments()).toBe(0);
});

/** Everything the kitchen keeps of an order's output and that waiter shows of it. */
async function everythingShown(id: string, env: Record<string, string>): Promise<string> {
  const logs = await waiter(k, ['logs', id], { env });
  const show = await waiter(k, ['show', id, '--json'], { env });
  const s = await serve(k, [], env);
  const api = await s.call(`/api/orders/${id}/output`);
  const page = await s.call(`/api/orders/${id}`);
  s.proc.kill('SIGINT');
  await s.proc;
  expect(api.status).toBe(200);
  const chunks = (await k.db.collection('orders.output').find().toArray()).map((d) => JSON.stringify(d.chunks.map((c: { d: { buffer: Buffer } }) => Buffer.from(c.d.buffer).toString())));
  return [logs.stdout, logs.stderr, show.stdout, api.text, page.text, ...chunks].join('\n');
}

// The embedded test server takes any user name and password with authMechanism=PLAIN (it
// checks none): a kitchen URI with a password runs end to end. A real mongod refuses
// made-up credentials; the --mask test below needs none.
const anyPassword = await takesAnyPassword();
test.runIf(anyPassword.run)(anyPassword.title('a job printing env and its kitchen file under a kitchen URI with a password and a WAITER_TOKEN: neither is in its environment, nor in logs, show or the API'), async () => {
  const dir = await tempDir('secrets');
  const url = new URL(k.uri);
  url.username = 'alice';
  url.password = 'pw%2Fs3cr3t-x'; // as written; decoded: pw/s3cr3t-x
  url.searchParams.set('authMechanism', 'PLAIN');
  const env = { WAITER_KITCHEN: url.toString(), WAITER_TOKEN: TOKEN, COPY_OF_TOKEN: TOKEN };
  const id = await added(['add', 'x'], env);
  const job = [
    'env > "$WAITER_WORKDIR/env.txt"',
    'stat -c %a "$WAITER_KITCHEN_FILE" > "$WAITER_WORKDIR/mode.txt"',
    'echo "$WAITER_KITCHEN_FILE" > "$WAITER_WORKDIR/path.txt"',
    'env', // what a `set -x` script or a debugging job prints
    'cat "$WAITER_KITCHEN_FILE"',
    'sed "s|%2F|/|" "$WAITER_KITCHEN_FILE" >&2', // the decoded password
    'echo "token: $COPY_OF_TOKEN"',
    'node "$WAITER_TEST_BIN" status >/dev/null || exit 7', // the file gives a nested waiter the kitchen
    'exit 3', // the error line is recorded too
  ].join('\n');
  const r = await waiter(k, ['deliver', '--workdir', join(dir, '{id}'), '--shell', job], { env: { ...env, WAITER_TEST_BIN: BIN } });
  expect(r.exitCode, r.stderr).toBe(1);
  const order = await k.db.collection('orders').findOne({});
  expect(order?.error).toBe('exit code 3');

  const jobEnv = await readFile(join(dir, id, 'env.txt'), 'utf8');
  expect(jobEnv).not.toContain('WAITER_TOKEN='); // COPY_OF_TOKEN is the user's own variable: it stays
  expect(jobEnv).not.toContain('s3cr3t');
  expect(jobEnv).toContain('WAITER_KITCHEN=mongodb://alice:***@');
  expect(jobEnv).toContain(`WAITER_DB=${k.name}\n`);
  expect(jobEnv).toContain('WAITER_LIST=orders\n');
  expect((await readFile(join(dir, id, 'mode.txt'), 'utf8')).trim()).toBe('600');
  const file = (await readFile(join(dir, id, 'path.txt'), 'utf8')).trim();
  expect(existsSync(file)).toBe(false); // removed when deliver ended

  const shown = await everythingShown(id, { WAITER_KITCHEN: k.uri });
  expect(shown).toContain('WAITER_KITCHEN_FILE='); // the job's output is there…
  expect(shown).toContain('token: ***');
  for (const secret of ['s3cr3t', TOKEN]) expect(shown).not.toContain(secret); // …its secrets are not
  expect(`${r.stdout}${r.stderr}`).not.toMatch(/s3cr3t|serve-token/); // nor on deliver's own terminal
});

test('deliver --mask NAME: the value is *** in the live output, the tail and the error, even split across two writes; an unset NAME is exit 2', async () => {
  const secret = 'hunter2-correct-horse';
  const env = { MY_SECRET: secret };
  const id = await added(['add', 'x'], env);
  // Two writes with a pause longer than --output-every between them: the first half is
  // sent to the kitchen before the second is printed.
  const job = [
    'printf "before %s" "${MY_SECRET%-horse}"',
    'sleep 0.6',
    'printf "%s after\\n" "-horse"',
    'echo "whole: $MY_SECRET" >&2',
    'echo "$MY_SECRET" > "$WAITER_WORKDIR/$MY_SECRET.txt"',
    'exit 1',
  ].join('\n');
  const dir = await tempDir('mask');
  const r = await waiter(k, ['deliver', '--mask', 'MY_SECRET', '--output-every', '100ms', '--workdir', join(dir, '{id}'), '--collect', '*.txt', '--collect-on', 'always', '--shell', job], { env });
  expect(r.exitCode, r.stderr).toBe(1);
  const shown = await everythingShown(id, {});
  expect(shown).toContain('before *** after');
  expect(shown).toContain('whole: ***');
  expect(shown).not.toContain('hunter2');
  const files = await k.db.collection('orders.results.files').find().toArray();
  expect(files.map((f) => f.filename).join(' ')).toContain('***.txt');
  expect(JSON.stringify(files)).not.toContain('hunter2');
  expect(r.stdout).toContain('before *** after');

  const unset = await waiter(k, ['deliver', '--mask', 'NO_SUCH_VAR', 'true']);
  expect(unset.exitCode).toBe(2);
  expect(unset.stderr.trim()).toBe('waiter: --mask NO_SUCH_VAR: no such variable in the environment (or it is empty): nothing to mask');
});

test('--kitchen-file and WAITER_KITCHEN_FILE: the URI comes from the file; missing, empty or naming another kitchen than WAITER_KITCHEN is one line, exit 2, never the default', async () => {
  const dir = await tempDir('kfile');
  const file = join(dir, 'kitchen');
  await writeFile(file, `${k.uri}\n`, { mode: 0o600 });
  await added(['add', 'x']);
  // Only the file points at the test server: WAITER_KITCHEN is unset.
  const ok = await waiter(k, ['--kitchen-file', file, 'status', '--json'], { env: { WAITER_KITCHEN: undefined as unknown as string } });
  expect(ok.exitCode, ok.stderr).toBe(0);
  expect(JSON.parse(ok.stdout).total).toBe(1);
  const viaEnv = await waiter(k, ['status', '--json'], { env: { WAITER_KITCHEN: undefined as unknown as string, WAITER_KITCHEN_FILE: file } });
  expect(viaEnv.exitCode, viaEnv.stderr).toBe(0);
  expect(JSON.parse(viaEnv.stdout).total).toBe(1);

  const empty = join(dir, 'empty');
  await writeFile(empty, '\n');
  const cases: [string[], Record<string, string>, string][] = [
    [['--kitchen-file', join(dir, 'nope'), 'status'], {}, `waiter: --kitchen-file ${join(dir, 'nope')}: cannot read it (no such file)`],
    [['status'], { WAITER_KITCHEN_FILE: join(dir, 'nope') }, `waiter: WAITER_KITCHEN_FILE ${join(dir, 'nope')}: cannot read it (no such file)`],
    [['--kitchen-file', empty, 'clean'], {}, `waiter: --kitchen-file ${empty}: the file is empty (it should hold the kitchen's URI)`],
    [['--kitchen-file', dir, 'status'], {}, `waiter: --kitchen-file ${dir}: cannot read it (a folder, not a file)`],
    [['status'], { WAITER_KITCHEN_FILE: '' }, 'waiter: WAITER_KITCHEN_FILE is set but empty: give it a path or unset it'],
    [['-k', k.uri, '--kitchen-file', file, 'status'], {}, 'waiter: --kitchen and --kitchen-file: give one of them'],
    [['status'], { WAITER_KITCHEN: 'mongodb://127.0.0.1:1/', WAITER_KITCHEN_FILE: file }, 'waiter: WAITER_KITCHEN and WAITER_KITCHEN_FILE name different kitchens: unset one of them'],
  ];
  for (const [args, env, line] of cases) {
    const r = await waiter(k, args, { env });
    expect(r.exitCode, args.join(' ')).toBe(2);
    expect(r.stderr.trim(), args.join(' ')).toBe(line);
  }
  expect(await k.db.collection('orders').countDocuments()).toBe(1); // the clean above read and wrote nothing
  expect(statSync(file).mode & 0o777).toBe(0o600);
});
