import type { Argv } from 'yargs';
import { stopWaiters, type StopRequest, type StopTarget } from '../app/stop.js';
import { cliUser } from '../app/who.js';
import { UsageError } from '../errors.js';
import { counted, printable } from '../words.js';
import { reasonOf } from './pause.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Ask live waiters to stop (one by its --name, those of a host, or all): each stops claiming, finishes its running orders and exits 0';

export function builder(y: Argv) {
  return y
    .positional('waiter', { type: 'string', describe: "The waiter's --name (waiter waiters lists them)" })
    .option('name', { alias: 'n', type: 'string', describe: 'The same: the waiter named so' })
    .option('host', { type: 'string', describe: 'Every live waiter on this host' })
    .option('all', { type: 'boolean', describe: 'Every live waiter of the list' })
    .option('now', { type: 'boolean', describe: 'Interrupt their running orders at once (back READY) instead of letting them finish' })
    .option('reason', { type: 'string', describe: 'Why, kept in the registry with who asked' });
}

export type StopOptions = Omit<StopRequest, 'by'>;

export function options(argv: Record<string, unknown>): StopOptions {
  const name = [argv.waiter, argv.name].filter((v) => v !== undefined).map(String);
  if (name.length === 2 && name[0] !== name[1]) throw new UsageError(`stop: two names (${name[0]} and -n ${name[1]}): give one`);
  const targets: StopTarget[] = [];
  if (name[0] !== undefined) targets.push({ name: nonEmpty('name', name[0]) });
  if (argv.host !== undefined) targets.push({ host: nonEmpty('--host', String(argv.host)) });
  if (argv.all) targets.push({ all: true });
  if (targets.length === 0) throw new UsageError('stop: name a waiter (waiter stop <name>), --host <host> or --all');
  if (targets.length > 1) throw new UsageError('stop: give one of <name>, --host or --all');
  return { target: targets[0]!, now: Boolean(argv.now), ...reasonOf(argv) };
}

function nonEmpty(what: string, v: string): string {
  if (v.trim() === '') throw new UsageError(`stop: ${what} is empty`);
  return v;
}

export async function run(g: Globals, o: StopOptions, io: IO): Promise<CommandResult> {
  const { asked } = await withKitchen(g, (k) => stopWaiters(k, { ...o, by: cliUser(io.env) }));
  const what = 'name' in o.target ? ` (${o.target.name})` : 'host' in o.target ? ` on ${o.target.host}` : '';
  const how = o.now ? 'interrupt their running orders (back READY) and exit' : 'finish their running orders and exit';
  print(io.stdout, printable(`Asked ${counted(asked, 'waiter')}${what} to stop: within one heartbeat they stop claiming, ${how}`));
  return {};
}
