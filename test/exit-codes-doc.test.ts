// docs/exit-codes.md's "Lines you can parse" is what the commands print: each row of its
// table (a command, in situation; one line) is matched against the line a real run of that
// command printed, here, on small lists of one database (test/support/exit-codes-doc.ts).
// A row no run makes, or a run no row shows, fails too: the table stays complete.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT } from './support/cli.js';
import { formRegex, parseLinesTable, runAll, type Row } from './support/exit-codes-doc.js';

let rows: Row[] = [];
let got = new Map<string, string>();
let done: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  rows = parseLinesTable(await readFile(join(ROOT, 'docs', 'exit-codes.md'), 'utf8'));
  ({ got, done } = await runAll());
}, 120_000);

afterAll(() => done());

describe('docs/exit-codes.md: lines you can parse', () => {
  test('each row is the line its command prints (numbers, ids, times, sizes and <placeholders> may differ)', () => {
    const problems = rows.map((r) => {
      const line = got.get(r.command);
      if (line === undefined) return `docs/exit-codes.md:${r.line}: no run makes the row ${r.command} (known: ${[...got.keys()].join(' · ')})`;
      return formRegex(r.form).test(line) ? '' : `docs/exit-codes.md:${r.line}: ${r.command}\n  the doc: ${r.form}\n  the run: ${line}`;
    });
    expect(problems.filter(Boolean).join('\n')).toBe('');
  });

  test('each run has its row: a line a command prints is in the table', () => {
    expect([...got.keys()].filter((k) => !rows.some((r) => r.command === k))).toEqual([]);
  });
});

describe('the checker', () => {
  test('numbers are grouped by commas, a counted word is singular for one; ids, times, sizes and placeholders are any', () => {
    const re = formRegex('Loaded 1,000 orders (9,960 already there)');
    expect(['Loaded 3 orders (0 already there)', 'Loaded 1 order (12,345 already there)'].every((l) => re.test(l))).toBe(true);
    expect(['Loaded 1000 orders (0 already there)', 'Loaded 3 orders', 'Loaded 3 orders (0 already there) '].some((l) => re.test(l))).toBe(false);
    const ids = formRegex('Would cancel 2 orders: <id>, <id>; nothing changed');
    expect(ids.test('Would cancel 2 orders: 0123456789abcdef01234567, 0123456789abcdef01234568; nothing changed')).toBe(true);
    expect(ids.test('Would cancel 2 orders: 0123456789abcdef01234567; nothing changed')).toBe(false);
    expect(formRegex('paused (since <iso> by <who>)').test('paused (since 2026-12-07T05:51:37.821Z by ann@vm)')).toBe(true);
    expect(formRegex('Gathered 12 files (1.3 GiB) of 4 orders').test('Gathered 1 file (24 B) of 1 order')).toBe(true);
    expect(formRegex('Cancelled 3 orders (1 running: its waiter stops it)').test('Cancelled 3 orders (2 running: its waiter stops it)')).toBe(true);
    expect(formRegex('1 was stale').test('1 wa stale')).toBe(false);
    expect(
      parseLinesTable(['# x', '## Lines you can parse', '', '| command | line |', '|---|---|', '| `load` | `Loaded 1,000 orders` |', '', '## Next', '| `a` | `b` |'].join('\n')),
    ).toEqual([{ command: '`load`', form: 'Loaded 1,000 orders', line: 6 }]);
    expect(() => parseLinesTable('## Lines you can parse\n\n| command | line |\n|---|---|\n| `load` | prose, no line |\n')).toThrow(/one `line`/);
  });
});
