// Lists every skipped test by its full title at the end of a run: the default reporter
// only counts them, and a skipped test's title says why it was skipped
// (test/support/gates.ts), so the reason is in the output where it can be read.
// Tests left out by a -t filter are not listed.
import type { Reporter, TestModule, Vitest } from 'vitest/node';

export default class SkippedReporter implements Reporter {
  private pattern?: RegExp;

  onInit(vitest: Vitest): void {
    this.pattern = vitest.config.testNamePattern;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped = modules.flatMap((m) =>
      [...m.children.allTests('skipped')].filter((t) => !this.pattern || this.pattern.test(t.fullName)).map((t) => `  ${m.relativeModuleId} > ${t.fullName}`),
    );
    if (skipped.length === 0) return;
    process.stdout.write(`\nskipped tests (${skipped.length}):\n${skipped.join('\n')}\n`);
  }
}
