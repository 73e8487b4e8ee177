import type { Argv } from 'yargs';
import { resume } from '../app/pause.js';
import { counted, printable } from '../words.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Resume a paused list: its waiters claim again within one heartbeat';

export function builder(y: Argv) {
  return y;
}

export async function run(g: Globals, io: IO): Promise<CommandResult> {
  const r = await withKitchen(g, (k) => resume(k));
  print(
    io.stdout,
    printable(
      r.was
        ? `Resumed the list (paused since ${r.was.at} by ${r.was.by}): ${counted(r.waiters, 'live waiter')} claim again within one heartbeat`
        : 'The list is not paused: nothing changed',
    ),
  );
  return {};
}
