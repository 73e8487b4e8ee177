// A `waiter` run by an order talks to its deliver's kitchen, database and list with no
// flags (issue 25), and no secret reaches a job's environment or what the kitchen keeps
// of its output (issue 31): real processes, the real test server.
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { execa } from 'execa';
import { BIN, until, waiter } from './support/cli.js';
import { takesAnyPassword } from './support/gates.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';
import { background, tempDir } from './support/recovery.js';

const k = useDb();
const TOKEN = 'serve-token-7f3a9c';

async function added(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await waiter(k, args, { env });
  expect(r.exitCode, r.stderr).toBe(0);
  return /Added order ([0-9a-f]{24})/.exec(r.stdout)![1]!;
}

test("a waiter run by an order talks to the deliver's database and list with no flags: a reduce step gathers its parent's files, status and add reach that list", async () => {
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
  const chunks = (await k.db.collection('orders.output').find().toArray()).map((d) =>
    JSON.stringify(d.chunks.map((c: { d: { buffer: Buffer } }) => Buffer.from(c.d.buffer).toString())),
  );
  return [logs.stdout, logs.stderr, show.stdout, api.text, page.text, ...chunks].join('\n');
}

// The embedded test server takes any user name and password with authMechanism=PLAIN (it
// checks none): a kitchen URI with a password runs end to end. A real mongod refuses
// made-up credentials; the --mask test below needs none.
const anyPassword = await takesAnyPassword();
test.runIf(anyPassword.run)(
  anyPassword.title('a job printing env and its kitchen file under a kitchen URI with a password and a WAITER_TOKEN: neither is in its environment, nor in logs, show or the API'),
  async () => {
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
  },
);

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
  const r = await waiter(
    k,
    ['deliver', '--mask', 'MY_SECRET', '--output-every', '100ms', '--workdir', join(dir, '{id}'), '--collect', '*.txt', '--collect-on', 'always', '--shell', job],
    { env },
  );
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
    [
      ['status'],
      { WAITER_KITCHEN: 'mongodb://127.0.0.1:1/', WAITER_KITCHEN_FILE: file },
      'waiter: WAITER_KITCHEN and WAITER_KITCHEN_FILE name different kitchens: unset one of them',
    ],
  ];
  for (const [args, env, line] of cases) {
    const r = await waiter(k, args, { env });
    expect(r.exitCode, args.join(' ')).toBe(2);
    expect(r.stderr.trim(), args.join(' ')).toBe(line);
  }
  expect(await k.db.collection('orders').countDocuments()).toBe(1); // the clean above read and wrote nothing
  expect(statSync(file).mode & 0o777).toBe(0o600);
});

test("deliver --mask NAME: the value is *** in deliver's own lines too (the order's arguments, a path in a collect error, why it stopped), in its registry document (the command) and in the recorded workdir", async () => {
  const secret = 'hunter2-secret';
  const env = { MYSEC: secret };
  await added(['add', 'x', secret], env);
  const dir = await tempDir('mask-own');
  // A folder 40 deep named by the secret: the collector's error quotes its path.
  const job = 'p=$MYSEC; for i in $(seq 40); do p=$p/$MYSEC; done; mkdir -p "$p"; echo hi > "$p/a.txt"';
  const r = await waiter(k, ['deliver', '--mask', 'MYSEC', '--workdir', join(dir, secret, '{id}'), '--collect', '**/*.txt', '--shell', job, secret], { env });
  expect(r.exitCode, r.stderr).toBe(1);
  expect(r.stderr).toContain('deeper than 32 folders at ***/');
  expect(r.stderr).toContain('delivering');
  expect(`${r.stdout}${r.stderr}`).not.toContain('hunter2');
  const order = await k.db.collection('orders').findOne({});
  expect(order?.workdir).toBe(join(dir, '***', order!._id.toHexString()));
  expect(JSON.stringify({ ...order, arguments: [] })).not.toContain('hunter2'); // its arguments are the user's own
  const fleet = await waiter(k, ['waiters', '--json', '--all']);
  expect(fleet.exitCode, fleet.stderr).toBe(0);
  expect(fleet.stdout).toContain('"command":["p=$MYSEC');
  expect(fleet.stdout).toContain('"***"]');
  expect(fleet.stdout).not.toContain('hunter2');
});

test(`a secret shorter than 4 characters is not masked, and deliver says so once: waiter's own words ("exit code 1") stay as they are`, async () => {
  await added(['add', 'x']);
  const r = await waiter(k, ['deliver', '--mask', 'SHORT', '--shell', 'echo "made 1 file, abc"; exit 1'], { env: { SHORT: 'abc' } });
  expect(r.exitCode, r.stderr).toBe(1);
  expect(r.stderr.split('\n').filter((l) => l.includes('shorter than 4'))).toEqual([
    "waiter: --mask SHORT's value is shorter than 4 characters: it is not masked (it would change every such text)",
  ]);
  const order = await k.db.collection('orders').findOne({});
  expect(order?.error).toBe('exit code 1');
  expect(order?.output).toBe('made 1 file, abc\n');
});

test('SIGHUP (the ssh session closing) stops deliver as SIGTERM does: exit 129, registry reason "signal SIGHUP"', async () => {
  const w = background(k, ['-n', 'hup', 'deliver', '--wait', '--poll', '100ms', 'true']);
  await until(async () => (await k.db.collection('orders.waiters').countDocuments()) > 0, 30_000, 'the waiter to register');
  w.proc.kill('SIGHUP');
  const r = await w.proc;
  expect(r.exitCode, w.stderr()).toBe(129);
  expect(w.stderr()).toContain('waiter: SIGHUP: no new orders');
  expect((await k.db.collection('orders.waiters').findOne({}))?.reason).toBe('signal SIGHUP');
});

/** The kitchen URI of the test server with a password (the embedded server takes any with PLAIN). */
function withPassword(password: string): string {
  const url = new URL(k.uri);
  url.username = 'alice';
  url.password = password;
  url.searchParams.set('authMechanism', 'PLAIN');
  return url.toString();
}

test.runIf(anyPassword.run)(
  anyPassword.title(
    "the kitchen file's folder is named by host and pid and removed on SIGHUP; folders left by dead deliver processes of this host (SIGKILL) are removed at start, a live one's and another host's kept",
  ),
  async () => {
    const tmp = await tempDir('tmpdir');
    const prefix = `waiter-kitchen-${hostname().replace(/[^A-Za-z0-9.]/g, '_')}-`;
    const gone = execa('true');
    const dead = gone.pid!;
    await gone;
    const kept = [`${prefix}${process.pid}-AbC123`, `waiter-kitchen-another.host-${dead}-AbC123`];
    for (const name of [`${prefix}${dead}-AbC123`, ...kept]) {
      await mkdir(join(tmp, name), { mode: 0o700 });
      await writeFile(join(tmp, name, 'kitchen'), 'mongodb://old:secret-pw@h/\n', { mode: 0o600 });
    }
    const w = background(k, ['deliver', '--wait', '--poll', '100ms', 'true'], { WAITER_KITCHEN: withPassword('pw-s3cr3t'), TMPDIR: tmp });
    await until(async () => (await k.db.collection('orders.waiters').countDocuments()) > 0, 30_000, 'the waiter to register');
    const during = (await readdir(tmp)).filter((n) => !kept.includes(n));
    expect(during).toEqual([expect.stringMatching(new RegExp(`^${prefix.replace(/\./g, '\\.')}${w.pid}-\\w{6}$`))]);
    w.proc.kill('SIGHUP');
    expect((await w.proc).exitCode, w.stderr()).toBe(129);
    expect((await readdir(tmp)).sort()).toEqual([...kept].sort());
  },
);

test.runIf(anyPassword.run)(anyPassword.title('a $TMPDIR where the kitchen file cannot be written: one line, exit 5, no order claimed'), async () => {
  await added(['add', 'x']);
  const tmp = join(await tempDir('tmpdir'), 'missing');
  const r = await waiter(k, ['deliver', 'true'], { env: { WAITER_KITCHEN: withPassword('pw-s3cr3t'), TMPDIR: tmp } });
  expect(r.exitCode).toBe(5);
  expect(r.stderr.trim()).toBe(`waiter: this box cannot run orders: cannot write the kitchen file under $TMPDIR (${tmp}): ENOENT; set TMPDIR to a writable folder`);
  expect((await k.db.collection('orders').findOne({}))?.status).toBe('READY');
});
