// The masker on its own: every way output can be cut into chunks gives the same text.
import { expect, test } from 'vitest';
import { Masker } from '../src/output/mask.js';

function streamed(m: Masker, chunks: string[]): { text: string; pieces: string[] } {
  const s = m.stream();
  const pieces = [...chunks.map((c) => s.push(Buffer.from(c)).toString()), s.end().toString()];
  return { text: pieces.join(''), pieces };
}

test('a secret split anywhere, in two or three chunks, is masked as in one piece; text that only starts like a secret comes out whole', () => {
  const m = new Masker(['s3cr3t', 'tok-123456', 'pw/é-x']);
  const text = 'a s3cr3t b s3cr3 c tok-123456tok-12345 pw/é-x s3cr3ts3cr3t end s';
  const whole = m.text(text);
  expect(whole).toBe('a *** b s3cr3 c ***tok-12345 *** ****** end s');
  const bytes = Buffer.from(text);
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j += 3) {
      const s = m.stream();
      const out = Buffer.concat([s.push(bytes.subarray(0, i)), s.push(bytes.subarray(i, j)), s.push(bytes.subarray(j)), s.end()]);
      expect(out.toString(), `${i},${j}`).toBe(whole);
    }
  }
});

test('only what could begin a secret is held back, and only until the next chunk shows it is not one', () => {
  const m = new Masker(['secret-value']);
  expect(streamed(m, ['prompt> ', 'more']).pieces).toEqual(['prompt> ', 'more', '']);
  expect(streamed(m, ['x secr', 'et-value y']).pieces).toEqual(['x ', '*** y', '']);
  expect(streamed(m, ['x secr', 'et!']).pieces).toEqual(['x ', 'secret!', '']);
  expect(streamed(m, ['x secr']).pieces).toEqual(['x ', 'secr']); // the end gives back what was held
});

test('no secrets, empty secrets: nothing changes', () => {
  expect(new Masker(['', '']).empty).toBe(true);
  expect(new Masker([]).text('a b')).toBe('a b');
});
