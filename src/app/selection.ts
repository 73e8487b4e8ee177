// What steering commands (cancel, hold, release; edit) share, for the CLI and the API
// alike: who asks, and the orders a selection names, checked before anything is written.
import type { Filter, ObjectId } from 'mongodb';
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import type { Order, State } from '../order.js';
import { selectionFilter, selects, type Selection, type Where } from '../kitchen/steer-plans.js';

export type { Selection, Where } from '../kitchen/steer-plans.js';

/** `name=value` or `3=value` (an argument's place, 1-based): one --where. */
export function whereOf(text: string, option = '--where'): Where {
  const i = text.indexOf('=');
  if (i <= 0) throw new UsageError(`${option} ${JSON.stringify(text)}: expected name=value (a named column) or 1=value (an argument's place, from 1)`);
  const name = text.slice(0, i);
  const value = text.slice(i + 1);
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    if (n < 1) throw new UsageError(`${option} ${name}=…: places count from 1`);
    return { column: n, value };
  }
  return { column: name, value };
}

/**
 * The longest --failed-with (the API's failedWith), in characters: a text to find in errors,
 * not a document; longer is a paste gone wrong. Refused like a NUL byte, which the server
 * cannot take in a pattern (its error came back as a 500).
 */
export const MAX_FAILED_WITH = 1_000;

/** What is wrong with a --failed-with text, or undefined. */
export function failedWithProblem(text: string): string | undefined {
  const n = [...text].length;
  if (n > MAX_FAILED_WITH) return `${n.toLocaleString('en-US')} characters long: at most ${MAX_FAILED_WITH.toLocaleString('en-US')}`;
  if (text.includes('\0')) return 'contains a NUL byte (\\0)';
  return undefined;
}

/** The states a finished order is in: steering leaves them alone. */
export const FINISHED: readonly State[] = ['DONE', 'ERROR', 'CANCELLED'];

/** Which orders an id may name: by default any not finished; release: only HELD ones (`word`: "held"). */
export interface IdsOf {
  states: readonly State[];
  word: string;
}

/**
 * The filter of a selection, after its refusals (a UsageError: exit 2, a 400; nothing written):
 * no id and no selection; a --failed-with too long or with a NUL byte; an id not in the
 * list; an id of a finished order (with `only`, of an order in none of its states); a
 * column no header names. One find by _id for ids, one read of the list's column names for
 * a named --where.
 */
export async function selectionOf(k: Kitchen, s: Selection, verb: string, only?: IdsOf): Promise<Filter<Order>> {
  if (!selects(s)) throw new UsageError(`${verb}: name the orders: ids, or --status, --where, --failed-with (never every order by default)`);
  const problem = s.failedWith === undefined ? undefined : failedWithProblem(s.failedWith);
  if (problem) throw new UsageError(`${verb}: --failed-with ${problem}: nothing changed`);
  if (s.ids?.length) {
    const states = await k.pipeline.statesOf(s.ids);
    const missing = s.ids.find((id) => !states.has(id.toHexString()));
    if (missing) throw new UsageError(`${verb}: no order ${missing.toHexString()} in the list: nothing changed`);
    const state = (id: ObjectId) => states.get(id.toHexString())!;
    const other = only && s.ids.find((id) => !only.states.includes(state(id)));
    if (other) throw new UsageError(`${verb}: order ${other.toHexString()} is ${state(other)}, not ${only.word}: nothing changed`);
    const done = s.ids.find((id) => FINISHED.includes(state(id)));
    if (done) throw new UsageError(`${verb}: order ${done.toHexString()} is ${state(done)} (finished): nothing changed`);
  }
  const named = s.where?.some((w) => typeof w.column === 'string');
  return selectionFilter(s, named ? await k.allColumns() : new Map());
}
