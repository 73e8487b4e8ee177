// An order as users see it: what `show --json`, `extract --json` and the API print.
import type { Kitchen } from '../kitchen.js';
import { namedFields, type Order } from '../order.js';

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
