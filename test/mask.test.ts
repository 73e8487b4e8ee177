// The masker on its own: every way output can be cut into chunks gives the same text.
import { expect, test } from 'vitest';
import { Masker, MIN_SECRET_LENGTH, tooShortToMask } from '../src/output/mask.js';
import { secretsOf } from '../src/kitchen/connect.js';

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

/** Leftmost match, the longest at a position: what the stream masker promises. */
function reference(secrets: string[], text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const hit = secrets.filter((s) => text.startsWith(s, i)).sort((a, b) => b.length - a.length)[0];
    if (hit) {
      out += '***';
      i += hit.length;
    } else out += text[i++];
  }
  return out;
}

test('thousands of matches of one secret among others absent or rare: every one masked, cut anywhere (the search does not start over from each match)', () => {
  // A password with percent-encoding gives two forms; the token appears on every line.
  const secrets = ['serve-token-7f3a9c', 'pw%40secret', 'pw@secret', 'aaab'];
  const m = new Masker(secrets);
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < 64 * 1024; i++) {
    lines.push(i % 500 === 7 ? `line ${i} pw@secret and pw%40secret aaaab` : `${i}:serve-token-7f3a9c serve-token-7f3a9c serve-token-7f3a9c serve-token-7f3a9`);
  }
  const text = lines.join('\n');
  const want = reference(secrets, text);
  expect(want.split('***').length - 1).toBeGreaterThan(2000);
  expect(m.text(text)).toBe(want);
  const bytes = Buffer.from(text);
  for (const size of [1, 7, 100, 4096, bytes.length]) {
    const s = m.stream();
    const parts: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) parts.push(s.push(bytes.subarray(i, i + size)));
    parts.push(s.end());
    expect(Buffer.concat(parts).toString(), `chunks of ${size}`).toBe(want);
  }
});

test('overlapping secrets: the leftmost match wins, the longest at one position; a secret cut by a match is looked for again after it', () => {
  const secrets = ['aabbcc', 'bbccdd', 'abbc', 'xyzxyz'];
  const m = new Masker(secrets);
  // 'xaabbc' then the end: what was held for 'aabbcc' is masked too ('abbc').
  for (const text of ['aabbccdd bbccdd aabbcc abbccdd', 'xyzxyzxyz abbc bbccddaabbcc', 'ab cd abbcc bbccbbccdd', 'xaabbc']) {
    const want = reference(secrets, text);
    const s = m.stream();
    const out = Buffer.concat([...[...Buffer.from(text)].map((b) => s.push(Buffer.from([b]))), s.end()]).toString();
    expect(out, text).toBe(want);
    expect(m.text(text), text).toBe(want);
  }
});

test(`a secret shorter than ${MIN_SECRET_LENGTH} characters is not masked (it would change waiter's own words: "exit code 1"); longer ones are`, () => {
  expect(MIN_SECRET_LENGTH).toBe(4);
  const m = new Masker(['1', 'ab', 'abc', 'abcd']);
  expect(m.text('exit code 1: ab abc abcd')).toBe('exit code 1: ab abc ***');
  const s = m.stream();
  expect(Buffer.concat([s.push(Buffer.from('exit code 1 abcd')), s.end()]).toString()).toBe('exit code 1 ***');
  expect(new Masker(['1', 'é']).empty).toBe(true);
  expect(tooShortToMask('abc')).toBe(true);
  expect(tooShortToMask('éééé')).toBe(false); // characters, not bytes
});

test('secretsOf: a password as written, decoded, and encoded again in either hex case; a query option as written too (+ is a space to the driver)', () => {
  const forms = secretsOf('mongodb://alice:p%2fss-word@h/db?authMechanism=PLAIN&proxyPassword=a+b-secret&tlsCertificateKeyFilePassword=k%2Fey%2bfile');
  for (const f of ['p%2fss-word', 'p/ss-word', 'p%2Fss-word', 'a+b-secret', 'a b-secret', 'a%20b-secret', 'k%2Fey%2bfile', 'k/ey+file', 'k%2Fey%2Bfile', 'k%2fey%2bfile'])
    expect(forms, f).toContain(f);
  expect(forms).not.toContain('p%252fss-word'); // the encoding of the encoding: nobody prints that
  expect(forms.some((f) => f.includes('alice'))).toBe(false); // the user name is no secret
  // A space in a decoded password may be printed as + in a query string.
  expect(secretsOf('mongodb://u:two%20words@h/')).toEqual(expect.arrayContaining(['two%20words', 'two words', 'two+words']));
});
