// docs/api.md's curl session (test/examples.test.ts): a real `waiter serve` with a token on
// 127.0.0.1 (a free port), and each shown command line run by sh with the shown T, J and
// U. Shown as the docs show them: port 8080, database `waiter`, kitchen 127.0.0.1:27017.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN, kitchenEnv, until } from './cli.js';
import { uniqueDbName } from './kitchen.js';
import type { ExampleContext } from './example-tour.js';
import { errors, steer } from './example-api-steer.js';

const TOKEN = 's3cret-token-123';
const SETUP = `T='Authorization: Bearer ${TOKEN}'; J='Content-Type: application/json'; U=http://127.0.0.1:8080`;

export async function api(x: ExampleContext) {
  const where = { uri: x.where.uri, name: uniqueDbName('api') };
  const env = kitchenEnv(where, { WAITER_LIST: 'orders' });
  await writeFile(join(x.dir, 'abc.csv'), 'a\nb\nc\n');
  const loaded = await execa('node', [BIN, 'load', 'abc.csv'], { cwd: x.dir, reject: false, stdin: 'ignore', env });
  if (loaded.exitCode !== 0) throw new Error(`load: ${loaded.stderr}`);

  const serve = execa('node', [BIN, 'serve', '--port', '0'], { cwd: x.dir, reject: false, stdin: 'ignore', env: { ...env, WAITER_TOKEN: TOKEN } });
  x.running.push(serve);
  let out = '';
  serve.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const line = await until(() => out.split('\n').find((l) => l.includes('http://')), 60_000, 'waiter serve to listen');
  const port = /127\.0\.0\.1:(\d+)/.exec(line)![1]!;
  const kitchen = new URL(where.uri).host;
  const shown = (l: string) =>
    l.split(`127.0.0.1:${port}`).join('127.0.0.1:8080').split(`${kitchen}/${where.name}`).join('127.0.0.1:27017/waiter').split(`"db":"${where.name}"`).join('"db":"waiter"');
  x.runs.set('api-serve', [`$ WAITER_TOKEN=${TOKEN} waiter serve`, shown(line)]);

  let lines: string[] = [];
  const U = `http://127.0.0.1:${port}`;
  /** `$ <cmd>` run by sh as shown, with the real port in U; ids of earlier answers go in as they are. */
  const curl = async (cmd: string) => {
    const r = await execa('sh', ['-c', cmd], { cwd: x.dir, reject: false, env: { T: `Authorization: Bearer ${TOKEN}`, J: 'Content-Type: application/json', U } });
    if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}: ${r.stderr}`);
    lines.push(`$ ${cmd}`, ...(r.stdout === '' ? [] : r.stdout.split('\n').map(shown)));
    return r.stdout;
  };
  const text = (...l: string[]) => lines.push(...l);

  text(
    SETUP,
    '',
    '# the figures of `waiter status --json` (but storage, cost and oldestReady*: /metrics has the age and the CPU used), with when the kitchen answered: asOf, ageSeconds',
  );
  await curl('curl -s -H "$T" $U/api/status');
  text('', '# the fleet, as `waiter waiters --json` (an array); ?all=true adds waiters that exited over an hour ago');
  await curl('curl -s -H "$T" $U/api/waiters');
  text(
    '',
    "# add orders: one, or an array of up to 10,000 (a body ≤ 8 MiB) -> 201, their ids and each one's status:",
    '# READY, or WAITING with "after"/"afterAny" (pipelines.md) until those are done (READY at once if they are);',
    '# "at" (as `add --at`: "+30m" or an ISO time, at most 10 years ahead, else 400) holds an order until then; "priority" (as `add --priority`) puts it ahead',
  );
  const id = (JSON.parse(await curl(`curl -s -H "$T" -H "$J" -d '{"arguments": ["tty9", "--fast"]}' $U/api/orders`)) as { ids: string[] }).ids[0]!;
  await curl(`curl -s -H "$T" -H "$J" -d '[{"arguments": ["x"]}, {"arguments": ["y"]}]' $U/api/orders`);
  await curl(`curl -s -H "$T" -H "$J" -d '{"arguments": ["nightly"], "at": "2030-12-01T06:00:00Z"}' $U/api/orders`);
  await curl(`curl -s -H "$T" -H "$J" -d '{"arguments": [1]}' $U/api/orders`);
  text(
    '',
    '# a page of orders in _id order: status=, limit= (1-1000, default 100), after=<id> (the',
    '# previous page\'s "next"; null on the last page), order=desc for newest first.',
    '# Each order without its attempt history: GET the order for that.',
  );
  const page = JSON.parse(await curl('curl -s -H "$T" "$U/api/orders?status=READY&limit=2"')) as { next: string };
  await curl(`curl -s -H "$T" "$U/api/orders?status=READY&limit=2&after=${page.next}"`);
  text(
    '',
    '# one order, as `waiter show --json`: every field, named columns as "fields", its attempt',
    '# history and output tail (404 if unknown, 400 if malformed); lists show orders the same way',
  );
  await curl(`curl -s -H "$T" $U/api/orders/${id}`);
  await curl('curl -s -H "$T" $U/api/orders/nope');
  x.runs.set('api', lines);

  lines = [];
  text('# the orders that failed last (latest stop first), with error and output: ?limit= (default 10)');
  await curl('curl -s -H "$T" "$U/api/failed?limit=5"');
  text(
    '',
    '# `waiter reset`\'s rules: {"status": ["ERROR", "RUNNING"], "force": false, "olderThan": "2h", "ids"|"where"|"failedWith":',
    '# as /api/cancel\'s, "dryRun": true}, each optional; "dryRun": what it would reset (the first ids), nothing changed',
  );
  await curl(`curl -s -H "$T" -H "$J" -d '{"dryRun": true}' $U/api/reset`);
  text('', '# a status or selection with no order to reset in it: 400, nothing changed (a plain reset, {}, says 0)');
  await curl(`curl -s -H "$T" -H "$J" -d '{"status": ["ERROR"]}' $U/api/reset`);
  text('', "# the list, database and kitchen host this server shows (never the URI's credentials)");
  await curl('curl -s -H "$T" $U/api/info');
  x.runs.set('api-end', lines);

  lines = [];
  text("# Prometheus's text format; shown here without its # HELP and # TYPE lines and the blank ones between metrics");
  await curl(`curl -s -H "$T" $U/metrics | grep -v -e '^#' -e '^$'`);
  x.runs.set('api-metrics', lines);
  const take = () => {
    const l = lines;
    lines = [];
    return l;
  };
  take();
  await live(x, env, curl, text, take);
  await steer(x, env, { curl, text, take });
  await errors(x, { curl, text, take });
  serve.kill('SIGTERM');
  await serve;
  await x.client.db(where.name).dropDatabase();
}

// Writes its progress and a first line, waits for its go file, then leaves a result file.
const JOB = [
  'echo "42 decoding frame 1,204" > "$WAITER_PROGRESS"',
  'echo "frame 1"',
  ': > "$GO.wait"',
  'while [ ! -e "$GO" ]; do sleep 0.05; done',
  'mkdir out',
  "printf 'a,b\\n1,2\\n' > 'out/a b.csv'",
];

/**
 * Of an order that runs (`deliver --max 1` on the first READY, "a"): its live output and
 * progress while its command waits, then its result file and the pace once it is done.
 */
async function live(x: ExampleContext, env: Record<string, string | undefined>, curl: (cmd: string) => Promise<string>, text: (...l: string[]) => void, take: () => string[]) {
  const go = join(x.dir, 'api-go');
  const d = execa('node', [BIN, 'deliver', '--max', '1', '--lease', '3s', '--heartbeat', '300ms', '--workdir', 'runs/{id}', '--collect', 'out/*', '--shell', JOB.join('\n')], {
    cwd: x.dir,
    reject: false,
    stdin: 'ignore',
    env: { ...env, GO: go },
  });
  x.running.push(d);
  await until(() => existsSync(`${go}.wait`), 60_000, 'the API example order to run');
  const db = x.client.db(env.WAITER_DB);
  const o = await until(() => db.collection('orders').findOne({ status: 'RUNNING', progress: { $exists: true } }), 60_000, 'its progress sent by a heartbeat');
  await until(() => db.collection('orders.output').findOne({ order: o._id }), 60_000, 'its first line in the kitchen');
  const id = o._id.toHexString();
  text(
    '# its live output, as `waiter logs --json` (the last attempt, or ?attempt=n): pieces',
    '# as printed, "ended" (null while it runs), "progress" (while it runs, what its command',
    "# last wrote to WAITER_PROGRESS as of its last heartbeat, else null; the order's own",
    '# "progress" field says the same) and "next": pass it back as ?after= to get only what',
    "# came since (a byte position in the attempt's output)",
  );
  await curl(`curl -s -H "$T" "$U/api/orders/${id}/output?after=0"`);
  // The pace below shows this order in the current minute: it finishes 15 s or more before the minute ends.
  await until(() => new Date().getSeconds() < 45, 20_000, 'a minute with time to spare');
  await writeFile(go, '');
  if ((await d).exitCode !== 0) throw new Error(`deliver: ${(await d).stderr}`);
  text(
    '',
    "# its result files (deliver --collect), every attempt; then one file's content, streamed",
    "# as a download (the newest attempt's, or ?attempt=n; the path percent-encoded per part)",
  );
  await curl(`curl -s -H "$T" $U/api/orders/${id}/files`);
  await curl(`curl -s -H "$T" -o 'a b.csv' "$U/api/orders/${id}/files/out/a%20b.csv"`);
  text("$ cat 'a b.csv'", ...(await readFile(join(x.dir, 'a b.csv'), 'utf8')).trimEnd().split('\n'));
  text('', '# orders finished per minute over the last hour (60 minutes, the last one partial; shown here its first and last)');
  const all = take();
  const pace = await curl('curl -s -H "$T" $U/api/pace');
  const minutes = (JSON.parse(pace) as { minutes: unknown[] }).minutes;
  const shown = take();
  shown[shown.length - 1] = `{"minutes":[${JSON.stringify(minutes[0])},…,${JSON.stringify(minutes.at(-1))}]}`;
  x.runs.set('api-live', [...all, ...shown]);
}
