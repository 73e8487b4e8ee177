// Load: CSV rows -> orders, all or nothing.
import { randomUUID } from 'node:crypto';
import type { Kitchen } from './kitchen.js';

export const LOAD_BATCH = 1000;

/**
 * Stages rows as invisible LOADING orders in batches (one insert in flight while the
 * next batch is parsed), then publishes them all as READY. If reading fails (a
 * malformed file) or the kitchen fails, the staged orders are deleted: no order of a
 * failed load is ever visible to a waiter. Returns how many orders were loaded.
 */
export async function loadRows(kitchen: Kitchen, rows: AsyncIterable<string[]>, batchSize = LOAD_BATCH): Promise<number> {
  const token = randomUUID();
  let inFlight: Promise<void> = Promise.resolve();
  try {
    let batch: string[][] = [];
    for await (const row of rows) {
      batch.push(row);
      if (batch.length >= batchSize) {
        await inFlight;
        inFlight = kitchen.stage(batch, token);
        batch = [];
      }
    }
    await inFlight;
    await kitchen.stage(batch, token);
  } catch (err) {
    await inFlight.catch(() => undefined);
    await kitchen.discard(token).catch(() => undefined);
    throw err;
  }
  return kitchen.publish(token);
}
