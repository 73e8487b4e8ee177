// waiter release <id…> | --status HELD | --where name=value | --failed-with TEXT: argv ->
// a ReleaseRequest -> src/app/release.ts -> one line with exact counts.
import type { Argv } from 'yargs';
import { releaseOrders, type ReleaseReport, type ReleaseRequest } from '../app/release.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { steerBuilder, steerLine, steerOptions, type Verb } from './steer.js';

export const describe = 'Release HELD orders: back to READY (or WAITING on what they waited for), where waiter hold found them';

const RELEASE: Verb = { verb: 'release', past: 'released', states: ['HELD'] };

export function builder(y: Argv) {
  return steerBuilder(y, RELEASE);
}

export type ReleaseOptions = ReleaseRequest;

export function options(argv: Record<string, unknown>): ReleaseOptions {
  return steerOptions(argv, RELEASE);
}

export async function run(g: Globals, o: ReleaseOptions, io: IO): Promise<CommandResult> {
  const r = await withKitchen(g, (k) => releaseOrders(k, o));
  print(io.stdout, releaseLine(r));
  return {};
}

/** `Released 3 orders (1 WAITING again on what it waited for; 2 not held, left alone)`. */
export function releaseLine(r: ReleaseReport): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const waiting = r.waiting ? `${n(r.waiting)} ${r.dryRun ? 'to WAITING' : 'WAITING again'} on what ${r.waiting === 1 ? 'it waits' : 'they wait'} for` : '';
  const notHeld = r.notHeld ? `${n(r.notHeld)} not held, left alone` : '';
  return steerLine({ would: 'release', did: 'Released' }, { ...r, changed: r.released }, [waiting, notHeld]);
}
