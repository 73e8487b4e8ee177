// Load: CSV rows -> orders, all or nothing for a malformed file.
import { KitchenError } from './errors.js';
import type { Kitchen } from './kitchen.js';

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
  let loaded = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const send = async (batch: string[][]) => {
    await inFlight;
    inFlight = kitchen.insert(batch, due).then(() => {
      loaded += batch.length;
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
    if (loaded === 0) throw err;
    throw new KitchenError(`loaded ${loaded} of ${expected} orders, then: ${err instanceof Error ? err.message : String(err)}`);
  }
  return loaded;
}
