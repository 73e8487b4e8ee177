// Kitchens (the product's own, src/kitchen.ts) opened on a test's database, for tests
// that call its queries directly: the explain tests (test/status-cost.test.ts,
// test/pipeline-cost.test.ts, ...), migration. Whether explain counts at all: gates.ts.
//
//   const { k, open } = useExplainKitchen();
//   test.runIf(counted.run)(counted.title('...'), async () => { const kitchen = await open(); ... });
import { afterEach } from 'vitest';
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
