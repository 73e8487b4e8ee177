import type { Argv } from 'yargs';
import { Kitchen } from '../kitchen.js';
import { UsageError } from '../errors.js';
import { allowedHosts, isLoopback, listen } from '../serve/server.js';
import { print, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Serve a live web page of the kitchen and an HTTP JSON API (see README: waiter serve)';

export function builder(y: Argv) {
  return y
    .option('port', { alias: 'p', type: 'string', describe: 'TCP port (0 picks a free one) (default 8080)' })
    .option('bind', { type: 'string', describe: 'Address to listen on (default 127.0.0.1); any other than loopback needs a token' })
    .option('token', { type: 'string', describe: 'Require Authorization: Bearer <token> [env WAITER_TOKEN; prefer the env: argv is visible in ps]' })
    .option('public-read', { type: 'boolean', describe: 'With a token: reads (GET) need none, writes still do' });
}

export interface ServeOptions {
  port: number;
  bind: string;
  token?: string;
  publicRead: boolean;
}

export function options(argv: Record<string, unknown>, env: NodeJS.ProcessEnv): ServeOptions {
  const port = argv.port === undefined ? 8080 : Number(argv.port);
  if (!/^\d+$/.test(String(argv.port ?? '8080')) || port > 65535) throw new UsageError(`--port: '${String(argv.port)}' is not a port number (0-65535)`);
  const bind = argv.bind === undefined ? '127.0.0.1' : String(argv.bind).trim();
  if (bind === '') throw new UsageError('--bind: the address is empty');
  const token = argv.token !== undefined ? String(argv.token) : env.WAITER_TOKEN;
  if (token !== undefined && !/^[\x21-\x7e]{8,}$/.test(token)) {
    throw new UsageError('--token (or WAITER_TOKEN): use at least 8 printable characters, no spaces');
  }
  if (!isLoopback(bind) && !token) {
    throw new UsageError(`--bind ${bind}: not a loopback address; set --token or WAITER_TOKEN to serve beyond this machine`);
  }
  const o: ServeOptions = { port, bind, publicRead: Boolean(argv['public-read']) };
  if (token) o.token = token;
  return o;
}

/** Serves until SIGINT or SIGTERM, then closes the server and the kitchen: exit 0. */
export async function run(g: Globals, o: ServeOptions, io: IO): Promise<CommandResult> {
  // The web framework is loaded by `serve` alone: other commands start ~40 ms sooner.
  const { createApp } = await import('../serve/app.js');
  const kitchen = await Kitchen.open({ uri: g.kitchen, db: g.db, list: g.list });
  try {
    // The pace chart and the latest failures read {status, stop}; deliver makes it too.
    // A read-only user cannot: the page then works, from slower queries.
    await kitchen.fleet
      .ensureFleetIndexes()
      .catch((err: Error) => io.stderr.write(`waiter serve: could not create the fleet index (${err.message.split('\n')[0]}); the chart will be slower\n`));
    // Set once the port is known (--port 0), before the first request is read.
    let hosts: ReadonlySet<string> = new Set();
    const app = createApp({
      kitchen,
      list: g.list,
      db: g.db,
      publicRead: o.publicRead,
      log: (line) => io.stderr.write(`${line}\n`),
      ...(o.token ? { token: o.token } : {}),
      // Beyond loopback (a token is then required) any Host goes: the token protects.
      ...(isLoopback(o.bind) ? { hostAllowed: (h: string) => hosts.has(h) } : {}),
    });
    const server = await listen(app, o.port, o.bind);
    hosts = allowedHosts(o.bind, server.port);
    const auth = o.token ? (o.publicRead ? 'token for writes' : 'token for reads and writes') : 'no token';
    print(io.stdout, `waiter serve: ${server.url} (list ${g.list}, ${auth}; Ctrl-C to stop)`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      const stop = (sig: NodeJS.Signals) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve(sig);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    io.stderr.write(`waiter serve: ${signal}: stopping\n`);
    await server.close();
    return {};
  } finally {
    await kitchen.close().catch(() => undefined);
  }
}
