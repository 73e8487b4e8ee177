// Small examples of the manual (test/examples.test.ts): a unique load run again after a
// crash (docs/loading.md), what an attempt used as show says it (docs/watching.md), and
// the test server's first lines (docs/getting-started.md).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT, until } from './cli.js';
import type { ExampleContext } from './example-tour.js';

/** 2,000 jobs, 1,960 of them loaded before a crash (a load of the file's first rows): the second load adds the 40 others. */
export async function loadUnique(x: ExampleContext) {
  const jobs = Array.from({ length: 2000 }, (_, i) => `job-${String(i + 1).padStart(4, '0')}`);
  await writeFile(join(x.dir, 'crashed.csv'), jobs.slice(0, 1960).join('\n') + '\n');
  await writeFile(join(x.dir, 'jobs.csv'), jobs.join('\n') + '\n');
  await x.cli('unique', ['load', '--unique', 'crashed.csv']);
  x.runs.set('load-unique', ['$ waiter load --unique jobs.csv        # crashed half-way? run it again', ...(await x.cli('unique', ['load', '--unique', 'jobs.csv']))]);
}

/** One order whose command runs 3 s (`sleep 3`): long enough for the looks to see its peak. */
export async function usage(x: ExampleContext) {
  const id = (await x.cli('usage', ['add', '3']))[0]!.split(' ')[2]!;
  await x.cli('usage', ['-n', 'box-1', 'deliver', 'sleep']);
  const shown = (await x.cli('usage', ['show', id])).filter((l) => /^(usage|\s+#1 )/.test(l));
  x.runs.set('show-usage', [`$ waiter show ${id} | grep -e usage -e '#1'`, ...shown]);
}

/**
 * `npm run test-server`'s own lines (scripts/test-server.js: npm's lines before them
 * are npm's), both streams as a terminal shows them, then Ctrl-C; shown with the docs'
 * port and pid. Needs Go or the built server (test/support/gates.ts needsGo).
 */
export async function testServer(x: ExampleContext) {
  const p = execa('sh', ['-c', 'exec "$0" "$@" 2>&1', 'node', join(ROOT, 'scripts', 'test-server.js')], { cwd: ROOT, reject: false, stdin: 'ignore' });
  x.running.push(p);
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // A first run builds it first (and says so, before): minutes.
  await until(() => out.includes('Ctrl-C stops it\n'), 280_000, 'the test server to start');
  p.kill('SIGINT');
  const r = await p;
  if (r.exitCode !== 130) throw new Error(`test-server: exit ${r.exitCode} on Ctrl-C, expected 130: ${r.stdout}`);
  const [uri, running] = out.slice(out.indexOf('MONGODB_URI=')).split('\n') as [string, string];
  const port = /:(\d+)\/$/.exec(uri)?.[1];
  const pid = /\(pid (\d+)/.exec(running)?.[1];
  if (!port || !pid) throw new Error(`test-server printed: ${out}`);
  x.runs.set('test-server', [
    '$ npm run test-server                     # or: npm run test-server -- --port 27017',
    uri.replace(`:${port}/`, ':40517/'),
    running.replace(`(pid ${pid}`, '(pid 4242'),
  ]);
}
