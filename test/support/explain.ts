// The explain tests' set-up (test/status-cost.test.ts, test/pipeline-cost.test.ts): a
// test database per test (useDb) and kitchens opened on its list `orders` with their
// indexes made, all closed after the file. Whether explain counts at all: gates.ts.
//
//   const { k, open } = useExplainKitchen();
//   test.runIf(counted.run)(counted.title('...'), async () => { const kitchen = await open(); ... });
import { afterAll } from 'vitest';
import { Kitchen } from '../../src/kitchen.js';
import { useDb, type Kitchen as TestDb } from './kitchen.js';

export function useExplainKitchen(): { k: TestDb; open: () => Promise<Kitchen> } {
  const k = useDb();
  const opened: Kitchen[] = [];
  afterAll(async () => {
    for (const o of opened) await o.close();
  });
  const open = async () => {
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    opened.push(kitchen);
    await kitchen.ensureIndexes();
    return kitchen;
  };
  return { k, open };
}
