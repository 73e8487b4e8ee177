// GET /api/orders/:id/files: an order's result files (deliver --collect), every attempt;
// GET /api/orders/:id/files/<path>[?attempt=n]: one file's content, streamed from GridFS
// (the newest attempt's by default), always as a download (never rendered by the browser).
// Token rules are the app's (reads).
import { Readable } from 'node:stream';
import type { Hono } from 'hono';
import type { Kitchen } from '../kitchen.js';
import { orderId } from '../order.js';
import { fileReport } from '../kitchen/files.js';
import { HttpError } from './input.js';

export function filesRoute(app: Hono, k: Kitchen, list: string): void {
  const orderOf = async (raw: string) => {
    const id = orderId(raw);
    const order = await k.guard('find the order', () => k.order(id));
    if (!order) throw new HttpError(404, `no order ${id.toHexString()} in list '${list}'`);
    return id;
  };

  app.get('/api/orders/:id/files', async (c) => {
    if (Object.keys(c.req.queries()).length) throw new HttpError(400, 'this route takes no query parameters');
    const id = await orderOf(c.req.param('id'));
    const files = await k.guard('list the files', () => k.files.of([id]));
    return c.json({
      order: id.toHexString(),
      files: files.map(fileReport),
    });
  });

  app.get('/api/orders/:id/files/*', async (c) => {
    const q = c.req.queries();
    for (const key of Object.keys(q)) if (key !== 'attempt') throw new HttpError(400, `unknown query parameter '${key}' (attempt)`);
    const a = c.req.query('attempt');
    if (a !== undefined && !/^[1-9]\d{0,8}$/.test(a)) throw new HttpError(400, `attempt: '${a.slice(0, 40)}' is not a whole number ≥ 1`);
    const id = await orderOf(c.req.param('id'));
    const raw = new URL(c.req.url).pathname.split('/files/').slice(1).join('/files/');
    let path: string;
    try {
      path = raw.split('/').map(decodeURIComponent).join('/');
    } catch {
      throw new HttpError(400, 'the file path is not valid percent-encoding');
    }
    const f = await k.guard('find the file', () => k.files.one(id, path, a === undefined ? undefined : Number(a)));
    if (!f) throw new HttpError(404, `order ${id.toHexString()} has no file ${JSON.stringify(path)}${a ? ` of attempt ${a}` : ''}`);
    const name = path.split('/').at(-1) ?? 'file';
    return c.body(Readable.toWeb(k.files.open(f)) as ReadableStream, 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(f.length),
      'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
      'X-Waiter-Attempt': String(f.metadata.attempt),
    });
  });
}
