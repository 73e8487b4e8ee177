// The progress bar of `load` and `extract` (src/progress.ts) drawn on fixed figures by
// cli-progress's own formatter: docs/watching.md shows a bar caught mid-way (a run cannot
// give it twice the same way), so its lines are checked here, in the program's format.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import bars from 'cli-progress';
import { expect, test } from 'vitest';
import { barOptions, rate } from '../src/progress.js';
import { ROOT } from './support/cli.js';

/** One drawing: `value` of `total` after `ms`, `eta` seconds left, as a terminal 200 wide shows it. */
function drawn(label: string, value: number, total: number, ms: number, eta: number, unit: string): string {
  // The options as the bar completes them (the preset's characters): what its render hands the formatter.
  const { options } = new bars.SingleBar(barOptions(label, false), bars.Presets.shades_classic) as unknown as { options: bars.Options };
  const params = { progress: value / total, eta, startTime: 0, stopTime: ms, total, value, maxWidth: 200 };
  return bars.Format.Formatter(options, params, { rate: rate(value, ms), unit });
}

test('the bar docs/watching.md shows is what load draws: label, bar, percent, counts, rate, ETA', () => {
  const doc = readFileSync(join(ROOT, 'docs/watching.md'), 'utf8').split('\n');
  const at = doc.indexOf('    $ waiter load rows.csv');
  expect(at).toBeGreaterThan(0);
  expect(doc.slice(at + 1, at + 3).map((l) => l.slice(4))).toEqual([
    // The check of the file, done: 1,922 KiB in 0.17 s.
    drawn('checking', 1922, 1922, 170, 0, 'KiB'),
    // Rows loaded, caught at 39%: 39,000 rows in 1.1 s, 2 s to go.
    drawn('loading', 39_000, 100_000, 1100, 2, 'rows'),
  ]);
  // Colour: the bar only, in green (none with NO_COLOR).
  expect(barOptions('loading', true).format).toContain('\u001b[32m{bar}\u001b[39m');
});
