import { expect, test } from 'vitest';
import { counted, printable } from '../src/words.js';

test('counts read the same everywhere: singular for one, grouped thousands', () => {
  expect([0, 1, 2, 2503, 1_000_000].map((n) => counted(n, 'order'))).toEqual(['0 orders', '1 order', '2 orders', '2,503 orders', '1,000,000 orders']);
  expect(counted(1, 'interrupted order')).toBe('1 interrupted order');
});

test('printable: control characters escaped, so one value stays one line; kept ones left alone', () => {
  expect(printable('runs/a\nb')).toBe('runs/a\\nb');
  expect(printable('x\ty\r\u001b[31mred\u007f\u0085\u2028')).toBe('x\\ty\\r\\x1b[31mred\\x7f\\x85\\u2028');
  expect(printable('a\tb', '\t')).toBe('a\tb');
  expect(printable('plain é ✓')).toBe('plain é ✓');
});
