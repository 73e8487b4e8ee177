// Issue 15, item 5: an empty or blank global option (or WAITER_* variable) is a usage
// error naming it, never the default: `waiter -l "$LIST" clean` with $LIST unset must
// not clean the list `orders`.
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';

const k = useDb();

describe('empty is not default', () => {
  const seed = async () => {
    await k.db.collection('orders').insertMany([
      { status: 'READY', arguments: ['a'], attempts: 0 },
      { status: 'DONE', arguments: ['b'], attempts: 1 },
    ]);
    await k.db.collection('mine').insertOne({ status: 'READY', arguments: ['c'], attempts: 0 });
  };
  const unchanged = async () => {
    expect(await k.db.collection('orders').countDocuments()).toBe(2);
    expect(await k.db.collection('mine').countDocuments()).toBe(1);
  };

  test.each([
    [['-l', '', 'clean'], {}, /^waiter: --list is empty/],
    [['--list=', 'clean'], {}, /^waiter: --list is empty/],
    [['-l', '  ', 'clean'], {}, /^waiter: --list is empty/],
    [['clean'], { WAITER_LIST: '' }, /^waiter: WAITER_LIST is set but empty/],
    [['-l', '', 'clean'], { WAITER_LIST: 'mine' }, /^waiter: --list is empty/],
    [['--db', '', 'clean'], {}, /^waiter: --db is empty/],
    [['clean'], { WAITER_DB: ' ' }, /^waiter: WAITER_DB is set but empty/],
    [['-k', '', 'clean'], {}, /^waiter: --kitchen is empty/],
    [['clean'], { WAITER_KITCHEN: '' }, /^waiter: WAITER_KITCHEN is set but empty/],
    [['-n', '', 'deliver', 'true'], {}, /^waiter: --name is empty/],
    [['deliver', 'true'], { WAITER_NAME: '' }, /^waiter: WAITER_NAME is set but empty/],
  ] as const)('%j with env %j: exit 2 naming it, the lists unchanged', async (args, env, message) => {
    await seed();
    const r = await waiter(k, [...args], { env: { ...env } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    await unchanged();
    // deliver touched no order either
    expect(await k.db.collection('orders').countDocuments({ status: 'READY' })).toBe(1);
  });

  test('a set value still wins over the environment, and the default still applies when nothing is set', async () => {
    await seed();
    expect((await waiter(k, ['-l', 'mine', 'clean'], { env: { WAITER_LIST: 'orders' } })).stdout).toBe('Cleaned 1 order.');
    expect((await waiter(k, ['clean', '--status', 'DONE'])).stdout).toBe('Cleaned 1 order.');
    expect(await k.db.collection('orders').countDocuments()).toBe(1);
  });
});
