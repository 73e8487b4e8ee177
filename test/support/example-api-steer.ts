// docs/api.md's steering sessions (test/examples.test.ts, after example-api.ts's): cancel,
// hold, release and edit on the orders left READY there, then pause, resume and stop with
// one live waiter (gpu-1, `deliver --wait` on a list with nothing left to claim); and the
// errors every route shares, with their status.
import { execa } from 'execa';
import { BIN, until } from './cli.js';
import type { ExampleContext } from './example-tour.js';

/** `$ <cmd>` run as shown (example-api.ts), its lines taken with `take`. */
export interface Session {
  curl: (cmd: string) => Promise<string>;
  text: (...l: string[]) => void;
  take: () => string[];
}

/** curl's -w: the status after the body. */
const CODE = `-w ' %{http_code}\\n'`;
const post = (body: string, path: string, code = false) => `curl -s${code ? ` ${CODE}` : ''} -H "$T" -H "$J" -d '${body}' $U/api/${path}`;

export async function steer(x: ExampleContext, env: Record<string, string | undefined>, s: Session) {
  const { curl, text, take } = s;
  const db = x.client.db(env.WAITER_DB);
  const idOf = async (arg: string) => (await db.collection('orders').findOne({ arguments: [arg] }))!._id.toHexString();
  const b = await idOf('b');
  take();
  text('# waiter hold: never claimed until released; what waits on it waits on');
  await curl(post(`{"ids": ["${b}"], "reason": "check its input"}`, 'hold'));
  text('', '# waiter release: back READY (or WAITING on what it waited for)');
  await curl(post(`{"ids": ["${b}"]}`, 'release'));
  text('', '# waiter edit: "priority" and/or "at", for orders not yet claimed (READY, WAITING, HELD)');
  await curl(post('{"where": {"1": "nightly"}, "priority": 5, "at": "+30m"}', 'edit'));
  text('', '# waiter cancel --dry-run: how many, and the first 5 ids; nothing changed');
  await curl(post('{"status": "READY", "dryRun": true}', 'cancel'));
  await curl(post('{"status": "READY", "reason": "wrong input"}', 'cancel'));
  text('', '# refused (400, nothing changed): with -w, the status after the body');
  await curl(post('{"status": "READY"}', 'cancel', true));
  await curl(post(`{"ids": ["${b}"], "priority": 1}`, 'edit', true));
  x.runs.set('api-steer', take());

  // A waiter that claims nothing (every order is finished or cancelled), live for the fleet's answers.
  const w = execa('node', [BIN, '-n', 'gpu-1', 'deliver', '--wait', '--lease', '3s', '--heartbeat', '300ms', '--shell', 'true'], {
    cwd: x.dir,
    reject: false,
    stdin: 'ignore',
    env,
  });
  x.running.push(w);
  await until(() => db.collection('orders.waiters').findOne({ name: 'gpu-1', ended: { $exists: false } }), 60_000, 'gpu-1 to register');
  text('# waiter pause --reason …: every waiter stops claiming within one heartbeat; "waiters": the live ones');
  await curl(post('{"reason": "deploy"}', 'pause'));
  text('# a pause of a paused list changes nothing: "already" true, the pause in force');
  await curl(post('{}', 'pause'));
  text('', '# waiter resume: "was" the pause lifted (null when the list was not paused)');
  await curl(post('{}', 'resume'));
  text('', '# waiter stop gpu-1: how many live waiters were asked; each finishes what it runs and exits');
  await curl(post('{"name": "gpu-1"}', 'waiters/stop'));
  await curl(post('{"name": "gpu-2", "now": true}', 'waiters/stop', true));
  const r = await w;
  if (r.exitCode !== 0) throw new Error(`gpu-1: exit ${r.exitCode} after its stop: ${r.stderr}`);
  x.runs.set('api-fleet', take());
}

/** What any route may answer before its own checks, each a real request with its status. */
export async function errors(x: ExampleContext, s: Session) {
  const { curl, text, take } = s;
  take();
  text('# no token (or a wrong one): 401, for reads and writes alike (reads need none with --public-read)');
  await curl(`curl -s ${CODE} $U/api/status`);
  text('', '# a POST not declared JSON (curl -d alone sends a form): 415');
  await curl(`curl -s ${CODE} -H "$T" -d '{}' $U/api/pause`);
  text('', '# a body that is not JSON (here none), or not what the route takes: 400');
  await curl(`curl -s ${CODE} -H "$T" -H "$J" -d '' $U/api/orders`);
  await curl(`curl -s ${CODE} -H "$T" -H "$J" -d '{"arguments": "tty9 --fast"}' $U/api/orders`);
  text('', '# a body over 8 MiB: 413, before it is read');
  await curl(`head -c 9000000 /dev/zero | tr '\\0' ' ' | curl -s ${CODE} -H "$T" -H "$J" --data-binary @- $U/api/orders`);
  text('', '# no such route, or a method the route does not take: 404');
  await curl(`curl -s ${CODE} -H "$T" -X DELETE $U/api/status`);
  x.runs.set('api-errors', take());
}
