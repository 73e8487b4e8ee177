// The entry point: yargs root, global options, and the ONE place that turns errors
// and command results into exit codes.
import { constants } from 'node:os';
import yargs, { type Argv } from 'yargs';
import * as add from './commands/add.js';
import * as cancel from './commands/cancel.js';
import * as clean from './commands/clean.js';
import { globals, type CommandResult, type Globals, type IO } from './commands/common.js';
import * as deliver from './commands/deliver.js';
import * as edit from './commands/edit.js';
import * as extract from './commands/extract.js';
import * as gather from './commands/gather.js';
import * as hold from './commands/hold.js';
import * as load from './commands/load.js';
import * as logs from './commands/logs.js';
import * as pause from './commands/pause.js';
import * as release from './commands/release.js';
import * as reset from './commands/reset.js';
import * as resume from './commands/resume.js';
import * as serve from './commands/serve.js';
import * as show from './commands/show.js';
import * as status from './commands/status.js';
import * as stop from './commands/stop.js';
import * as waiters from './commands/waiters.js';
import { EXIT, UsageError, WaiterError } from './errors.js';
import { VERSION } from './version.js';
import { printable } from './words.js';

export const EPILOGUE = `Exit codes: 0 ok · 1 some delivered orders failed · 2 usage error · 3 kitchen unreachable or rejected the operation · 4 bad input file or unknown order id · 5 deliver: this box cannot run orders, it stopped itself (or cannot write the kitchen file in $TMPDIR); load: no room in $TMPDIR for its copy of the input · 6 deliver: too many failures in a row, it stopped itself · 130/143/129 deliver stopped by SIGINT/SIGTERM/SIGHUP · 70 internal error.
Global options also come from WAITER_KITCHEN (or WAITER_KITCHEN_FILE, a file holding the URI: out of ps), WAITER_DB, WAITER_LIST; deliver's --name from WAITER_NAME.`;

const GLOBAL_VALUE_FLAGS = ['-k', '--kitchen', '--kitchen-file', '--db', '-l', '--list', '-n', '--name'];

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

/**
 * A command's own words for a required argument left out (`show <id>`): yargs would say
 * `Not enough non-option arguments: got 0, need at least 1`. Undefined: not that case.
 */
function missingArgument(head: string[], msg: string): string | undefined {
  if (!/^Not enough non-option arguments/.test(msg)) return undefined;
  return commandWord(head) === 'show' ? show.MISSING_ID : undefined;
}

/**
 * `unknown option --leese. Did you mean --lease?`: yargs' strict mode says only `Unknown
 * argument: leese`. The first unknown option typed as one (-x or --xyz), matched against
 * the options of the command being parsed; undefined when none is close.
 */
function unknownOption(head: string[], keys: string[], msg: string): string | undefined {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return undefined;
  for (const word of m[1]!.split(', ')) {
    const typed = head.find((a) => a.replace(/=.*$/s, '').replace(/^--?/, '') === word && a.startsWith('-'));
    if (!typed) continue;
    const flag = typed.replace(/=.*$/s, '');
    const near = keys
      .filter((k) => k.length > 1 && k !== word)
      .map((k) => ({ k, d: distance(word, k) }))
      .filter((x) => x.d <= (word.length >= 4 ? 2 : 1))
      .sort((a, b) => a.d - b.d)[0];
    if (near) return `unknown option ${flag}. Did you mean --${near.k}?`;
  }
  return undefined;
}

/** Edit distance (insert, delete, substitute, swap two neighbours), for the suggestion above. */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
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

/**
 * `inspect`, when given, receives the yargs instance, fully defined and never run
 * (scripts/commands-doc.js writes docs/commands.md from it: one source with --help).
 */
export async function main(args: string[], io: IO, inspect?: (cli: Argv) => void): Promise<number> {
  // Completing: yargs must see every word typed so far, the command's own included.
  const { head, rest } = args.includes('--get-yargs-completions') ? { head: args, rest: [] } : splitRest(args);
  if (commandWord(head) === 'completion' && head.some((a) => a === '--help' || a === '-h')) {
    io.stdout.write(COMPLETION_HELP);
    return EXIT.OK;
  }
  let result: CommandResult = {};
  const g = (argv: Record<string, unknown>) => globals(argv, io.env);
  /** The shape most commands share: run(globals, options(argv), io). */
  const command =
    <O>(m: { options: (a: Record<string, unknown>) => O; run: (g: Globals, o: O, io: IO) => Promise<CommandResult> }) =>
    (a: Record<string, unknown>) =>
      m.run(g(a), m.options(a), io);
  const cli = yargs(head)
    // `--poll.x 3` is a mistyped option, not yargs' object notation (which handed "[object Object]" to the parsers).
    .parserConfiguration({ 'dot-notation': false })
    .scriptName('waiter')
    .usage('$0 <command> [options]\n\nSpread a list of shell jobs (one CSV row each) over many machines, using MongoDB.')
    .option('kitchen', { alias: 'k', type: 'string', global: true, describe: 'MongoDB connection string [env WAITER_KITCHEN, default mongodb://127.0.0.1:27017]' })
    .option('kitchen-file', { type: 'string', global: true, describe: 'A file holding the connection string, so that it is not in ps [env WAITER_KITCHEN_FILE]' })
    .option('db', { type: 'string', global: true, describe: 'Database [env WAITER_DB, default waiter]' })
    .option('list', { alias: 'l', type: 'string', global: true, describe: 'Collection holding the orders [env WAITER_LIST, default orders]' });
  // One registration per command, in --help's order; most share one shape (command()).
  const commands: [string, { describe: string; builder: (y: Argv) => Argv }, (a: Record<string, unknown>) => Promise<CommandResult>][] = [
    ['load [file]', load, command(load)],
    ['add [args..]', add, (a) => add.run(g(a), add.options(a, rest), io)],
    ['status', status, command(status)],
    ['waiters', waiters, command(waiters)],
    ['show <id>', show, command(show)],
    ['logs <id>', logs, command(logs)],
    [
      'deliver [command]',
      deliver,
      (a) => {
        const globalsOf = g(a);
        return deliver.run(globalsOf, deliver.options(a, [...(a.command ? [String(a.command)] : []), ...rest], globalsOf), io, deliver.graceOf(a), deliver.dryRunOf(a));
      },
    ],
    ['gather [ids..]', gather, command(gather)],
    ['reset [ids..]', reset, command(reset)],
    ['cancel [ids..]', cancel, command(cancel)],
    ['hold [ids..]', hold, command(hold)],
    ['release [ids..]', release, command(release)],
    ['edit [ids..]', edit, command(edit)],
    ['pause', pause, command(pause)],
    ['resume', resume, (a) => resume.run(g(a), io)],
    ['stop [waiter]', stop, command(stop)],
    ['extract', extract, command(extract)],
    ['clean', clean, command(clean)],
    ['serve', serve, (a) => serve.run(g(a), serve.options(a, io.env), io)],
  ];
  for (const [spec, m, handle] of commands) {
    cli.command(spec, m.describe, m.builder, async (a) => {
      result = await handle(a);
    });
  }
  cli
    // `waiter completion` prints yargs' bash/zsh script; the script calls `waiter --get-yargs-completions …`.
    .completion('completion', COMPLETION, (current: string, _argv: unknown, defaults: CompletionDefaults, done: (c: string[]) => void) =>
      defaults((_err, found) => done(completions(current, found ?? [], optionKeys(cli)))),
    )
    .recommendCommands()
    .demandCommand(1, `Name a command: ${commands.map(([spec]) => spec.split(' ')[0]).join(', ')} or completion`)
    .strict()
    .epilogue(EPILOGUE)
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(missingArgument(head, msg) ?? unknownCommand(head, cli, msg) ?? unknownOption(head, optionKeys(cli), msg) ?? msg);
    })
    .help()
    .version(VERSION);
  if (inspect) return (inspect(cli), EXIT.OK);

  try {
    await cli.parseAsync();
  } catch (err) {
    // A message may quote an order, a file's column names or the server's words: inert on a terminal.
    io.stderr.write(`waiter: ${printable(err instanceof Error ? err.message : String(err))}\n`);
    if (err instanceof WaiterError) return err.exitCode;
    if (err instanceof Error && err.name === 'YError') return EXIT.USAGE;
    io.stderr.write(`${printable((err as Error)?.stack ?? '', '\n')}\n`);
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
