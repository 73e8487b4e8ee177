import type { Argv } from 'yargs';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Add one READY order with these arguments (use -- before arguments that start with -)';

export function builder(y: Argv) {
  return y.positional('args', { type: 'string', array: true, describe: 'The order\'s arguments' });
}

export interface AddOptions {
  args: string[];
}

export function options(argv: Record<string, unknown>, rest: string[]): AddOptions {
  const args = [...((argv.args as unknown[] | undefined) ?? []), ...rest].map(String);
  return { args };
}

export async function run(g: Globals, o: AddOptions, io: IO): Promise<CommandResult> {
  const id = await withKitchen(g, (k) => k.add(o.args));
  print(io.stdout, `Added order ${id.toHexString()}`);
  return {};
}
