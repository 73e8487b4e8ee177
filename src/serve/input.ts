// What the API accepts: request bodies and query strings parsed into typed values, or
// an HttpError (an InputError for a malformed order id: also 400) whose one-line message names the field. Pure: no I/O, nothing written.
import type { ObjectId } from 'mongodb';
import { BeyondHorizon, HORIZON_YEARS, duration, moment } from '../values.js';
import { WaiterError } from '../errors.js';
import { argvProblem } from '../limits.js';
import { MAX_PRIORITY, STATES, isState, orderId, type State } from '../order.js';
import { tooManyIds, type WaitAsked } from '../pipeline/wait.js';
import { RESETTABLE, type ResetRequest } from '../app/reset.js';
import type { AddMany } from '../app/add.js';
import type { StopRequest, StopTarget } from '../app/stop.js';
import { reasonProblem } from '../app/who.js';
import type { CancelRequest } from '../app/cancel.js';
import type { EditRequest } from '../app/edit.js';
import type { SteerRequest } from '../app/steer.js';
import { MAX_WHERE, whereOf, type Selection } from '../app/selection.js';
import { CANCELLABLE, EDITABLE, HOLDABLE } from '../order.js';

export type { ResetRequest } from '../app/reset.js';

export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 413 | 415 | 421 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const bad = (message: string) => new HttpError(400, message);

/** Orders one POST may submit, and rows one GET may return. */
export const MAX_SUBMIT = 10_000;
export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

export function parseJson(text: string): unknown {
  if (text.trim() === '') throw bad('the body is empty: send JSON');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw bad(`the body is not JSON: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * A write's body must say it is JSON. Browsers send a cross-site text/plain,
 * form or no-cors POST without asking the server first; application/json they may
 * send only after a CORS preflight, which this server never answers.
 */
export function jsonContentType(header: string | undefined): void {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, `Content-Type ${type === '' ? 'missing' : JSON.stringify(type)}: send the body as application/json (curl: -H 'Content-Type: application/json')`);
  }
}

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw bad(`${where}: unknown field '${key}' (allowed: ${allowed.join(', ')})`);
  }
}

/** POST /api/orders: {"arguments": [...], "at"?: time, "priority"?: int, "after"?: [ids], "afterAny"?: [ids]} or an array of them (1..MAX_SUBMIT). */
export function submission(body: unknown, now = new Date()): AddMany {
  const many = Array.isArray(body);
  const list = many ? body : [body];
  if (list.length === 0) throw bad('no orders: send {"arguments": [...]} or a non-empty array of them');
  if (list.length > MAX_SUBMIT) throw bad(`${list.length} orders in one request: at most ${MAX_SUBMIT}`);
  const due: Date[] = [];
  const priorities: number[] = [];
  const after: (WaitAsked | undefined)[] = [];
  const rows = list.map((item, i) => {
    const where = many ? `[${i}]` : 'body';
    if (!isObject(item)) throw bad(`${where}: expected {"arguments": [...]}, got ${typeOf(item)}`);
    onlyKeys(item, ['arguments', 'at', 'priority', 'after', 'afterAny'], where);
    after.push(afterOf(item, where));
    due.push(item.at === undefined ? now : at(item.at, `${where}.at`, now));
    const p = item.priority ?? 0;
    if (typeof p !== 'number' || !Number.isInteger(p) || Math.abs(p) > MAX_PRIORITY) {
      throw bad(`${where}.priority: expected a whole number from -${MAX_PRIORITY} to ${MAX_PRIORITY}, got ${JSON.stringify(p)}`);
    }
    priorities.push(p);
    const args = item.arguments;
    if (!Array.isArray(args)) throw bad(`${where}.arguments: expected an array of strings, got ${typeOf(args)}`);
    args.forEach((a, j) => {
      if (typeof a !== 'string') throw bad(`${where}.arguments[${j}]: expected a string, got ${typeOf(a)}`);
      if (a.includes('\0')) throw bad(`${where}.arguments[${j}]: contains a NUL character, which no program can receive`);
    });
    const tooLong = argvProblem(args as string[], (j) => `arguments[${j}]`);
    if (tooLong) throw bad(`${where}: ${tooLong}`);
    return args as string[];
  });
  return { rows, due, priority: priorities, after };
}

/** An order's `after` or `afterAny`: an array of order ids (pipelines, `waiter add --after`). */
function afterOf(item: Record<string, unknown>, where: string): WaitAsked | undefined {
  if (item.after !== undefined && item.afterAny !== undefined) throw bad(`${where}: give after or afterAny, not both`);
  const key = item.after !== undefined ? 'after' : item.afterAny !== undefined ? 'afterAny' : undefined;
  if (!key) return undefined;
  const ids = item[key];
  if (!Array.isArray(ids) || ids.length === 0) throw bad(`${where}.${key}: expected a non-empty array of order ids, got ${typeOf(ids)}`);
  const many = tooManyIds(`${where}.${key}`, ids.length);
  if (many) throw bad(many);
  return { after: ids.map((id, j) => orderId(typeof id === 'string' ? id : '', `order id for ${where}.${key}[${j}]`)), ...(key === 'afterAny' ? { any: true } : {}) };
}

/** `waiter add --at`'s times: "+30m", or an ISO time such as "2026-12-01T06:00:00Z". */
function at(value: unknown, where: string, now: Date): Date {
  if (typeof value !== 'string') throw bad(`${where}: expected a time such as "+30m" or "2026-12-01T06:00:00Z", got ${typeOf(value)}`);
  try {
    return moment('at', value, now);
  } catch (err) {
    if (err instanceof BeyondHorizon) throw bad(`${where}: ${JSON.stringify(value)} is more than ${HORIZON_YEARS} years ahead (the furthest "at" can be)`);
    throw bad(`${where}: ${JSON.stringify(value)} is not a time (try "+30m" or "2026-12-01T06:00:00Z")`);
  }
}

/**
 * POST /api/reset: {"status": ["ERROR","RUNNING"], "force": false, "olderThan": "2h", "ids"|"where"|"failedWith": as
 * cancel's, "dryRun": true}, each optional: `waiter reset`'s rules (a status or selection with none to reset: 400 from src/app/).
 */
export function resetRequest(body: unknown): ResetRequest {
  if (!isObject(body)) throw bad(`expected an object like {"status": ["ERROR"], "force": false}, got ${typeOf(body)}`);
  onlyKeys(body, ['status', 'force', 'olderThan', 'ids', 'where', 'failedWith', 'dryRun'], 'body');
  // ids, where, failedWith: cancel's selection (its status is reset's own, an array; absent, the default).
  const r: ResetRequest = { ...selectionFields(body), force: false };
  if (body.status !== undefined) {
    const list = typeof body.status === 'string' ? [body.status] : body.status;
    if (!Array.isArray(list) || list.length === 0) throw bad(`status: expected a non-empty array of ${RESETTABLE.join(', ')}, got ${typeOf(body.status)}`);
    r.statuses = (list as unknown[]).map((s, i) => {
      if (!RESETTABLE.includes(s as State)) throw bad(`status[${i}]: ${JSON.stringify(s)} is not one of ${RESETTABLE.join(', ')}`);
      return s as State;
    });
  }
  if (body.force !== undefined) {
    if (typeof body.force !== 'boolean') throw bad(`force: expected true or false, got ${typeOf(body.force)}`);
    r.force = body.force;
  }
  if (body.dryRun !== undefined) {
    if (typeof body.dryRun !== 'boolean') throw bad(`dryRun: expected true or false, got ${typeOf(body.dryRun)}`);
    if (body.dryRun) r.dryRun = true;
  }
  if (body.olderThan !== undefined) {
    if (typeof body.olderThan !== 'string' && typeof body.olderThan !== 'number') throw bad(`olderThan: expected a duration such as "2h", got ${typeOf(body.olderThan)}`);
    try {
      r.olderThanMs = duration('olderThan', body.olderThan);
    } catch (err) {
      throw bad(err instanceof WaiterError ? err.message.replace(/^--/, '') : String(err));
    }
  }
  return r;
}

/** The selection fields steering bodies share (cancel, hold, release, edit, reset). */
const SELECTION_KEYS = ['ids', 'status', 'where', 'failedWith'];

/**
 * A body's selection: "ids": [...], "status" (one of `statuses`; not read without them: reset's
 * status is its own), "where": ["name=value"] or {"name": "value"}, "failedWith": "...".
 * Nothing selected is the use case's 400 (src/app/selection.ts).
 */
function selectionFields(body: Record<string, unknown>, statuses?: readonly State[]): Selection {
  const r: Selection = {};
  // Given but empty is a 400, never read as not given: a reset would take every order.
  const empty = (key: string) => bad(`${key} is empty: name some orders, or leave "${key}" out`);
  if (body.ids !== undefined) {
    if (!Array.isArray(body.ids)) throw bad(`ids: expected an array of order ids, got ${typeOf(body.ids)}`);
    if (body.ids.length === 0) throw empty('ids');
    if (body.ids.length > 10_000) throw bad(`ids: at most 10,000 per request, got ${body.ids.length}`);
    r.ids = (body.ids as unknown[]).map((x, i) => {
      if (typeof x !== 'string') throw bad(`ids[${i}]: expected an order id, got ${typeOf(x)}`);
      return orderId(x);
    });
  }
  if (statuses && body.status !== undefined) {
    if (typeof body.status !== 'string' || !statuses.includes(body.status as State))
      throw bad(`status: expected one of ${statuses.join(', ')}, got ${JSON.stringify(body.status)}`);
    r.status = body.status as State;
  }
  if (body.where !== undefined) {
    const w = body.where;
    // {"name": "value"} becomes name=value, read back at the first "=": a name holding one would be split there.
    const eq = isObject(w) ? Object.keys(w).find((key) => key.includes('=')) : undefined;
    if (eq !== undefined) throw bad(`where: ${JSON.stringify(eq.slice(0, 80))}: a column name cannot contain "="`);
    const texts = Array.isArray(w) ? w : isObject(w) ? Object.entries(w).map(([k, v]) => (typeof v === 'string' ? `${k}=${v}` : v)) : null;
    if (!texts || texts.some((t) => typeof t !== 'string')) throw bad(`where: expected ["name=value", ...] or {"name": "value"}, got ${typeOf(w)}`);
    if (texts.length === 0) throw empty('where');
    if (texts.length > MAX_WHERE) throw bad(`where: ${texts.length} entries: at most ${MAX_WHERE}`);
    try {
      r.where = (texts as string[]).map((t, i) => whereOf(t, `where[${i}]`));
    } catch (err) {
      throw bad(err instanceof WaiterError ? err.message : String(err));
    }
  }
  if (body.failedWith !== undefined) {
    if (typeof body.failedWith !== 'string') throw bad(`failedWith: expected a string, got ${typeOf(body.failedWith)}`);
    // "" is in every error: it would select every failed order.
    if (body.failedWith === '') throw empty('failedWith');
    r.failedWith = body.failedWith;
  }
  return r;
}

/** "reason": a string, not empty nor only spaces (given, so never read as none); the cap is the use case's (src/app/). */
function steerReason(body: Record<string, unknown>): { reason?: string } {
  if (body.reason === undefined) return {};
  if (typeof body.reason !== 'string') throw bad(`reason: expected a string, got ${typeOf(body.reason)}`);
  if (body.reason.trim() === '') throw bad(EMPTY_REASON);
  return { reason: body.reason };
}

const EMPTY_REASON = 'reason is empty: say why, or leave "reason" out';

/**
 * POST /api/cancel: {"ids": [...], "status": "READY", "where": ["name=value"] or {"name": "value"},
 * "failedWith": "...", "dryRun": true, "reason": "...", "withDependants": true}, each optional:
 * `waiter cancel`'s rules (nothing selected: 400 from src/app/).
 */
export function cancelRequest(body: unknown, by: string): CancelRequest {
  return steerRequest(body, by, CANCELLABLE, ['withDependants']);
}

/** POST /api/hold: cancel's body without withDependants; status READY, WAITING or RUNNING. */
export function holdRequest(body: unknown, by: string): SteerRequest {
  return steerRequest(body, by, HOLDABLE);
}

/** POST /api/release: hold's body; status HELD only (ids of orders not HELD: 400 from src/app/). */
export function releaseRequest(body: unknown, by: string): SteerRequest {
  return steerRequest(body, by, ['HELD']);
}

/**
 * The body of a steering POST (cancel, hold, release, edit): a selection (selectionFields,
 * "status" one of `states`), "dryRun", "reason", the route's own `flags` (booleans) and
 * `keys` (the caller reads them: edit's priority and at).
 */
function steerRequest(body: unknown, by: string, states: readonly State[], flags: readonly 'withDependants'[] = [], keys: readonly string[] = []): CancelRequest {
  if (!isObject(body)) throw bad(`expected an object like {"ids": ["<order id>"]} or {"status": "${states[0]}"}, got ${typeOf(body)}`);
  onlyKeys(body, [...SELECTION_KEYS, 'dryRun', 'reason', ...flags, ...keys], 'body');
  const r: CancelRequest = { ...selectionFields(body, states), ...steerReason(body), by };
  for (const key of ['dryRun', ...flags] as const) {
    const v = body[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw bad(`${key}: expected true or false, got ${typeOf(v)}`);
    if (v) r[key] = true;
  }
  return r;
}

/**
 * POST /api/edit: the selection of /api/cancel (status: one of EDITABLE) and "priority": a whole
 * number, "at": a time ("+30m", an ISO time), at least one of them; "dryRun", "reason": `waiter edit`'s rules.
 */
export function editRequest(body: unknown, by: string, now = new Date()): EditRequest {
  if (!isObject(body)) throw bad(`expected an object like {"ids": ["<order id>"], "priority": 5}, got ${typeOf(body)}`);
  const r: EditRequest = steerRequest(body, by, EDITABLE, [], ['priority', 'at']);
  if (body.priority !== undefined) {
    const p = body.priority;
    if (typeof p !== 'number' || !Number.isInteger(p) || Math.abs(p) > MAX_PRIORITY)
      throw bad(`priority: expected a whole number from -${MAX_PRIORITY} to ${MAX_PRIORITY}, got ${JSON.stringify(p)}`);
    r.priority = p;
  }
  if (body.at !== undefined) r.at = at(body.at, 'at', now);
  if (r.priority === undefined && r.at === undefined) throw bad('give "priority" or "at" (or both)');
  return r;
}

export interface PageQuery {
  status?: State;
  after?: ObjectId;
  limit: number;
  newest: boolean;
}

/** GET /api/orders?status=&limit=&after=&order=asc|desc */
export function pageQuery(q: Record<string, string[]>): PageQuery {
  for (const [key, values] of Object.entries(q)) {
    if (!['status', 'limit', 'after', 'order'].includes(key)) throw bad(`unknown parameter '${key}' (allowed: status, limit, after, order)`);
    if (values.length > 1) throw bad(`parameter '${key}' given ${values.length} times`);
  }
  const one = (key: string) => q[key]?.[0];
  const p: PageQuery = { limit: DEFAULT_PAGE, newest: false };
  const status = one('status');
  if (status !== undefined && status !== '') {
    const s = status.toUpperCase();
    if (!isState(s)) throw bad(`status: ${JSON.stringify(status)} is not one of ${STATES.join(', ')}`);
    p.status = s;
  }
  const limit = one('limit');
  if (limit !== undefined) p.limit = limitOf(limit);
  const after = one('after');
  if (after !== undefined && after !== '') p.after = orderId(after, 'order id for after');
  const order = one('order');
  if (order !== undefined) {
    if (order !== 'asc' && order !== 'desc') throw bad(`order: ${JSON.stringify(order)} is not asc or desc`);
    p.newest = order === 'desc';
  }
  return p;
}

/** How many failed orders the page shows: GET /api/failed's default. */
export const PAGE_FAILED = 10;

/** GET /api/failed?limit= (default PAGE_FAILED, at most MAX_PAGE) */
export function failedQuery(q: Record<string, string[]>): { limit: number } {
  for (const key of Object.keys(q)) if (key !== 'limit') throw bad(`unknown parameter '${key}' (allowed: limit)`);
  return { limit: q.limit ? limitOf(q.limit[0]!) : PAGE_FAILED };
}

function limitOf(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_PAGE) throw bad(`limit: ${JSON.stringify(text)} is not a whole number from 1 to ${MAX_PAGE}`);
  return n;
}

/** GET /api/waiters?all=true */
export function waitersQuery(q: Record<string, string[]>): { all: boolean } {
  for (const key of Object.keys(q)) if (key !== 'all') throw bad(`unknown parameter '${key}' (allowed: all)`);
  const all = q.all?.[0];
  if (all === undefined || all === 'false' || all === '0') return { all: false };
  if (all === '' || all === 'true' || all === '1') return { all: true };
  throw bad(`all: ${JSON.stringify(all)} is not true or false`);
}

/** Routes that take no parameters refuse any, so a typo is not silently ignored. */
export function noQuery(q: Record<string, string[]>): void {
  const key = Object.keys(q)[0];
  if (key !== undefined) throw bad(`unknown parameter '${key}' (this route takes none)`);
}

/** POST /api/pause: {} or {"reason": "…"} (an empty body too). */
export function pauseRequest(body: unknown): { reason?: string } {
  if (!isObject(body)) throw bad(`expected an object like {"reason": "deploy"}, got ${typeOf(body)}`);
  onlyKeys(body, ['reason'], 'body');
  return reasonField(body);
}

/** POST /api/resume: {} (or an empty body). */
export function resumeRequest(body: unknown): void {
  if (!isObject(body)) throw bad(`expected {}, got ${typeOf(body)}`);
  onlyKeys(body, [], 'body');
}

/** POST /api/waiters/stop: exactly one of {"name": "…"}, {"host": "…"}, {"all": true}; "now"?: bool, "reason"?: text. */
export function stopRequest(body: unknown): Omit<StopRequest, 'by'> {
  if (!isObject(body)) throw bad(`expected an object like {"name": "gpu-1", "now": false}, got ${typeOf(body)}`);
  onlyKeys(body, ['name', 'host', 'all', 'now', 'reason'], 'body');
  const targets: StopTarget[] = [];
  for (const key of ['name', 'host'] as const) {
    const v = body[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.trim() === '') throw bad(`${key}: expected a non-empty string, got ${typeOf(v)}`);
    targets.push(key === 'name' ? { name: v } : { host: v });
  }
  if (body.all !== undefined && body.all !== true) throw bad(`all: expected true, got ${JSON.stringify(body.all)}`);
  if (body.all === true) targets.push({ all: true });
  if (targets.length !== 1) throw bad('give exactly one of "name", "host" or "all": true');
  if (body.now !== undefined && typeof body.now !== 'boolean') throw bad(`now: expected true or false, got ${typeOf(body.now)}`);
  return { target: targets[0]!, now: body.now === true, ...reasonField(body) };
}

function reasonField(body: Record<string, unknown>): { reason?: string } {
  if (body.reason === undefined) return {};
  if (typeof body.reason !== 'string') throw bad(`reason: expected a string, got ${typeOf(body.reason)}`);
  if (body.reason.trim() === '') throw bad(EMPTY_REASON);
  const problem = reasonProblem(body.reason.trim());
  if (problem) throw bad(`reason: ${problem}`);
  return { reason: body.reason.trim() };
}
