// How the build treats what it does not own: the committed page (src/serve/page.generated.ts)
// is checked by `npm test` before anything could rewrite it, so a commit of src/serve/page/
// without the file made from it fails there and in CI (.ci/run: npm ci builds first).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from './support/cli.js';

const scripts = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

test('npm test checks the committed page first; build (hence prepare, npm ci) never writes it, npm run page does', () => {
  expect(scripts.test!.split(' && ')[0]).toBe('node scripts/page.js --check');
  expect(scripts.prepare).toBe('npm run build');
  expect(scripts.build).not.toMatch(/page\.js/);
  expect(scripts.page).toBe('node scripts/page.js');
});
