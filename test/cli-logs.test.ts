// waiter logs and deliver's live output, through the real CLI against the real server:
// -f from another process sees lines while the order runs, then how it ended; a kill -9'd
// waiter's output is there up to its last batch; --keep-output keeps head + tail.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { FAST, addOrders, alive, background, byId, killAfterTest, pidFrom, tempDir } from './support/recovery.js';

const k = useDb();
const TALK = join(FIXTURES, 'talk.sh');
const output = () => k.db.collection('orders.output');

describe('waiter logs', () => {
  test('-f from another process shows lines while the order runs, then says how it ended (exit 1: it failed)', async () => {
    const dir = await tempDir('follow');
    const [id] = await addOrders(k.db, [['x', '3']]);
    const hex = id!.toHexString();
    // Started before any waiter: it waits for the order to be taken.
    const f = background(k, ['logs', '-f', hex]);
    const w = background(k, ['deliver', '--once', TALK], { TALK_DIR: dir });
    killAfterTest(await pidFrom(join(dir, `${hex}.pid`), 'the command to start'));
    // The command is still running (it waits for the go file): what it printed is already here.
    await until(() => f.stdout().includes('hello x\nwarning x\n'), 20_000, 'logs -f to show the first lines');
    expect((await byId(k.db, id!)).status).toBe('RUNNING');
    expect(f.stdout()).not.toContain('bye');
    await writeFile(join(dir, `${hex}.go`), '');
    const r = await f.proc;
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('hello x\nwarning x\nbye x'); // (execa strips the last newline)
    expect(r.stderr).toContain(`waiter: ${hex} attempt 1 ended: ERROR: exit code 3`);
    expect((await w.proc).exitCode).toBe(1);

    // Afterwards, from anywhere: the same output, one stream, or NDJSON.
    const all = await waiter(k, ['logs', hex]);
    expect([all.exitCode, all.stdout]).toEqual([0, 'hello x\nwarning x\nbye x']);
    expect((await waiter(k, ['logs', hex, '--stream', 'stderr'])).stdout).toBe('warning x');
    const json = (await waiter(k, ['logs', hex, '--json', '-f'])).stdout.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.slice(0, 3).map((j) => [j.stream, j.text])).toEqual([
      ['stdout', 'hello x\n'],
      ['stderr', 'warning x\n'],
      ['stdout', 'bye x\n'],
    ]);
    expect(json[3]).toMatchObject({ end: { order: hex, attempt: 1, result: 'ERROR', exitCode: 3 } });
  });

  test("a kill -9'd waiter's output is kept up to its last batch; the next attempt has its own, and --attempt reads either", async () => {
    const dir = await tempDir('kill9');
    const [id] = await addOrders(k.db, [['first']]);
    const hex = id!.toHexString();
    const a = background(k, ['deliver', ...FAST, TALK], { TALK_DIR: dir });
    const child = await pidFrom(join(dir, `${hex}.pid`), 'the command to start');
    killAfterTest(child);
    // Both lines written ('hello first\n' and 'warning first\n' are 26 bytes; they may come in one batch or two).
    await until(async () => (await output().countDocuments({ order: id, attempt: 1, to: 26 })) > 0, 20_000, 'the batches of both lines');
    a.proc.kill('SIGKILL');
    await a.proc;
    process.kill(-child, 'SIGKILL');
    await until(() => !alive(child), 10_000, 'the command to die');

    const lost = await waiter(k, ['logs', hex]);
    expect(lost.stdout).toBe('hello first\nwarning first');
    await writeFile(join(dir, `${hex}.go`), ''); // the next attempt runs to its end
    // It waits for the lost attempt's lease to run out, then takes the order over.
    const b = await waiter(k, ['deliver', ...FAST, '--wait', '--poll', '200ms', '--max', '1', TALK], { env: { TALK_DIR: dir } });
    expect(b.exitCode).toBe(0);
    expect(await byId(k.db, id!)).toMatchObject({ status: 'DONE', attempts: 2 });
    expect((await waiter(k, ['logs', hex])).stdout).toBe('hello first\nwarning first\nbye first');
    expect((await waiter(k, ['logs', hex, '--attempt', '1'])).stdout).toBe('hello first\nwarning first');
    const f = await waiter(k, ['logs', hex, '--attempt', '1', '-f']);
    expect(f.stderr).toMatch(new RegExp(`attempt 1 ended: LOST: lost: no heartbeat`));
  });

  test('--keep-output: the first half and the last half are kept, what was dropped is said; 0 keeps only the tail on the order', async () => {
    const [big, small] = await addOrders(k.db, [['big'], ['small']]);
    const r = await waiter(k, ['deliver', '--keep-output', '10KiB', '--shell', '[ "$1" = big ] && seq 1 30000; echo end']);
    expect(r.exitCode).toBe(0);
    const printed = Buffer.from(`${Array.from({ length: 30000 }, (_, i) => i + 1).join('\n')}\nend\n`);
    const json = (await waiter(k, ['logs', big!.toHexString(), '--json'])).stdout.split('\n').map((l) => JSON.parse(l) as { text?: string; dropped?: number });
    const text = json.map((j) => j.text ?? '').join('');
    // The head exactly; the tail a ring of 8 slots of 640 bytes: at least 7 of them kept.
    expect(text.length).toBeLessThanOrEqual(10 * 1024);
    expect(text.length).toBeGreaterThanOrEqual(10 * 1024 - 640);
    expect(text.slice(0, 5120)).toBe(printed.subarray(0, 5120).toString());
    const kept = text.length - 5120;
    expect(text.slice(5120)).toBe(printed.subarray(printed.length - kept).toString());
    expect(json.filter((j) => j.dropped !== undefined)).toEqual([{ dropped: printed.length - text.length, from: 5120, to: printed.length - kept }]);
    const plain = await waiter(k, ['logs', big!.toHexString()]);
    expect(plain.stdout).toContain(`\n[waiter: `);
    expect((await waiter(k, ['logs', small!.toHexString()])).stdout).toBe('end');

    const [zero] = await addOrders(k.db, [['z']]);
    await waiter(k, ['deliver', '--keep-output', '0', '--shell', 'echo quiet $1']);
    expect(await output().countDocuments({ order: zero })).toBe(0);
    const tail = await waiter(k, ['logs', zero!.toHexString()]);
    expect([tail.stdout, tail.stderr]).toEqual(['quiet z', `waiter: no live output kept for ${zero!.toHexString()} attempt 1; its last 4 KiB:`]);
  });

  test('bad input: an unknown order exits 4, a bad --keep-output or --stream 2, nothing written', async () => {
    const none = await waiter(k, ['logs', '0123456789abcdef01234567']);
    expect([none.exitCode, none.stderr]).toEqual([4, "waiter: logs: no order 0123456789abcdef01234567 in list 'orders'"]);
    expect((await waiter(k, ['logs', 'nope'])).exitCode).toBe(4);
    const s = await waiter(k, ['logs', '0123456789abcdef01234567', '--stream', 'both']);
    expect([s.exitCode, s.stderr]).toEqual([2, "waiter: --stream: 'both' is not stdout or stderr"]);
    await addOrders(k.db, [['a']]);
    const bad = await waiter(k, ['deliver', '--keep-output', 'lots', 'true']);
    expect([bad.exitCode, bad.stderr]).toEqual([2, "waiter: --keep-output: 'lots' is not a size (try 0, 512KiB, 1MiB, 2GiB)"]);
    const every = await waiter(k, ['deliver', '--output-every', '0', 'true']);
    expect([every.exitCode, every.stderr]).toEqual([2, "waiter: --output-every: '0' is not a duration (try 30s, 5m, 2h)"]);
    expect(await k.db.collection('orders').countDocuments({ status: 'READY' })).toBe(1);
  });

  test('clean removes the output of the orders it removes, and only theirs', async () => {
    const [ok, bad] = await addOrders(k.db, [['0'], ['1']]);
    await waiter(k, ['deliver', '--shell', 'echo out $1; exit $1']);
    expect(await output().countDocuments({})).toBe(2);
    expect((await waiter(k, ['clean', '--status', 'ERROR'])).stdout).toBe('Cleaned 1 order.');
    expect(await output().distinct('order')).toEqual([ok]);
    void bad;
    await waiter(k, ['clean']);
    expect(await output().countDocuments({})).toBe(0);
  });

  test('clean --outputs frees output and keeps the orders: by state, by age of the finish, or all', async () => {
    const [a, b, c] = await addOrders(k.db, [['0'], ['0'], ['1']]);
    await waiter(k, ['deliver', '--shell', 'echo out $1; exit $1']);
    expect(await output().countDocuments({})).toBe(3);
    const err = await waiter(k, ['clean', '--outputs', '--status', 'ERROR']);
    expect(err.stdout).toBe('Freed the output of 1 order (1 document); the orders are kept.');
    expect((await output().distinct('order')).map(String).sort()).toEqual([a, b].map(String).sort());
    expect((await waiter(k, ['clean', '--outputs', '--older-than', '1h'])).stdout).toBe('Freed the output of 0 orders (0 documents); the orders are kept.');
    await until(async () => Date.now() - +(await k.db.collection('orders').findOne({ _id: b! }))!.stop > 20, 5000, 'a finish 20 ms ago');
    expect((await waiter(k, ['clean', '--outputs', '--older-than', '20ms'])).stdout).toBe('Freed the output of 3 orders (2 documents); the orders are kept.');
    expect(await output().countDocuments({})).toBe(0);
    await waiter(k, ['reset']);
    await waiter(k, ['deliver', '--shell', 'echo again $1']);
    expect(await output().countDocuments({ order: c })).toBe(1);
    expect((await waiter(k, ['clean', '--outputs'])).stdout).toBe('Freed the output of every order (1 document); the orders are kept.');
    expect(await output().countDocuments({})).toBe(0);
    expect(await k.db.collection('orders').countDocuments({})).toBe(3);
    const bad = await waiter(k, ['clean', '--older-than', '7d']);
    expect([bad.exitCode, bad.stderr]).toEqual([2, 'waiter: --older-than goes with --outputs (clean deletes orders by state only)']);
    expect(await k.db.collection('orders').countDocuments({})).toBe(3);
  });
});
