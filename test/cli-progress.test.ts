// Progress end to end (issue 28 point 3): a command writes to WAITER_PROGRESS, and within
// a heartbeat (+1 s) the order says it in the API, show, waiters and logs -f; its last
// word stays on the finished attempt; the file is gone after the attempt.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';
import { addOrders, background, byId, tempDir } from './support/recovery.js';

const k = useDb();
const HEARTBEAT_MS = 500;

// Writes its progress, says so, waits for its go file, writes its last word and ends.
const SCRIPT = [
  'echo "$WAITER_PROGRESS" > "$PROG_DIR/path"',
  'echo "42 decoding frame 1,204" > "$WAITER_PROGRESS"',
  ': > "$PROG_DIR/wrote"',
  'while [ ! -e "$PROG_DIR/go" ]; do sleep 0.05; done',
  'echo "100 done" > "$WAITER_PROGRESS"',
].join('\n');

test('progress written by a command shows in the API and show within a heartbeat + 1 s, in waiters and logs -f; its last word stays with the attempt', async () => {
  const dir = await tempDir('progress');
  const [id] = await addOrders(k.db, [['x']]);
  const hex = id!.toHexString();
  const s = await serve(k);
  const w = background(k, ['-n', 'cook', 'deliver', '--lease', '5s', '--heartbeat', `${HEARTBEAT_MS}ms`, '--shell', SCRIPT], { PROG_DIR: dir });
  await until(() => existsSync(join(dir, 'wrote')), 20_000, 'the command to write its progress');
  const logs = background(k, ['logs', '-f', '--json', hex]);
  const want = { percent: 42, text: 'decoding frame 1,204' };
  // The next heartbeat carries it: within one heartbeat (+1 s for the API's answer on a busy box).
  const got = await until(
    async () => {
      const r = await s.call(`/api/orders/${hex}`);
      return r.body?.progress?.percent === 42 && r.body;
    },
    HEARTBEAT_MS + 1000,
    'the API to say the progress',
  );
  expect(got).toMatchObject({ status: 'RUNNING', progress: want });
  const [show, out] = await Promise.all([waiter(k, ['show', hex]), s.call(`/api/orders/${hex}/output`)]);
  expect(show.stdout).toMatch(/^progress {2}42% decoding frame 1,204 \(as of \d{4}-.+Z\)$/m);
  expect(out.body).toMatchObject({ status: 'RUNNING', progress: want });
  // The registry's write every heartbeat carries it from memory: the same heartbeat as the
  // order's write, but a write of its own, which may land a moment after it (a CI run read between).
  const current = await until(
    async () => {
      const c = JSON.parse((await waiter(k, ['waiters', '--json'])).stdout).current as { progress?: unknown } | undefined;
      return c?.progress !== undefined && c;
    },
    HEARTBEAT_MS + 5000,
    'waiters to say the progress',
  );
  expect(current).toMatchObject({ order: hex, progress: want });

  await writeFile(join(dir, 'go'), '');
  expect((await w.proc).exitCode).toBe(0);
  const done = await byId(k.db, id!);
  // Its last word (read as the attempt ended), on the order and its attempt.
  expect(done).toMatchObject({ status: 'DONE', progress: { percent: 100, text: 'done' }, history: [{ result: 'DONE', progress: { percent: 100, text: 'done' } }] });
  const path = (await readFile(join(dir, 'path'), 'utf8')).trim();
  expect(path).toMatch(/\/progress-[0-9a-f]{24}-1$/);
  expect(existsSync(path)).toBe(false);

  // logs -f: a line when it changed (--json), then the end.
  expect((await logs.proc).exitCode).toBe(0);
  const lines = logs
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines.filter((l) => l.progress)).toEqual([{ progress: { order: hex, attempt: 1, ...want } }]);
  expect(lines.at(-1)).toMatchObject({ end: { order: hex, attempt: 1, result: 'DONE' } });
}, 60_000);
