// Preloaded into a waiter process by bench/run.js (node -r): at exit, writes the
// process's own CPU and page faults (process.resourceUsage(): this process only, not
// the commands it ran) to $WAITER_BENCH_USAGE, so waiter's own cost can be told apart
// from the cost of the commands, which xargs pays too.
const file = process.env.WAITER_BENCH_USAGE;
if (file) {
  process.on('exit', () => {
    const r = process.resourceUsage();
    require('node:fs').writeFileSync(file, JSON.stringify({ cpuS: (r.userCPUTime + r.systemCPUTime) / 1e6, minorFaults: r.minorPageFault }));
  });
}
