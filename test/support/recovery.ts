// Helpers shared by recovery*.test.ts, shutdown*.test.ts and outage*.test.ts: waiters
// running in the background, orders inserted as `waiter add` makes them, process checks.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { BSON, type Db, type ObjectId } from 'mongodb';
import { PRIO_RUNNING, type Order } from '../../src/order.js';
import { afterEach } from 'vitest';
import { until, waiter, type Where } from './cli.js';

/** The order document as the tests read it: the product's own type (src/order.ts). */
export type OrderDoc = Order;

export const orders = (db: Db) => db.collection<OrderDoc>('orders');

/** The whole list, byte for byte (EJSON keeps types), in _id order: compared before and after a refusal, which must change nothing. */
export const dumpOrders = async (db: Db): Promise<string> => BSON.EJSON.stringify(await orders(db).find({}).sort({ _id: 1 }).toArray());

/** An order RUNNING on a waiter that is not one of the test's processes: its lease ends at `due` (an older waiter renews only `expires`). */
export async function runningElsewhere(db: Db, due: Date, expires = due): Promise<ObjectId> {
  const now = Date.now();
  const r = await orders(db).insertOne({
    status: 'RUNNING',
    arguments: ['elsewhere'],
    attempts: 1,
    waiter: 'box-gone',
    claim: 'theirs',
    prio: PRIO_RUNNING,
    start: new Date(now - 1000),
    heartbeat: new Date(now),
    expires,
    due,
  } as never);
  return r.insertedId;
}

/** Inserts READY orders exactly as `waiter add` does; returns their ids in claim order. */
export async function addOrders(db: Db, rows: string[][]): Promise<ObjectId[]> {
  const ids: ObjectId[] = [];
  for (const args of rows) {
    const r = await orders(db).insertOne({ status: 'READY', arguments: args, attempts: 0, due: new Date(), prio: 0 } as unknown as OrderDoc);
    ids.push(r.insertedId);
  }
  return ids;
}

/**
 * The steering tests' list (cancel, hold/release): columns city and n (as `load --header`
 * names them); READY paris 1, 2, rome 3; READY again after a failure rome 4 ('boom (a.b)')
 * and oslo 5 ('boom (aXb)', what a --failed-with read as a pattern would match); ERROR oslo 6
 * ('boom (a.b)'); DONE paris 7. Returns the ids in that order.
 */
export async function selectionOrders(db: Db): Promise<ObjectId[]> {
  await db.collection('orders.columns').insertOne({ _id: 'c1', names: ['city', 'n'] } as never);
  const named = (city: string, n: string, extra: Partial<OrderDoc> = {}) =>
    ({ status: 'READY', arguments: [city, n], attempts: 0, due: new Date(), prio: 0, columns: 'c1', ...extra }) as unknown as OrderDoc;
  const { insertedIds } = await orders(db).insertMany([
    named('paris', '1'),
    named('paris', '2'),
    named('rome', '3'),
    named('rome', '4', { attempts: 1, error: 'boom (a.b)' }),
    named('oslo', '5', { attempts: 1, error: 'boom (aXb)' }),
    named('oslo', '6', { status: 'ERROR', attempts: 1, error: 'boom (a.b)' } as never),
    named('paris', '7', { status: 'DONE', attempts: 1 } as never),
  ]);
  return Object.values(insertedIds);
}

export const byId = async (db: Db, id: ObjectId) => (await orders(db).findOne({ _id: id }))!;

/** A waiter running in the background, with its output collected as it comes. */
export interface Background {
  proc: ResultPromise;
  pid: number;
  stdout(): string;
  stderr(): string;
}

const started: ResultPromise[] = [];
const groups: number[] = [];

/** Starts `waiter <args>` without waiting for it; killed after the test if still running. */
export function background(k: Where, args: string[], env: Record<string, string> = {}): Background {
  // No SIGKILL from execa 5 s after a test's proc.kill('SIGTERM'): how long the waiter
  // takes to stop is what the signal tests look at (a --grace of 3 s plus recording
  // came within ~0.3 s of it on a loaded machine, and the waiter died of SIGKILL).
  const proc = waiter(k, args, { env, forceKillAfterDelay: false });
  started.push(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { proc, pid: proc.pid!, stdout: () => out, stderr: () => err };
}

/** Process group ids (child pids) to SIGKILL after the test, whatever happened. */
export function killAfterTest(pgid: number): void {
  groups.push(pgid);
}

/** A temporary directory, removed after the test. */
export async function tempDir(label: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `waiter-${label}-`));
  dirs.push(d);
  return d;
}
const dirs: string[] = [];

afterEach(async () => {
  for (const p of started.splice(0)) p.kill('SIGKILL');
  for (const g of groups.splice(0)) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/**
 * True while the process exists and is not a zombie. (The test machine's init may
 * never reap orphans, so a killed grandchild can linger as a zombie: dead all the same.)
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return existsSync(`/proc/${pid}`);
  }
}

/** Waits for a file holding a pid (written atomically by the fixture) and returns the pid. */
export async function pidFrom(file: string, what = file): Promise<number> {
  return until(
    async () => {
      if (!existsSync(file)) return undefined;
      const n = Number((await readFile(file, 'utf8')).trim().split(/\s+/)[0]);
      return Number.isInteger(n) && n > 0 ? n : undefined;
    },
    30_000,
    what,
  );
}

/** Lines of a file, [] if it does not exist yet. */
export async function lines(file: string): Promise<string[]> {
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean);
}

/** `waiter status --json`, parsed. */
export async function statusJson(k: Where): Promise<Record<string, number>> {
  const r = await waiter(k, ['status', '--json']);
  if (r.exitCode !== 0) throw new Error(`status --json exited ${r.exitCode}: ${String(r.stderr)}`);
  return JSON.parse(String(r.stdout)) as Record<string, number>;
}

/** Short lease and heartbeat so takeovers happen within a test. */
export const FAST = ['--lease', '2s', '--heartbeat', '300ms'];
