// What steering commands (cancel, hold, release, edit, reset) share, for the CLI and the API
// alike: who asks, and the orders a selection names, checked before anything is written.
import type { Filter, ObjectId } from 'mongodb';
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import type { Order, State } from '../order.js';
import { selectionFilter, selects, type Selection, type Where } from '../kitchen/steer-plans.js';

export type { Selection, Where } from '../kitchen/steer-plans.js';

/** The most --where a selection takes (the API's "where" entries): a handful of columns, not a list of values. */
export const MAX_WHERE = 100;
/** The longest --where name or value, in characters: a column's value to match, not a document. */
export const MAX_WHERE_VALUE = 4_096;

/** `name=value` or `3=value` (an argument's place, 1-based): one --where. */
export function whereOf(text: string, option = '--where'): Where {
  if (text.includes('\0')) throw new UsageError(`${option}: contains a NUL byte (\\0)`);
  const i = text.indexOf('=');
  if (i <= 0) throw new UsageError(`${option} ${JSON.stringify(text.slice(0, 80))}: expected name=value (a named column) or 1=value (an argument's place, from 1)`);
  const name = text.slice(0, i);
  const value = text.slice(i + 1);
  for (const [what, t] of [
    ['name', name],
    ['value', value],
  ] as const) {
    const n = [...t].length;
    if (n > MAX_WHERE_VALUE) throw new UsageError(`${option}: its ${what} is ${n.toLocaleString('en-US')} characters long: at most ${MAX_WHERE_VALUE.toLocaleString('en-US')}`);
  }
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    if (n < 1) throw new UsageError(`${option} ${name}=…: places count from 1`);
    return { column: n, value };
  }
  return { column: name, value };
}

/**
 * The part of a selection given but empty (ids [], where [], failedWith ""), named, or
 * undefined. Given and empty is refused, never read as not given: a destructive command
 * never falls back to its default (every order) because a value was empty.
 */
export function emptyPart(s: Selection): string | undefined {
  if (s.ids !== undefined && s.ids.length === 0) return 'the id list';
  if (s.where !== undefined && s.where.length === 0) return '--where';
  if (s.failedWith === '') return '--failed-with';
  return undefined;
}

/**
 * Whether `s` names orders (false: a plain reset, every order of its states), after the
 * refusals a UsageError: a part given but empty (emptyPart), more than MAX_WHERE --where.
 */
export function selectionGiven(s: Selection, verb: string): boolean {
  const empty = emptyPart(s);
  if (empty) throw new UsageError(`${verb}: ${empty} is empty: name some orders, or leave it out: nothing changed`);
  if ((s.where?.length ?? 0) > MAX_WHERE) throw new UsageError(`${verb}: ${s.where!.length} --where: at most ${MAX_WHERE}: nothing changed`);
  return selects(s);
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

/**
 * The states an id may name (selectionOf's `accepts`); without it any not finished. edit:
 * EDITABLE; reset: the states it resets (finished ones too); release: HELD, said "held".
 */
export interface Accepts {
  states: readonly State[];
  /** How a refusal names them ("held"); by default the states: "READY or WAITING". */
  word?: string;
}

/** `READY`, `READY or WAITING`, `READY, WAITING or HELD`. */
export function oneOf(states: readonly State[]): string {
  return states.length < 2 ? states.join('') : `${states.slice(0, -1).join(', ')} or ${states.at(-1)}`;
}

/**
 * The filter of a selection, after its refusals (a UsageError: exit 2, a 400; nothing written):
 * no id and no selection; a part given but empty (selectionGiven); a --failed-with too long
 * or with a NUL byte; an id not in the list; an id of a finished order (given `accepts`, of
 * a state not in it: edit refuses a RUNNING one, reset a READY one, release any not HELD);
 * a column no header names. One find by _id for ids, one read of the list's column names
 * for a named --where.
 */
export async function selectionOf(k: Kitchen, s: Selection, verb: string, accepts?: Accepts): Promise<Filter<Order>> {
  if (!selectionGiven(s, verb)) throw new UsageError(`${verb}: name the orders: ids, or --status, --where, --failed-with (never every order by default)`);
  const problem = s.failedWith === undefined ? undefined : failedWithProblem(s.failedWith);
  if (problem) throw new UsageError(`${verb}: --failed-with ${problem}: nothing changed`);
  if (s.ids?.length) {
    const states = await k.pipeline.statesOf(s.ids);
    const missing = s.ids.find((id) => !states.has(id.toHexString()));
    if (missing) throw new UsageError(`${verb}: no order ${missing.toHexString()} in the list: nothing changed`);
    const state = (id: ObjectId) => states.get(id.toHexString())!;
    const other = s.ids.find((id) => (accepts ? !accepts.states.includes(state(id)) : FINISHED.includes(state(id))));
    if (other) {
      const st = state(other);
      const finished = FINISHED.includes(st) ? ' (finished)' : '';
      // A held order is not to be run by another command's back door (reset): it is released.
      const held = st === 'HELD' ? ': release it first (waiter release)' : '';
      throw new UsageError(`${verb}: order ${other.toHexString()} is ${st}${finished}${accepts ? `, not ${accepts.word ?? oneOf(accepts.states)}` : ''}${held}: nothing changed`);
    }
  }
  const named = s.where?.some((w) => typeof w.column === 'string');
  return selectionFilter(s, named ? await k.allColumns() : new Map());
}
