import type { Argv } from 'yargs';
import { moment, print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Add one READY order with these arguments (use -- before arguments that start with -)';

export function builder(y: Argv) {
  return y
    .positional('args', { type: 'string', array: true, describe: 'The order\'s arguments' })
    .option('at', { type: 'string', describe: 'Not to be taken before this time: +30m, +2h, or 2026-12-01T06:00:00Z' });
}

export interface AddOptions {
  args: string[];
  /** When the order may first be taken (default: now). */
  at?: Date;
}

export function options(argv: Record<string, unknown>, rest: string[]): AddOptions {
  const args = [...((argv.args as unknown[] | undefined) ?? []), ...rest].map(String);
  return argv.at === undefined ? { args } : { args, at: moment('at', argv.at) };
}

export async function run(g: Globals, o: AddOptions, io: IO): Promise<CommandResult> {
  const id = await withKitchen(g, (k) => k.add(o.args, o.at));
  print(io.stdout, `Added order ${id.toHexString()}`);
  return {};
}
