// GET /api/orders/:id/output?after=<cursor>[&attempt=n]: an order's live output
// (src/output/), as `waiter logs --json` reads it, for the API and the page. Token
// rules are the app's (a read). The cursor is a byte position in the attempt's output:
// pass the answer's `next` back as `after` to get only what came since.
import type { Hono } from 'hono';
import type { Kitchen } from '../kitchen.js';
import { orderId } from '../order.js';
import { attemptEnd, readAfter } from '../output/reader.js';
import { HttpError } from './input.js';

export function outputRoute(app: Hono, k: Kitchen, list: string): void {
  app.get('/api/orders/:id/output', async (c) => {
    const q = c.req.queries();
    for (const key of Object.keys(q)) if (key !== 'after' && key !== 'attempt') throw new HttpError(400, `unknown query parameter '${key}' (after, attempt)`);
    const after = whole(c.req.query('after'), 'after', 0) ?? 0;
    const asked = whole(c.req.query('attempt'), 'attempt', 1);
    const id = orderId(c.req.param('id'));
    const order = await k.guard('find the order', () => k.order(id));
    if (!order) throw new HttpError(404, `no order ${id.toHexString()} in list '${list}'`);
    const attempt = asked ?? order.attempts ?? 0;
    const pieces = attempt > 0 ? await k.guard('read the output', () => readAfter(k.outputs, id, attempt, after)) : [];
    const end = attempt > 0 ? attemptEnd(order, attempt) : null;
    return c.json({
      order: id.toHexString(),
      attempt,
      status: order.status,
      // null while the attempt runs (or before the first): keep asking with `next`.
      ended: end,
      // While that attempt runs: its command's progress as of its last heartbeat (WAITER_PROGRESS), or null.
      progress: end === null && order.status === 'RUNNING' && order.attempts === attempt ? (order.progress ?? null) : null,
      pieces: pieces.map((p) => ('dropped' in p ? p : { stream: p.stream === 'out' ? 'stdout' : 'stderr', text: p.data.toString('utf8'), from: p.from, to: p.to, at: p.at })),
      next: pieces.at(-1)?.to ?? after,
    });
  });
}

function whole(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new HttpError(400, `${name}: '${v.slice(0, 40)}' is not a whole number ≥ ${min}`);
  return n;
}
