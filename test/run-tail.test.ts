// Tail (src/run.ts): the last OUTPUT_TAIL_BYTES of a command's output, whatever the
// chunk sizes, kept for the kitchen's `output` field.
import { describe, expect, test } from 'vitest';
import { OUTPUT_TAIL_BYTES, Tail } from '../src/run.js';

const text = (chunks: string[], limit: number) => {
  const t = new Tail(limit);
  for (const c of chunks) t.push(Buffer.from(c));
  return t.text();
};

describe('Tail', () => {
  test('keeps the last bytes, never the first: across chunks of any size', () => {
    expect(text(['first line\n', 'b'.repeat(20), 'last line\n'], 16)).toBe(`${'b'.repeat(6)}last line\n`);
    expect(text(['0123456789'], 4)).toBe('6789');
    expect(text(['ab', 'cd', 'ef', 'gh'], 3)).toBe('fgh');
    expect(text(['short'], 100)).toBe('short');
    expect(text([], 10)).toBe('');
    // Many small chunks: the memory kept stays bounded while the answer is the last bytes.
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`);
    const all = lines.join('');
    expect(text(lines, OUTPUT_TAIL_BYTES)).toBe(all.slice(-OUTPUT_TAIL_BYTES));
  });
});
