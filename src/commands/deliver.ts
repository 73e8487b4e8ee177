import type { Argv, Options } from 'yargs';
import { Releaser } from '../pipeline/release.js';
import { literalProgram, programProblem } from '../deliver/failure.js';
import { deliver, preparer, templateOf, type DeliverOptions } from '../deliver/loop.js';
import { Registry, registryStore } from '../deliver/registry.js';
import type { Claimed } from '../order.js';
import { Shutdown } from '../deliver/shutdown.js';
import { Pause, steering } from '../deliver/steer.js';
import { UsageError } from '../errors.js';
import { start } from '../run.js';
import { DEFAULT_KEEP_BYTES, LiveOutput } from '../output/live.js';
import { Masker, MIN_SECRET_LENGTH, tooShortToMask } from '../output/mask.js';
import { jobEnv } from '../deliver/jobenv.js';
import { ProgressFiles } from '../deliver/progress.js';
import { collector, collectOptions, type CollectOptions } from '../output/collector.js';
import { size } from '../output/size.js';
import { Checkpointer } from '../checkpoint/keeper.js';
import { CHECKPOINT_FLAGS, checkpointOptions, type CheckpointOptions } from '../checkpoint/options.js';
import { parseTemplate, placeholdersIn, type Template } from '../template.js';
import { duration, durationText, positiveInt, print, timerDuration, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { counted, jsonLine, printable } from '../words.js';
import { CLOUDS, METADATA_ENDPOINTS, watchInterruptions, type Cloud, type InterruptOptions } from '../interrupt/watch.js';
import { defined } from '../objects.js';
import { hasProc } from '../usage/proc.js';
import { Sampler } from '../usage/sampler.js';

/**
 * --max-failures-in-a-row's default. A box with a missing tool, a full disk or a broken
 * mount fails every order in milliseconds; 10 stops it after 10 orders (a fleet of 50
 * such boxes costs 500 attempts, not the list), while a real streak of bad orders
 * rarely reaches 10 on one box when healthy ones are mixed in. 0 turns it off.
 */
export const DEFAULT_MAX_FAILURES_IN_A_ROW = 10;

export const describe = 'Claim READY orders one by one and run <command> [command-args...] <order arguments...> for each';

/** deliver's own options; they go before the command (everything after it is the command's). */
export const flags: Record<string, Options> = {
  // Only deliver names itself (its orders' `waiter`, its registry row); before or after `deliver`.
  name: { alias: 'n', type: 'string', describe: "This waiter's name [env WAITER_NAME, default <hostname>/<pid>]" },
  concurrency: { alias: 'x', type: 'string', describe: 'Orders to run at once (default 1)' },
  once: {
    type: 'boolean',
    describe: 'Deliver at most one order, then exit (pilot jobs); leaves as soon as nothing can be claimed, not waiting for orders running elsewhere (--leave-early)',
  },
  max: { type: 'string', describe: 'Deliver at most this many orders, then exit' },
  wait: { type: 'boolean', describe: 'When the list is empty, keep polling instead of exiting' },
  poll: { type: 'string', describe: 'Longest pause between polls with --wait, or while orders run on other waiters (default 5s)' },
  'leave-early': {
    type: 'boolean',
    describe: 'Exit as soon as nothing can be claimed, without waiting for orders running on other waiters (one of them may go stale and need taking over)',
  },
  shell: { type: 'boolean', describe: 'Run <command> as a sh -c snippet; the arguments are "$@"' },
  timeout: { type: 'string', describe: "Kill an order's processes after this long (e.g. 30s, 10m); it ends in ERROR" },
  'kill-after': { type: 'string', describe: 'After SIGTERM, SIGKILL the process group this much later (default 10s)' },
  lease: { type: 'string', describe: 'An order whose heartbeat is older than this is stale and taken over (default 60s)' },
  heartbeat: { type: 'string', describe: 'How often to refresh the lease of a running order (default 10s, or a third of --lease when that is shorter)' },
  grace: { type: 'string', describe: 'After the first SIGINT/SIGTERM/SIGHUP, kill running orders after this long (default: wait)' },
  'max-attempts': { type: 'string', describe: 'Put a failed order back READY until it has been tried this many times (default 1)' },
  'retry-on': { type: 'string', describe: 'Only retry these exit codes (comma-separated)' },
  'retry-delay': { type: 'string', describe: 'Wait this long before retrying a failed order (default 0: at once); it goes back READY, due then' },
  'retry-backoff': { type: 'string', describe: 'Each further retry of an order waits this many times longer (default 2)' },
  'retry-max-delay': { type: 'string', describe: 'No retry waits longer than this (default 1h)' },
  workdir: { type: 'string', describe: 'Run each order in this folder, created if missing; placeholders allowed (e.g. runs/{hash})' },
  'save-output': { type: 'boolean', describe: 'Write the full stdout and stderr of each order to files in its --workdir' },
  'max-failures-in-a-row': {
    type: 'string',
    describe: `Stop this waiter after n failed orders in a row, so a broken box costs the list at most n attempts (default ${DEFAULT_MAX_FAILURES_IN_A_ROW}; 0: never)`,
  },
  'keep-output': {
    type: 'string',
    describe: 'Send the output to the kitchen live, keeping at most this much per attempt: the start and the end (default 1MiB; 0: only the last 4 KiB, at the end)',
  },
  'output-every': { type: 'string', describe: 'With live output: send it at most this often per running order (default 1s)' },
  collect: {
    type: 'string',
    array: true,
    describe: "With --workdir: after an attempt, store the files of the order's folder matching these globs in the kitchen (waiter gather fetches them), e.g. 'out/*.csv'",
  },
  'collect-max': { type: 'string', describe: 'With --collect: at most this much per attempt; more fails the attempt, nothing stored (default 100MiB)' },
  'collect-on': { type: 'string', choices: ['done', 'always'], describe: 'With --collect: after a DONE attempt only (done, the default), or after failed runs too (always)' },
  'collect-timeout': { type: 'string', describe: "With --collect: storing one attempt's files must end within this, or the attempt fails and nothing is kept (default 10m)" },
  ...CHECKPOINT_FLAGS,
  interruptions: {
    type: 'string',
    choices: CLOUDS,
    describe:
      "Watch the cloud's spot interruption notice (aws: every 5 s; gcp: instance/preempted): then stop claiming, SIGTERM running commands and put their orders back READY before the box goes (default off)",
  },
  'interruption-file': { type: 'string', describe: 'A file appearing at this path is an interruption notice (it may hold the time the box goes, ISO 8601; else 30 s)' },
  'metadata-endpoint': {
    type: 'string',
    describe: `With --interruptions: the metadata service's address (default ${METADATA_ENDPOINTS.aws} for aws, ${METADATA_ENDPOINTS.gcp} for gcp)`,
  },
  'memory-max': {
    type: 'string',
    describe: "Stop an order whose processes together use more memory (RSS, looked at each second) than this, e.g. 4G; it ends in ERROR 'over --memory-max (peak …)'",
  },
  'dry-run': { type: 'string', describe: 'Print the argv of the next N orders a claim would take (NDJSON), claiming nothing' },
  mask: {
    type: 'string',
    array: true,
    describe:
      "The value of this environment variable is a secret: *** in the orders' output and errors stored in the kitchen (repeat for more; the kitchen's password and WAITER_TOKEN always are)",
  },
};

export function builder(y: Argv) {
  return y.options(flags).positional('command', { type: 'string', describe: 'The program to run for each order' });
}

/** deliver's options: the loop's, and what the command wires around it (live output). */
export type DeliverCommandOptions = DeliverOptions & {
  keepOutput: number;
  outputEveryMs?: number;
  collect?: CollectOptions;
  checkpoint?: CheckpointOptions;
  mask: string[];
  interrupt?: InterruptOptions;
};

export function options(argv: Record<string, unknown>, rest: string[], g: Globals): DeliverCommandOptions {
  const [command, ...commandArgs] = rest;
  if (!command) throw new UsageError('deliver: missing <command> (e.g. waiter deliver ./crunch.sh --flag x)');
  const leaseMs = argv.lease === undefined ? 60_000 : duration('lease', argv.lease);
  const heartbeatMs = argv.heartbeat === undefined ? Math.min(10_000, leaseMs / 3) : timerDuration('heartbeat', argv.heartbeat);
  if (heartbeatMs >= leaseMs) throw new UsageError(`--heartbeat must be shorter than --lease`);
  const o: DeliverCommandOptions = {
    mask: argv.mask === undefined ? [] : [argv.mask].flat().map(String),
    keepOutput: argv['keep-output'] === undefined ? DEFAULT_KEEP_BYTES : size('keep-output', argv['keep-output']),
    ...(argv['output-every'] === undefined ? {} : { outputEveryMs: timerDuration('output-every', argv['output-every']) }),
    command,
    commandArgs,
    shell: Boolean(argv.shell),
    concurrency: argv.concurrency === undefined ? 1 : positiveInt('concurrency', argv.concurrency),
    wait: Boolean(argv.wait),
    ...(argv['leave-early'] ? { leaveEarly: true } : {}),
    pollMs: argv.poll === undefined ? 5000 : timerDuration('poll', argv.poll),
    waiter: g.name,
    leaseMs,
    heartbeatMs,
    killAfterMs: argv['kill-after'] === undefined ? 10_000 : timerDuration('kill-after', argv['kill-after']),
    retry: {
      maxAttempts: argv['max-attempts'] === undefined ? 1 : positiveInt('max-attempts', argv['max-attempts']),
      retryOn: argv['retry-on'] === undefined ? [] : exitCodes(String(argv['retry-on'])),
      ...(argv['retry-delay'] === undefined ? {} : { delayMs: duration('retry-delay', argv['retry-delay']) }),
      ...(argv['retry-backoff'] === undefined ? {} : { backoff: factor('retry-backoff', argv['retry-backoff']) }),
      ...(argv['retry-max-delay'] === undefined ? {} : { maxDelayMs: duration('retry-max-delay', argv['retry-max-delay']) }),
    },
  };
  const breaker = argv['max-failures-in-a-row'] === undefined ? DEFAULT_MAX_FAILURES_IN_A_ROW : wholeNumber('max-failures-in-a-row', argv['max-failures-in-a-row']);
  if (breaker > 0) o.maxFailuresInARow = breaker;
  if (o.wait && o.leaveEarly) throw new UsageError('--leave-early and --wait: --wait never leaves; use one or the other');
  if (argv.once) {
    o.max = 1;
    // A pilot job takes one order and goes: it does not stay for the fleet's last orders (src/deliver/tail.ts).
    if (!o.wait) o.leaveEarly = true;
  }
  if (argv.max !== undefined) o.max = Math.min(o.max ?? Infinity, positiveInt('max', argv.max));
  if (o.shell) {
    const found = [command, ...commandArgs].flatMap(placeholdersIn);
    if (found.length > 0) {
      throw new UsageError(`--shell: placeholders such as ${found[0]} are not expanded in a shell snippet; use "$1".."$N" or "$@" (or drop --shell)`);
    }
  } else {
    o.template = template('<command>', [command, ...commandArgs]);
  }
  if (argv.workdir !== undefined) {
    const dir = String(argv.workdir);
    if (dir === '') throw new UsageError('--workdir: empty');
    o.workdir = template('--workdir', [dir]);
  }
  if (argv['save-output']) {
    if (!o.workdir) throw new UsageError("--save-output needs --workdir (the files go in the order's folder)");
    o.saveOutput = true;
  }
  const collect = collectOptions(argv, o.workdir !== undefined);
  if (collect) o.collect = collect;
  const checkpoint = checkpointOptions(argv, o.workdir !== undefined);
  if (checkpoint) o.checkpoint = checkpoint;
  const interrupt = interruptOptions(argv);
  if (interrupt) o.interrupt = interrupt;
  if (argv['memory-max'] !== undefined) {
    const max = size('memory-max', argv['memory-max']);
    if (max === 0) throw new UsageError("--memory-max: '0' would stop every order; give a size such as 512M or 4G");
    // Without /proc nothing could see an order's memory: refusing beats a limit that silently never applies.
    if (!hasProc()) throw new UsageError('--memory-max needs /proc (Linux) to see what an order uses; this box has none');
    o.memoryMax = max;
  }
  if (argv.timeout !== undefined) {
    o.timeoutMs = timerDuration('timeout', argv.timeout);
    o.timeoutText = durationText(argv.timeout);
  }
  return o;
}

/** --interruptions, --interruption-file, --metadata-endpoint; undefined when nothing is watched. */
function interruptOptions(argv: Record<string, unknown>): InterruptOptions | undefined {
  const cloud = (argv.interruptions === undefined ? 'off' : String(argv.interruptions)) as Cloud;
  const o: InterruptOptions = { cloud };
  if (argv['metadata-endpoint'] !== undefined) {
    const text = String(argv['metadata-endpoint']);
    if (cloud === 'off') throw new UsageError('--metadata-endpoint needs --interruptions aws or gcp');
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new UsageError(`--metadata-endpoint: '${text}' is not a URL (e.g. http://127.0.0.1:8080)`);
    }
    if (url.protocol !== 'http:') throw new UsageError(`--metadata-endpoint: '${text}' is not an http:// URL (the metadata services speak plain http)`);
    o.endpoint = url;
  }
  if (argv['interruption-file'] !== undefined) {
    const file = String(argv['interruption-file']);
    if (file === '') throw new UsageError('--interruption-file: empty');
    o.file = file;
  }
  return cloud === 'off' && o.file === undefined ? undefined : o;
}

function wholeNumber(option: string, value: unknown): number {
  const n = Number(value);
  if (String(value).trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`--${option}: '${String(value)}' is not a whole number ≥ 0`);
  return n;
}

function factor(option: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1) throw new UsageError(`--${option}: '${String(value)}' is not a number ≥ 1`);
  return n;
}

function template(what: string, words: string[]): Template {
  try {
    return parseTemplate(words);
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`);
  }
}

/** --dry-run N, or undefined. */
export function dryRunOf(argv: Record<string, unknown>): number | undefined {
  return argv['dry-run'] === undefined ? undefined : positiveInt('dry-run', argv['dry-run']);
}

/**
 * --dry-run N: what the next N orders a claim would take would run, one JSON line each
 * ({id, argv, workdir?, env?} or {id, error}), claiming nothing and creating no folder.
 * Exit 1 when one of them could not run.
 */
async function preview(g: Globals, o: DeliverOptions, io: IO, n: number): Promise<CommandResult> {
  let failed = false;
  await withKitchen(g, async (kitchen) => {
    const prepare = preparer(o, templateOf(o), { kitchen }, (line) => io.stderr.write(`${printable(line)}\n`), undefined, true);
    for (const order of await kitchen.peek(n)) {
      const id = order._id.toHexString();
      const claimed: Claimed = {
        id: order._id,
        token: '',
        attempt: (order.attempts ?? 0) + 1,
        waiter: o.waiter,
        start: new Date(),
        arguments: order.arguments,
        history: [],
        ...(order.columns ? { columns: order.columns } : {}),
      };
      const p = await prepare(claimed);
      if (p.error !== undefined) {
        failed = true;
        print(io.stdout, jsonLine({ id, error: p.error }));
        continue;
      }
      const argv = o.shell ? ['/bin/sh', '-c', p.file, 'sh', ...p.args] : [p.file, ...p.args];
      print(io.stdout, jsonLine({ id, argv, ...defined({ workdir: p.workdir }), ...(Object.keys(p.env).length ? { env: p.env } : {}) }));
    }
  });
  return failed ? { failedOrders: true } : {};
}

function exitCodes(text: string): number[] {
  return text.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 0 || n > 255) throw new UsageError(`--retry-on: '${s}' is not an exit code (0-255)`);
    return n;
  });
}

export function graceOf(argv: Record<string, unknown>): number | undefined {
  return argv.grace === undefined ? undefined : timerDuration('grace', argv.grace);
}

export async function run(g: Globals, o: DeliverCommandOptions, io: IO, graceMs?: number, dryRun?: number): Promise<CommandResult> {
  if (dryRun !== undefined) return preview(g, o, io, dryRun);
  // Before claiming anything: a typo in the program would otherwise fail every order it touches.
  const program = literalProgram(o.command, o.shell, templateOf(o));
  const problem = program === undefined ? undefined : await programProblem(program, io.env);
  if (problem) throw new UsageError(problem);
  const secrets = masked(o.mask, io.env);
  const shutdown = new Shutdown(graceMs);
  const pause = new Pause();
  const job = jobEnv(io.env, { uri: g.kitchen, db: g.db, list: g.list });
  const mask = new Masker([...job.secrets, ...secrets.map((s) => s.value)]);
  // Its lines quote orders' arguments and errors, paths, and the server's words: masked, and inert on a terminal (a job's own output is not a log line: it streams through as printed, masked in run.ts).
  const log = (line: string) => io.stderr.write(`${printable(mask.text(line))}\n`);
  const short = [...(job.secrets.some(tooShortToMask) ? ["the kitchen's password"] : []), ...secrets.filter((s) => tooShortToMask(s.value)).map((s) => `${s.what}'s value`)];
  for (const what of short) log(`waiter: ${what} is shorter than ${MIN_SECRET_LENGTH} characters: it is not masked (it would change every such text)`);
  const uninstall = shutdown.install(log);
  // Beside the waiter, from before its first claim (src/interrupt/): a notice reaches it only through the shutdown.
  const unwatch = o.interrupt ? watchInterruptions(o.interrupt, shutdown, log) : undefined;
  try {
    const r = await withKitchen(g, async (kitchen) => {
      // The fleet view's indexes are made alongside the first claim, not before it; a
      // user without createIndex rights still delivers (the failure is logged).
      const prepare = () =>
        kitchen.fleet.ensureFleetIndexes().catch((err: unknown) => {
          throw new Error(`could not create the fleet view's indexes: ${(err as Error).message}`);
        });
      const info = {
        name: o.waiter,
        command: [o.command, ...o.commandArgs].map(mask.text),
        mask: mask.text,
        concurrency: o.concurrency,
        leaseMs: o.leaseMs,
        heartbeatMs: o.heartbeatMs,
        prepare,
        // `waiter pause|resume|stop`, read back by each registry write.
        heard: steering(pause, shutdown, log),
      };
      const registry = new Registry(registryStore(kitchen), info, log);
      const output =
        o.keepOutput > 0
          ? (c: Claimed) => new LiveOutput(kitchen.outputs, c.id, c.attempt, { keepBytes: o.keepOutput, ...(o.outputEveryMs ? { flushMs: o.outputEveryMs } : {}) }, log)
          : undefined;
      const collect = o.collect ? collector(kitchen.files, { ...o.collect, ...(mask.empty ? {} : { mask: mask.text }) }, log) : undefined;
      const checkpoint = o.checkpoint ? new Checkpointer(kitchen.checkpoints, o.checkpoint, log, shutdown) : undefined;
      const pipeline = new Releaser(kitchen.pipeline, log);
      return deliver(o, {
        kitchen,
        start,
        stdout: io.stdout,
        stderr: io.stderr,
        log,
        shutdown,
        registry,
        pause,
        pipeline,
        inherit: job.env,
        ...(mask.empty ? {} : { mask }),
        ...(output ? { output } : {}),
        ...(collect ? { collect } : {}),
        ...(checkpoint ? { checkpoint } : {}),
        usage: new Sampler(defined({ memoryMax: o.memoryMax, log })),
        progress: new ProgressFiles(job.dir, mask.empty ? undefined : mask.text, log),
      });
    });
    print(io.stdout, `${r.stopped ? 'Stopped' : 'Done'}. Delivered ${counted(r.delivered, 'order')}.`);
    if (r.interrupted) log(`waiter: ${counted(r.interrupted, 'interrupted order')} put back READY`);
    const result: CommandResult = {};
    if (r.stopped) {
      log(`waiter: stopped: ${r.stopped.reason}`);
      result.stopped = r.stopped.kind;
    }
    if (r.failed > 0) result.failedOrders = true;
    // A stop for a signal exits as a program killed by it would (cli.ts: 128 + its number); other reasons do not.
    if (shutdown.signal) result.signal = shutdown.signal;
    return result;
  } catch (err) {
    // cli.ts prints it: a driver's or the system's words may quote a path or an argument.
    if (err instanceof Error && !mask.empty) {
      err.message = mask.text(err.message);
      if (err.stack) err.stack = mask.text(err.stack);
    }
    throw err;
  } finally {
    unwatch?.();
    uninstall();
    shutdown.dispose();
    job.dispose();
  }
}

/** --mask NAME...: the values to mask, and the serve token if this process has one, each with what it is. A name not set is a usage error (a typo would mask nothing). */
function masked(names: string[], env: NodeJS.ProcessEnv): { what: string; value: string }[] {
  const values = names.map((name) => {
    const v = env[name];
    if (name.trim() === '') throw new UsageError('--mask: an empty variable name');
    if (v === undefined || v === '') throw new UsageError(`--mask ${name}: no such variable in the environment (or it is empty): nothing to mask`);
    return { what: `--mask ${name}`, value: v };
  });
  return env.WAITER_TOKEN ? [...values, { what: 'WAITER_TOKEN', value: env.WAITER_TOKEN }] : values;
}
