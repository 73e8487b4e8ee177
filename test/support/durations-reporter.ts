// With WAITER_TEST_DURATIONS=write, a full run (no file or name filter, nothing failed)
// writes each test file's duration in seconds to test/durations.json, which
// test/support/sequencer.ts reads to start the slowest files first.
import { readdirSync, writeFileSync } from 'node:fs';
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import { DURATIONS } from './sequencer.js';

export default class DurationsReporter implements Reporter {
  private filtered = false;

  onInit(vitest: Vitest): void {
    this.filtered = Boolean(vitest.config.testNamePattern);
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    if (process.env.WAITER_TEST_DURATIONS !== 'write') return;
    const all = readdirSync(new URL('..', import.meta.url), { recursive: true }).filter((f) => String(f).endsWith('.test.ts')).length;
    if (this.filtered || modules.length < all || modules.some((m) => m.state() === 'failed')) {
      process.stdout.write('\ntest/durations.json not written: a filtered or failed run\n');
      return;
    }
    const out = Object.fromEntries(modules.map((m) => [m.relativeModuleId, Math.round(m.diagnostic().duration / 100) / 10] as const).sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileSync(DURATIONS, `${JSON.stringify(out, null, 2)}\n`);
    process.stdout.write(`\ntest/durations.json written (${modules.length} files)\n`);
  }
}
