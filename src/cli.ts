// The entry point: yargs root, global options, and the ONE place that turns errors
// and command results into exit codes.
import { constants } from 'node:os';
import yargs, { type Argv } from 'yargs';
import * as add from './commands/add.js';
import * as clean from './commands/clean.js';
import { globals, type CommandResult, type IO } from './commands/common.js';
import * as deliver from './commands/deliver.js';
import * as extract from './commands/extract.js';
import * as gather from './commands/gather.js';
import * as load from './commands/load.js';
import * as logs from './commands/logs.js';
import * as reset from './commands/reset.js';
import * as serve from './commands/serve.js';
import * as show from './commands/show.js';
import * as status from './commands/status.js';
import * as waiters from './commands/waiters.js';
import { EXIT, UsageError, WaiterError } from './errors.js';
import { VERSION } from './version.js';

const EPILOGUE = `Exit codes: 0 ok · 1 some delivered orders failed · 2 usage error · 3 kitchen unreachable or rejected the operation · 4 bad input file or unknown order id · 5 deliver: this box cannot run orders, it stopped itself · 6 deliver: too many failures in a row, it stopped itself · 130/143 deliver stopped by SIGINT/SIGTERM · 70 internal error.
Global options also come from WAITER_KITCHEN, WAITER_DB, WAITER_LIST; deliver's --name from WAITER_NAME.`;

const GLOBAL_VALUE_FLAGS = ['-k', '--kitchen', '--db', '-l', '--list', '-n', '--name'];

/** Commands whose trailing words belong to someone else (the program to run, the order's arguments). */
const REST_COMMANDS: Record<string, string[]> = {
  deliver: valueFlags(deliver.flags),
  add: add.valueFlags,
};

function valueFlags(flags: typeof deliver.flags): string[] {
  return Object.entries(flags).flatMap(([name, o]) => (o.type === 'boolean' ? [] : [`--${name}`, ...[o.alias ?? []].flat().map((a) => (a.length === 1 ? `-${a}` : `--${a}`))]));
}

/**
 * Splits `waiter [globals] deliver [options] <command> [command-args...]` at the
 * command, so that yargs never sees (or rejects) the command's own options.
 */
export function splitRest(args: string[]): { head: string[]; rest: string[] } {
  let i = 0;
  const takesValue = (tok: string, extra: string[]) => !tok.includes('=') && (GLOBAL_VALUE_FLAGS.includes(tok) || extra.includes(tok));
  while (i < args.length && args[i]!.startsWith('-')) i += takesValue(args[i]!, []) ? 2 : 1;
  const sub = args[i];
  if (sub === undefined || !(sub in REST_COMMANDS)) return { head: args, rest: [] };
  const extra = REST_COMMANDS[sub]!;
  for (i++; i < args.length; i++) {
    const tok = args[i]!;
    if (tok === '--') return { head: args.slice(0, i), rest: args.slice(i + 1) };
    if (!tok.startsWith('-') || tok === '-') return { head: args.slice(0, i), rest: args.slice(i) };
    if (takesValue(tok, extra)) i++;
  }
  return { head: args, rest: [] };
}

/** The subcommand's word: the first one that is not a global option or its value. */
function commandWord(args: string[]): string | undefined {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i += !args[i]!.includes('=') && GLOBAL_VALUE_FLAGS.includes(args[i]!) ? 2 : 1;
  return args[i];
}

const COMPLETION = 'Print a bash/zsh completion script: waiter completion >> ~/.bashrc (or ~/.zshrc)';

/** yargs prints the script for `completion --help` too: this is the help it does not have. */
const COMPLETION_HELP = `waiter completion

${COMPLETION}. It picks bash or zsh from $SHELL; after adding it, open a new shell.
Commands, options and their values complete with Tab: waiter deliver --ma<Tab>.
`;

/**
 * `unknown command 'stauts'. Did you mean status?` (yargs' recommendCommands says only the
 * second half; strict() alone says `Unknown argument: stauts`). Undefined: not that case.
 */
function unknownCommand(head: string[], y: Argv, msg: string): string | undefined {
  const word = commandWord(head);
  // yargs keeps its command list internal; without it, yargs' own message stands.
  type Internal = { getInternalMethods?: () => { getCommandInstance?: () => { getCommands?: () => string[] } } };
  const known = (y as unknown as Internal).getInternalMethods?.().getCommandInstance?.().getCommands?.();
  // Inside a command's own parse yargs has swapped its list for the command's (none): not an unknown command.
  if (word === undefined || !known?.length || known.includes(word) || word === 'completion') return undefined;
  // No recommendation: yargs' `Unknown argument: frobnicate` names the word already.
  return msg.includes(word) ? undefined : `unknown command '${word}'. ${msg}`;
}

type CompletionDefaults = (onCompleted: (err: Error | null, completions: string[] | undefined) => void) => void;

/**
 * yargs' own completions, corrected: a one-letter alias is -k, never offered as --k; and
 * the option being typed is offered too (yargs leaves out options already on the line,
 * the word being completed among them: `--max` would complete only to --max-attempts).
 */
/** Every option key yargs knows in the current (command's) context; getOptions is missing from yargs' typings. */
function optionKeys(y: Argv): string[] {
  return Object.keys((y as unknown as { getOptions: () => { key: Record<string, unknown> } }).getOptions().key);
}

export function completions(current: string, found: string[], keys: string[]): string[] {
  const name = (c: string) => c.replace(/(?<!\\):.*$/s, ''); // zsh: "--opt:description"
  const out = found.filter((c) => !/^--[^-]$/.test(name(c)));
  const typed = /^--([^=\s]+)$/.exec(current)?.[1];
  if (typed && typed.length > 1 && keys.includes(typed) && !out.some((c) => name(c) === current)) out.unshift(current);
  return out;
}

export async function main(args: string[], io: IO): Promise<number> {
  // Completing: yargs must see every word typed so far, the command's own included.
  const { head, rest } = args.includes('--get-yargs-completions') ? { head: args, rest: [] } : splitRest(args);
  if (commandWord(head) === 'completion' && head.some((a) => a === '--help' || a === '-h')) {
    io.stdout.write(COMPLETION_HELP);
    return EXIT.OK;
  }
  let result: CommandResult = {};
  const g = (argv: Record<string, unknown>) => globals(argv, io.env);
  const cli = yargs(head)
    .scriptName('waiter')
    .usage('$0 <command> [options]\n\nSpread a list of shell jobs (one CSV row each) over many machines, using MongoDB.')
    .option('kitchen', { alias: 'k', type: 'string', global: true, describe: 'MongoDB connection string [env WAITER_KITCHEN, default mongodb://127.0.0.1:27017]' })
    .option('db', { type: 'string', global: true, describe: 'Database [env WAITER_DB, default waiter]' })
    .option('list', { alias: 'l', type: 'string', global: true, describe: 'Collection holding the orders [env WAITER_LIST, default orders]' })
    .command('load [file]', load.describe, load.builder, async (a) => {
      result = await load.run(g(a), load.options(a), io);
    })
    .command('add [args..]', add.describe, add.builder, async (a) => {
      result = await add.run(g(a), add.options(a, rest), io);
    })
    .command('status', status.describe, status.builder, async (a) => {
      result = await status.run(g(a), status.options(a), io);
    })
    .command('waiters', waiters.describe, waiters.builder, async (a) => {
      result = await waiters.run(g(a), waiters.options(a), io);
    })
    .command('show [id]', show.describe, show.builder, async (a) => {
      result = await show.run(g(a), show.options(a), io);
    })
    .command('logs <id>', logs.describe, logs.builder, async (a) => {
      result = await logs.run(g(a), logs.options(a), io);
    })
    .command('deliver [command]', deliver.describe, deliver.builder as (y: Argv) => Argv, async (a) => {
      const globalsOf = g(a);
      result = await deliver.run(globalsOf, deliver.options(a, [...(a.command ? [String(a.command)] : []), ...rest], globalsOf), io, deliver.graceOf(a), deliver.dryRunOf(a));
    })
    .command('gather [ids..]', gather.describe, gather.builder, async (a) => {
      result = await gather.run(g(a), gather.options(a), io);
    })
    .command('reset', reset.describe, reset.builder, async (a) => {
      result = await reset.run(g(a), reset.options(a), io);
    })
    .command('extract', extract.describe, extract.builder, async (a) => {
      result = await extract.run(g(a), extract.options(a), io);
    })
    .command('clean', clean.describe, clean.builder, async (a) => {
      result = await clean.run(g(a), clean.options(a), io);
    })
    .command('serve', serve.describe, serve.builder, async (a) => {
      result = await serve.run(g(a), serve.options(a, io.env), io);
    })
    // `waiter completion` prints yargs' bash/zsh script; the script calls `waiter --get-yargs-completions …`.
    .completion('completion', COMPLETION, (current: string, _argv: unknown, defaults: CompletionDefaults, done: (c: string[]) => void) =>
      defaults((_err, found) => done(completions(current, found ?? [], optionKeys(cli)))),
    )
    .recommendCommands()
    .demandCommand(1, 'Name a command: load, add, status, waiters, show, logs, deliver, gather, reset, extract, clean, serve or completion')
    .strict()
    .epilogue(EPILOGUE)
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(unknownCommand(head, cli, msg) ?? msg);
    })
    .help()
    .version(VERSION);

  try {
    await cli.parseAsync();
  } catch (err) {
    io.stderr.write(`waiter: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof WaiterError) return err.exitCode;
    if (err instanceof Error && err.name === 'YError') return EXIT.USAGE;
    io.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    return EXIT.INTERNAL;
  }
  if (result.signal) return 128 + (constants.signals[result.signal] ?? 15);
  if (result.stopped === 'box') return EXIT.BOX;
  if (result.stopped === 'breaker') return EXIT.BREAKER;
  if (result.failedOrders) return EXIT.FAILED_ORDERS;
  return EXIT.OK;
}

/** Run as a program: the one place that sets the process's exit status. */
export async function runMain(): Promise<void> {
  // The reader of stdout has gone (`waiter waiters --json | head -1`): stop quietly,
  // as a program killed by SIGPIPE would, rather than crash with a stack.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
  const code = await main(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
  process.exitCode = code;
}
