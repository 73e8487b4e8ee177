import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts the MongoDB-compatible server; the first run on a machine also builds the
    // Go test server (test/server), which takes a minute or two.
    globalSetup: ['test/global-setup.ts'],
    // In every test process: no connection to the real cloud metadata services.
    setupFiles: ['test/support/no-metadata.ts'],
    // A skipped test's title says why (test/support/gates.ts); this lists them at the end.
    reporters: ['default', './test/support/skipped-reporter.ts'],
    // Tests spawn processes (the CLI, extra test servers) and the FerretDB test server
    // runs one command at a time, so individual tests can be slow.
    testTimeout: 60_000,
    hookTimeout: 300_000,
    teardownTimeout: 30_000,
    // Two test files at a time: DB work is serialised by the FerretDB server anyway,
    // but CLI start-up and waiting on child processes overlap well (CI has 2 cores).
    pool: 'forks',
    maxWorkers: 2,
  },
});
