// Runs the slowest test files first (longest processing time first), from the durations
// kept in test/durations.json. On a fresh clone (CI) vitest has no timing cache and starts
// the largest files first, so a small file that waits a minute on processes could start
// last and leave one worker running alone at the end. Files not in the list (new ones)
// count as the median. Refresh the list after a full run on a quiet machine:
// `WAITER_TEST_DURATIONS=write npx vitest run` (test/support/durations-reporter.ts).
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const DURATIONS = new URL('../durations.json', import.meta.url);

export function readDurations(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(DURATIONS, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const known = readDurations();
    const values = Object.values(known).sort((a, b) => a - b);
    const median = values[Math.floor(values.length / 2)] ?? 0;
    const root = this.ctx.config.root;
    const cost = (f: TestSpecification) => known[relative(root, f.moduleId)] ?? median;
    return [...files].sort((a, b) => cost(b) - cost(a));
  }
}
