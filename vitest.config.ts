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
    // runs one command at a time per database, so individual tests can be slow.
    testTimeout: 60_000,
    hookTimeout: 300_000,
    teardownTimeout: 30_000,
    // Three test files at a time on CI's 2 cores: much of a test is waiting (on its child
    // processes, polls, the server), so two kept 1.2 cores busy on average (a full run:
    // 995 s user + 129 s sys in 941 s). Each test has its own database, and the FerretDB
    // server serialises commands per database, so the files do not queue on it.
    pool: 'forks',
    maxWorkers: 3,
  },
});
