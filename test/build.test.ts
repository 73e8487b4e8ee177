// How the build treats what it does not own: the committed page (src/serve/page.generated.ts)
// is checked by `npm test` before anything could rewrite it, so a commit of src/serve/page/
// without the file made from it fails there and in CI (.ci/run: npm ci builds first).
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { ROOT } from './support/cli.js';

const scripts = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

test('npm test checks the committed page first; build (hence prepare, npm ci) never writes it, npm run page does', () => {
  expect(scripts.test!.split(' && ')[0]).toBe('node scripts/page.js --check');
  expect(scripts.prepare).toBe('npm run build');
  expect(scripts.build).not.toMatch(/page\.js/);
  expect(scripts.page).toBe('node scripts/page.js');
});

/** A copy of scripts/page.js and src/serve/page/ where no esbuild can be found (no node_modules above it), the generated file `stale`. */
async function pageWithoutEsbuild(): Promise<{ dir: string; generated: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'waiter-page-'));
  await mkdir(join(dir, 'scripts'));
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await cp(join(ROOT, 'scripts', 'page.js'), join(dir, 'scripts', 'page.js'));
  await cp(join(ROOT, 'src', 'serve', 'page'), join(dir, 'src', 'serve', 'page'), { recursive: true });
  const generated = join(dir, 'src', 'serve', 'page.generated.ts');
  await writeFile(generated, 'stale');
  return { dir, generated };
}

test('without esbuild, npm run page keeps the committed page and says so in one line (exit 0); --check needs it (exit 1, one line)', async () => {
  const { dir, generated } = await pageWithoutEsbuild();
  try {
    const write = await execa(process.execPath, [join(dir, 'scripts', 'page.js')], { cwd: dir, reject: false });
    expect([write.exitCode, write.stderr]).toEqual([0, '']);
    expect(write.stdout).toMatch(/^scripts\/page\.js: esbuild cannot be loaded \(.*\): src\/serve\/page\.generated\.ts kept as committed$/);
    expect(await readFile(generated, 'utf8')).toBe('stale');
    const check = await execa(process.execPath, [join(dir, 'scripts', 'page.js'), '--check'], { cwd: dir, reject: false });
    expect([check.exitCode, check.stdout]).toEqual([1, '']);
    expect(check.stderr).toMatch(/^scripts\/page\.js --check: esbuild cannot be loaded \(.*\): npm ci installs it$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('esbuild is pinned exactly, as the lockfile has it: its output (hence the page and its CSP hashes) changes with its version', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; devDependencies?: Record<string, string> }> };
  expect(pkg.devDependencies.esbuild).toMatch(/^\d+\.\d+\.\d+$/);
  expect(lock.packages['']!.devDependencies!.esbuild).toBe(pkg.devDependencies.esbuild);
  expect(lock.packages['node_modules/esbuild']!.version).toBe(pkg.devDependencies.esbuild);
});

test('npm run package refuses a stale page in one line, writing nothing into src/ (tests may be reading it)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'waiter-package-page-'));
  try {
    await mkdir(join(dir, 'scripts'));
    for (const f of ['package.js', 'bundle-plugins.js', 'page.js', 'package-shim.js']) await cp(join(ROOT, 'scripts', f), join(dir, 'scripts', f));
    await cp(join(ROOT, 'package.json'), join(dir, 'package.json'));
    await cp(join(ROOT, 'src', 'serve', 'page'), join(dir, 'src', 'serve', 'page'), { recursive: true });
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const generated = join(dir, 'src', 'serve', 'page.generated.ts');
    await writeFile(generated, 'stale');
    const r = await execa(process.execPath, [join(dir, 'scripts', 'package.js'), '--out', join(dir, 'out'), '--no-sea', '--no-pack'], { cwd: dir, reject: false });
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([1, '', 'npm run package: src/serve/page.generated.ts is not current with src/serve/page/: npm run page']);
    expect(await readFile(generated, 'utf8')).toBe('stale');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("build first removes tsc's old outputs from dist/ (a module since removed would be packed: files has dist), keeping the package's single files", async () => {
  expect(scripts.build!.split(' && ')).toEqual(['node scripts/clean-dist.js', 'tsc -p tsconfig.build.json', 'node scripts/bundle.js']);
  const dir = await mkdtemp(join(tmpdir(), 'waiter-dist-'));
  try {
    const files = [
      'cli.js',
      'cli.js.map',
      'report.js',
      'serve/page.js',
      'serve/page.js.map',
      'x.d.ts',
      'bundle/cli.js',
      'bundle/chunk-X.js.map',
      'waiter.cjs',
      'waiter-linux-x64',
      'waiter-0.1.0.tgz',
    ];
    await mkdir(join(dir, 'serve'));
    await mkdir(join(dir, 'bundle'));
    for (const f of files) await writeFile(join(dir, f), '');
    const r = await execa(process.execPath, [join(ROOT, 'scripts', 'clean-dist.js'), dir], { reject: false });
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, '', '']);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(['waiter-0.1.0.tgz', 'waiter-linux-x64', 'waiter.cjs']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("without esbuild, the build says in one line that it made no bundle (exit 0), and bin/waiter.js runs tsc's dist/cli.js", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'waiter-bundle-'));
  try {
    await mkdir(join(dir, 'scripts'));
    await mkdir(join(dir, 'bin'));
    await mkdir(join(dir, 'dist', 'bundle'), { recursive: true });
    await writeFile(join(dir, 'package.json'), '{ "type": "module", "version": "0.1.0" }\n');
    for (const f of ['scripts/bundle.js', 'scripts/bundle-plugins.js', 'bin/waiter.js']) await cp(join(ROOT, f), join(dir, f));
    await writeFile(join(dir, 'dist', 'cli.js'), "export async function runMain() { console.log('dist/cli.js'); }\n");
    await writeFile(join(dir, 'dist', 'bundle', 'cli.js'), "export async function runMain() { console.log('an old bundle'); }\n");
    const r = await execa(process.execPath, [join(dir, 'scripts', 'bundle.js')], { cwd: dir, reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^no dist\/bundle\/ \(esbuild cannot be loaded: .*\); bin\/waiter\.js runs dist\/cli\.js, which starts slower$/);
    const run = await execa(process.execPath, [join(dir, 'bin', 'waiter.js')], { cwd: dir, reject: false });
    expect([run.exitCode, run.stdout, run.stderr]).toEqual([0, 'dist/cli.js', '']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
