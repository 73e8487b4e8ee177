// Load: CSV rows -> orders, all or nothing for a malformed file.
import { InputError, KitchenError } from './errors.js';
import type { InsertOptions, Inserted, Kitchen } from './kitchen.js';

export const LOAD_BATCH = 1000;

/**
 * Inserts the rows (validated first by csv.ts validateRows: a malformed file never
 * reaches the kitchen, so none of its orders is ever visible) as READY orders in
 * batches (Kitchen.insertOrders: one ordered insertMany per batch for a plain load,
 * and with --unique a find of the batch's keys before it, or where keys cannot be
 * looked up by index the list's keys read once: src/kitchen/unique.ts),
 * one insert in flight while the next batch is parsed. Every order of the load is due
 * `opts.due` (one time for all, so they are claimed in file order; default now).
 * Returns how many were loaded and, with --unique, how many were already in the list;
 * if the kitchen fails part-way, the error says how many of `expected` made it.
 */
export async function loadRows(
  kitchen: Pick<Kitchen, 'insertOrders'>,
  rows: AsyncIterable<string[]>,
  expected: number,
  opts: Omit<InsertOptions, 'due'> & { due?: Date } = {},
  batchSize = LOAD_BATCH,
): Promise<Inserted> {
  const due = opts.due ?? new Date();
  const done: Inserted = { inserted: 0, existing: 0 };
  let inFlight: Promise<void> = Promise.resolve();
  const send = async (batch: string[][]) => {
    await inFlight;
    inFlight = kitchen.insertOrders(batch, { ...opts, due }).then((r) => {
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
    // The input changed under load (src/commands/load.ts): its exit code, and how far it got.
    if (err instanceof InputError)
      throw new InputError(`${err.message}: loaded ${done.inserted.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} orders${already}; the rest not loaded`);
    throw new KitchenError(`loaded ${done.inserted} of ${expected} orders${already}, then: ${err instanceof Error ? err.message : String(err)}`);
  }
  return done;
}
