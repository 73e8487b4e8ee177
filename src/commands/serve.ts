import type { Argv } from 'yargs';
import { Kitchen } from '../kitchen.js';
import { UsageError } from '../errors.js';
import { durationText, timerDuration } from '../values.js';
import { allowedHosts, hostNames, isUnspecified, printedUrl } from '../serve/hosts.js';
import { REQUEST_TIMEOUT_MS, isLoopback, listen } from '../serve/server.js';
import { print, type CommandResult, type Globals, type IO } from './common.js';
import { printable } from '../words.js';

export const describe = 'Serve a live web page of the kitchen, an HTTP JSON API and Prometheus metrics (GET /metrics; docs/api.md)';

export function builder(y: Argv) {
  return y
    .option('port', { alias: 'p', type: 'string', describe: 'TCP port (0 picks a free one) (default 8080)' })
    .option('bind', { type: 'string', describe: 'Address to listen on (default 127.0.0.1); any other than loopback needs a token' })
    .option('token', { type: 'string', describe: 'Require Authorization: Bearer <token> [env WAITER_TOKEN; prefer the env: argv is visible in ps]' })
    .option('public-read', { type: 'boolean', describe: 'With a token: reads (GET) need none, writes still do; beyond loopback it needs --host-name or a one-address --bind' })
    .option('host-name', {
      type: 'string',
      array: true,
      describe: 'A name (or name:port) clients reach the server by (repeat it, or a comma list): other Host headers are refused',
    })
    .option('request-timeout', { type: 'string', describe: "A request's headers and body must arrive within it, else the connection is closed (default 30s)" });
}

export interface ServeOptions {
  port: number;
  bind: string;
  token?: string;
  publicRead: boolean;
  /** --host-name: the names (name or name:port) this server answers as Host. */
  hostNames: string[];
  /** --request-timeout, in ms, and as the user wrote it. */
  requestTimeoutMs: number;
  requestTimeoutText: string;
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
  const publicRead = Boolean(argv['public-read']);
  const names = hostNames(argv['host-name']);
  if (publicRead && isUnspecified(bind) && names.length === 0) throw openToRebinding(bind);
  const timeout = argv['request-timeout'] ?? `${REQUEST_TIMEOUT_MS / 1000}s`;
  const o: ServeOptions = { port, bind, publicRead, hostNames: names, requestTimeoutMs: timerDuration('request-timeout', timeout), requestTimeoutText: durationText(timeout) };
  if (token) o.token = token;
  return o;
}

function openToRebinding(bind: string, address = bind): UsageError {
  const where = address === bind ? bind : `${bind} (${address}, every address)`;
  return new UsageError(
    `--public-read on --bind ${where}: any web page a browser that reaches this server opens could read every order (DNS rebinding); give the names it is reached by with --host-name <name>`,
  );
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
    // Request lines quote paths and errors from clients and orders: inert on a terminal (a stack keeps its lines).
    const log = (line: string) => io.stderr.write(`${printable(line, '\n')}\n`);
    // Set once the port is known (--port 0), before the first request is read.
    let hosts: ReadonlySet<string> | undefined = new Set();
    const app = createApp({
      kitchen,
      list: g.list,
      db: g.db,
      publicRead: o.publicRead,
      log,
      ...(o.token ? { token: o.token } : {}),
      hosts: () => hosts,
    });
    const server = await listen(app, o.port, o.bind, { timeoutMs: o.requestTimeoutMs, timeoutText: o.requestTimeoutText, log });
    // Every address however --bind spelled it (0, 0x0, a name for 0.0.0.0): what was listened on says.
    const bind = isUnspecified(server.address) ? server.address : o.bind;
    if (o.publicRead && isUnspecified(bind) && o.hostNames.length === 0) {
      await server.close();
      throw openToRebinding(o.bind, bind);
    }
    const where = { bind, port: server.port, names: o.hostNames, loopback: isLoopback(o.bind) };
    hosts = allowedHosts({ ...where, publicRead: o.publicRead });
    const auth = o.token ? (o.publicRead ? 'token for writes' : 'token for reads and writes') : 'no token';
    print(io.stdout, `waiter serve: ${printedUrl(where)} (list ${g.list}, ${auth}; Ctrl-C to stop)`);
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
