// docs/watching.md's `status --finish-by` and `status --top` (test/examples.test.ts): real
// `status` calls on a list whose pace and cost are written into the kitchen
// (test/support/sizing-list.ts: no job runs, so the figures are the same every time).
import type { ExampleContext } from './example-tour.js';
import { sizingList } from './sizing-list.js';

export async function sizing(x: ExampleContext) {
  const list = 'sizing';
  await sizingList(x.client.db(x.where.name), list);
  const by = await x.cli(list, ['status', '--finish-by', '1h']);
  x.runs.set('finish-by', ['$ waiter status --finish-by 1h', '…', ...by.filter((l) => /^(ETA|finish by) /.test(l))]);
  const top = await x.cli(list, ['status', '--top', '2']);
  x.runs.set('status-top', ['$ waiter status --top 2', '…', ...top.slice(top.findIndex((l) => l.startsWith('cpu used')))]);
}
