// extract's header, for the tests that read a report. Written out here, not taken from
// src/csv.ts (REPORT_COLUMNS, LATER_COLUMNS): a column moved or renamed there changes the
// file every reader by position relies on, and these tests must see it.

/** The header of a report: the fixed columns, the list's named columns (`named`), then the columns added since. */
export function extractHeader(named: readonly string[] = []): string[] {
  return [
    '_id',
    'status',
    'waiter',
    'start',
    'stop',
    'arguments',
    'error',
    'exit_code',
    'attempts',
    'workdir',
    ...named,
    'priority',
    'after',
    'wall_ms',
    'cpu_ms',
    'peak_rss_bytes',
    'measured',
  ];
}
