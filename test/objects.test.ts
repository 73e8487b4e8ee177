import { expect, test } from 'vitest';
import { defined } from '../src/objects.js';

test('defined() drops undefined entries only: absent stays absent, 0, "", false and null are kept', () => {
  expect(defined({ a: undefined, b: 0, c: '', d: false, e: null, f: 'x' })).toStrictEqual({ b: 0, c: '', d: false, e: null, f: 'x' });
  expect(Object.keys(defined({ workdir: undefined }))).toEqual([]);
  // A spread of it adds nothing when the value is undefined (what a document must not get: the driver writes it as null).
  const workdir: string | undefined = undefined;
  expect({ status: 'DONE', ...defined({ workdir }) }).toStrictEqual({ status: 'DONE' });
  expect({ status: 'DONE', ...defined({ workdir: '/w' }) }).toStrictEqual({ status: 'DONE', workdir: '/w' });
});
