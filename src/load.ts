// Load: CSV rows -> orders, all or nothing for a malformed file.
import { KitchenError } from './errors.js';
import type { InsertOptions, Inserted, Kitchen } from './kitchen.js';

export const LOAD_BATCH = 1000;

/**
 * Inserts the rows (validated first by csv.ts validateRows: a malformed file never
 * reaches the kitchen, so none of its orders is ever visible) as READY orders in batches, one insert in
 * flight while the next batch is parsed. Returns how many were loaded; if the kitchen
 * fails part-way, the error says how many of `expected` made it. Every order of the
 * load is due `due` (one time for all, so they are claimed in file order).
 */
export async function insertRows(
  kitchen: Pick<Kitchen, 'insert'>,
  rows: AsyncIterable<string[]>,
  expected: number,
  { due = new Date(), batchSize = LOAD_BATCH }: { due?: Date; batchSize?: number } = {},
): Promise<number> {
  return (await loadRows(kitchen, rows, expected, { due }, batchSize)).inserted;
}

/**
 * insertRows with column names and/or --unique (Kitchen.insertOrders): also counts the
 * rows that were already in the list. Without them it is insertRows (Kitchen.insert).
 */
export async function loadRows(
  kitchen: Pick<Kitchen, 'insert'> & Partial<Pick<Kitchen, 'insertOrders'>>,
  rows: AsyncIterable<string[]>,
  expected: number,
  opts: InsertOptions,
  batchSize = LOAD_BATCH,
): Promise<Inserted> {
  const plain = !opts.columns && !opts.unique;
  const insertOrders = kitchen.insertOrders?.bind(kitchen);
  if (!plain && !insertOrders) throw new Error('loadRows: columns or unique need kitchen.insertOrders');
  const due = opts.due ?? new Date();
  const done: Inserted = { inserted: 0, existing: 0 };
  let inFlight: Promise<void> = Promise.resolve();
  const send = async (batch: string[][]) => {
    await inFlight;
    // Once rows were already there (a repeated load), expect more: go unordered at once.
    const ordered = done.existing === 0;
    inFlight = (plain ? kitchen.insert(batch, due).then(() => ({ inserted: batch.length, existing: 0 })) : insertOrders!(batch, { ...opts, due, ordered })).then((r) => {
      done.inserted += r.inserted;
      done.existing += r.existing;
    });
    // It may fail while the next batch is read, before anyone awaits it: mark it
    // handled now (awaiting it later still throws), or Node ends the process.
    inFlight.catch(() => undefined);
  };
  try {
    let batch: string[][] = [];
    for await (const row of rows) {
      batch.push(row);
      if (batch.length >= batchSize) {
        await send(batch);
        batch = [];
      }
    }
    await send(batch);
    await inFlight;
  } catch (err) {
    await inFlight.catch(() => undefined);
    if (done.inserted + done.existing === 0) throw err;
    const already = done.existing ? ` (${done.existing} already there)` : '';
    throw new KitchenError(`loaded ${done.inserted} of ${expected} orders${already}, then: ${err instanceof Error ? err.message : String(err)}`);
  }
  return done;
}
