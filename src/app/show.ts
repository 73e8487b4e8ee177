// An order as users see it: what `show --json`, `extract --json` and the API print;
// and show: one order with its column names, result files and what it waits for.
import type { ObjectId } from 'mongodb';
import type { Kitchen } from '../kitchen.js';
import { namedFields, type Order } from '../order.js';
import type { StoredFile } from '../kitchen/files.js';
import { waitReport, type WaitReport } from '../pipeline/show.js';

/** One order and its column names (null without); null when it is not in the list. GET /api/orders/:id. */
export async function findOrder(k: Kitchen, id: ObjectId): Promise<{ order: Order; names: string[] | null } | null> {
  const order = await k.order(id);
  if (!order) return null;
  return { order, names: order.columns ? await k.columns(order.columns) : null };
}

export interface ShownOrder {
  order: Order;
  names: string[] | null;
  /** Its result files, every attempt's. */
  files: StoredFile[];
  /** What it waits for (or waited for), when it is (was) WAITING. */
  waits?: WaitReport;
}

/** waiter show: the order, its names, its files and what it waits for; null when it is not in the list. */
export async function showOrder(k: Kitchen, id: ObjectId): Promise<ShownOrder | null> {
  const found = await findOrder(k, id);
  if (!found) return null;
  const files = await k.files.of([id]);
  const waits = await waitReport(k, found.order);
  return { ...found, files, ...(waits ? { waits } : {}) };
}

/** An order as users see it: no claim token (internal to its waiter), `fields` {name: value} instead of the columns id. */
export type OrderReport = Omit<Order, 'claim' | 'columns' | 'prio'> & { fields?: Record<string, string> };

/** What `show --json`, `extract --json` and the API print for an order; `names`: its columns document's names, if any. */
export function orderReport(o: Order, names?: readonly string[] | null): OrderReport {
  // claim and prio are internal (the fence, the claim's sort key); `priority` is the user's;
  // wait and hold are the pipeline's index keys (`after` and `barrier` say the same).
  const { claim: _claim, columns: _columns, prio: _prio, wait: _wait, hold: _hold, ...rest } = o;
  return names ? { ...rest, fields: namedFields(names, o.arguments ?? []) } : rest;
}

/** orderReport() of many orders, with one read of the list's column names (a handful of documents) when any has some. */
export async function orderReports(k: Kitchen, orders: readonly Order[]): Promise<OrderReport[]> {
  const all = orders.some((o) => o.columns) ? await k.allColumns() : new Map<string, string[]>();
  return orders.map((o) => orderReport(o, o.columns ? all.get(o.columns) : undefined));
}
