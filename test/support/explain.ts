// Kitchens (the product's own, src/kitchen.ts) opened on a test's database, for tests
// that call its queries directly: the explain tests (test/status-cost.test.ts,
// test/pipeline-cost.test.ts, ...), migration. Whether explain counts at all: gates.ts.
//
//   const { k, open } = useExplainKitchen();
//   test.runIf(counted.run)(counted.title('...'), async () => { const kitchen = await open(); ... });
import { afterEach, expect } from 'vitest';
import { Kitchen } from '../../src/kitchen.js';
import { useDb, type Kitchen as TestDb } from './kitchen.js';

/** Opens the Kitchen on a test's database (list `orders`), closed after the test. */
export function kitchens(): (k: { uri: string; name: string }) => Promise<Kitchen> {
  const opened: Kitchen[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((k) => k.close()));
  });
  return async (k) => {
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    opened.push(kitchen);
    return kitchen;
  };
}

/** A test database per test (useDb), and kitchens on it with their indexes made. */
export function useExplainKitchen(): { k: TestDb; open: () => Promise<Kitchen> } {
  const k = useDb();
  const on = kitchens();
  const open = async () => {
    const kitchen = await on(k);
    await kitchen.ensureIndexes();
    return kitchen;
  };
  return { k, open };
}

/** Every number called `name` anywhere in an explain answer (aggregate explains nest them per stage). */
export function every(doc: unknown, name: string): number[] {
  if (Array.isArray(doc)) return doc.flatMap((d) => every(d, name));
  if (doc === null || typeof doc !== 'object') return [];
  return Object.entries(doc).flatMap(([k, v]) => (k === name && typeof v === 'number' ? [v] : every(v, name)));
}

/** The most keys and documents any stage of the plan reports; fails if the server reports none. */
export function examined(explain: unknown): { keys: number; docs: number } {
  const keys = every(explain, 'totalKeysExamined');
  const docs = every(explain, 'totalDocsExamined');
  expect(keys.length, 'explain reports totalKeysExamined').toBeGreaterThan(0);
  expect(docs.length, 'explain reports totalDocsExamined').toBeGreaterThan(0);
  return { keys: Math.max(...keys), docs: Math.max(...docs) };
}
