// Live output batches (src/output/live.ts) against the real server: the cap keeps the
// head and a rolling tail and says what it dropped, writes are batched, outages wait.
import { randomBytes } from 'node:crypto';
import { MongoNetworkError, ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { LiveOutput, geometry } from '../src/output/live.js';
import { readAfter, type Piece } from '../src/output/reader.js';
import { OutputStore, type SlotWrite } from '../src/kitchen/output.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const store = () => new OutputStore(k.db, 'orders');
const noLog = () => undefined;

/** What a reader gets, as one buffer, with gaps as their byte counts. */
function joined(pieces: Piece[]): { data: Buffer; dropped: number[] } {
  const data: Buffer[] = [];
  const dropped: number[] = [];
  for (const p of pieces) {
    if ('dropped' in p) dropped.push(p.dropped);
    else data.push(p.data);
  }
  return { data: Buffer.concat(data), dropped };
}

async function storedBytes(s: OutputStore, order: ObjectId): Promise<number> {
  const docs = await s.docs.find({ order }).toArray();
  return docs.reduce((n, d) => n + d.chunks.reduce((m, c) => m + c.d.position, 0), 0);
}

describe('live output', () => {
  test('under the cap everything is kept, interleaved as printed, each chunk marked by stream', async () => {
    const s = store();
    const order = new ObjectId();
    const live = new LiveOutput(s, order, 1, { keepBytes: 1024 * 1024, flushMs: 50 }, noLog);
    live.push('out', Buffer.from('one\n'));
    live.push('err', Buffer.from('two\n'));
    live.push('out', Buffer.from('three\n'));
    await live.close();
    const pieces = await readAfter(s, order, 1);
    expect(pieces.map((p) => ('stream' in p ? [p.stream, p.data.toString()] : ['dropped']))).toEqual([
      ['out', 'one\n'],
      ['err', 'two\n'],
      ['out', 'three\n'],
    ]);
    // The cursor: reading after a piece's end gives what follows it.
    expect(joined(await readAfter(s, order, 1, 6)).data.toString()).toBe('o\nthree\n');
    expect(await readAfter(s, order, 2)).toEqual([]);
  });

  test.each([1, 100, 5000, 20_000, 300_000])('the cap (%i bytes) keeps the first half and the last half, and reports the dropped bytes', async (cap) => {
    const s = store();
    const order = new ObjectId();
    // flushMs 20: many flushes while it prints, so slots grow, fill and the tail ring goes round.
    const live = new LiveOutput(s, order, 3, { keepBytes: cap, flushMs: 20 }, noLog);
    const all: Buffer[] = [];
    for (let i = 0; i < 60; i++) {
      const chunk = randomBytes(1 + ((i * 7919) % Math.max(9000, cap / 10)));
      all.push(chunk);
      live.push(i % 3 ? 'out' : 'err', chunk);
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 30));
    }
    await live.close();
    const whole = Buffer.concat(all);
    const { head, tail, slot } = geometry(cap);
    const got = joined(await readAfter(s, order, 3));
    const stored = await storedBytes(s, order);
    expect(stored).toBeLessThanOrEqual(cap);
    expect(got.data.length).toBe(stored);
    // The head exactly, then one gap, then exactly the end of the output.
    expect(got.data.subarray(0, head).equals(whole.subarray(0, head))).toBe(true);
    const tailLength = got.data.length - head;
    expect(got.data.subarray(head).equals(whole.subarray(whole.length - tailLength))).toBe(true);
    expect(got.dropped).toEqual([whole.length - got.data.length]);
    // The ring overwrites one slot at a time: never less than the tail less one slot is kept.
    expect(tailLength).toBeGreaterThanOrEqual(tail - slot);
  });

  test('batches: one write per flush interval while it prints, none while it is quiet', async () => {
    const real = store();
    // Counted where the writes start, so a write still on its way (a slow, shared server)
    // is not mistaken for one made while the command was quiet.
    const starts: number[] = [];
    let inFlight = 0;
    const s = {
      async write(w: readonly SlotWrite[]) {
        starts.push(Date.now());
        inFlight++;
        try {
          await real.write(w);
        } finally {
          inFlight--;
        }
      },
    } as unknown as OutputStore;
    const order = new ObjectId();
    const live = new LiveOutput(s, order, 1, { keepBytes: 1024 * 1024, flushMs: 300 }, noLog);
    const started = Date.now();
    while (Date.now() - started < 1000) {
      live.push('out', Buffer.from('x'.repeat(100)));
      await new Promise((r) => setTimeout(r, 5));
    }
    // At most one write per 300 ms of printing (plus the first), start to start.
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(295);
    expect(starts.length).toBeGreaterThanOrEqual(1);
    // Settled: no write on its way for longer than one interval (so nothing is pending either).
    let idleSince = Date.now();
    while (Date.now() - idleSince < 400) {
      if (inFlight > 0) idleSince = Date.now();
      await new Promise((r) => setTimeout(r, 20));
    }
    const afterPrinting = starts.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(starts.length).toBe(afterPrinting); // quiet: nothing written
    await live.close();
    expect(starts.length).toBe(afterPrinting); // nothing left to write at the end either
    expect(live.writes).toBe(afterPrinting);
  });

  test('an outage: batches wait in memory (bounded by the cap) and are written once the kitchen answers; a lost answer is not written twice', async () => {
    const real = store();
    const order = new ObjectId();
    let down = true;
    let calls = 0;
    const flaky = {
      async write(w: readonly SlotWrite[]) {
        calls++;
        if (down) throw new MongoNetworkError('connection refused');
        await real.write(w);
        // Every third write: the write is made, its answer lost.
        if (calls % 3 === 0) throw new MongoNetworkError('answer lost');
      },
    };
    const lines: string[] = [];
    const live = new LiveOutput(flaky, order, 1, { keepBytes: 4096, flushMs: 20 }, (l) => lines.push(l));
    const all: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const b = Buffer.from(`line ${i} ${'z'.repeat(i * 10)}\n`);
      all.push(b);
      live.push('out', b);
      if (i === 20) down = false;
      await new Promise((r) => setTimeout(r, 15));
    }
    await live.close();
    expect(lines.some((l) => /not written, kept/.test(l))).toBe(true);
    const whole = Buffer.concat(all);
    const got = joined(await readAfter(real, order, 1));
    expect(await storedBytes(real, order)).toBeLessThanOrEqual(4096);
    expect(got.data.subarray(0, 2048).equals(whole.subarray(0, 2048))).toBe(true);
    const tail = got.data.subarray(2048);
    expect(tail.equals(whole.subarray(whole.length - tail.length))).toBe(true);
    expect(got.dropped).toEqual([whole.length - got.data.length]);
  });
});
