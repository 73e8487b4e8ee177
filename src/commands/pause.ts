import type { Argv } from 'yargs';
import { pause } from '../app/pause.js';
import { cliUser, reasonProblem } from '../app/who.js';
import { UsageError } from '../errors.js';
import { counted, printable } from '../words.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Pause the list: every waiter stops claiming within one heartbeat, lets its running orders finish and waits for `waiter resume`';

export function builder(y: Argv) {
  return y.option('reason', { type: 'string', describe: 'Why, shown by status, waiters and the page' });
}

export interface PauseOptions {
  reason?: string;
}

export function options(argv: Record<string, unknown>): PauseOptions {
  return reasonOf(argv);
}

/** --reason, when given (not empty). */
export function reasonOf(argv: Record<string, unknown>): { reason?: string } {
  if (argv.reason === undefined) return {};
  const reason = String(argv.reason).trim();
  if (reason === '') throw new UsageError('--reason is empty: say why, or leave the option out');
  const problem = reasonProblem(reason);
  if (problem) throw new UsageError(`--reason is ${problem}`);
  return { reason };
}

export async function run(g: Globals, o: PauseOptions, io: IO): Promise<CommandResult> {
  const r = await withKitchen(g, (k) => pause(k, { by: cliUser(io.env), ...o }));
  const since = `since ${r.paused.at} by ${r.paused.by}${r.paused.reason ? ` (${r.paused.reason})` : ''}`;
  print(
    io.stdout,
    printable(
      r.already
        ? `The list is already paused (${since}): nothing changed`
        : `Paused the list: ${counted(r.waiters, 'live waiter')} stop claiming within one heartbeat; running orders finish (waiter resume to go on)`,
    ),
  );
  return {};
}
