// The page served at GET / is built from src/serve/page/ by scripts/page.js into the
// committed src/serve/page.generated.ts: a source changed without `npm run page` fails
// here, and so would a policy whose hashes are not those of the page's inline script and style.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { FILE, pageModule } from '../scripts/page.js';
import { PAGE, PAGE_CSP } from '../src/serve/page.generated.js';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

test('src/serve/page.generated.ts is current with src/serve/page/ (npm run page rewrites it)', async () => {
  const written = await readFile(FILE, 'utf8');
  expect(written, 'src/serve/page.generated.ts is not current: run npm run page').toBe(await pageModule());
});

test("PAGE_CSP allows exactly PAGE's one inline script and one inline style, by hash, and nothing inline else", () => {
  const scripts = [...PAGE.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  const styles = [...PAGE.matchAll(/<style\b([^>]*)>([\s\S]*?)<\/style>/g)];
  expect(scripts.map((m) => m[1])).toEqual(['']);
  expect(styles.map((m) => m[1])).toEqual(['']);
  const directives = Object.fromEntries(PAGE_CSP.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
  expect(directives['script-src']).toEqual([sha256(scripts[0]![2]!)]);
  expect(directives['style-src']).toEqual([sha256(styles[0]![2]!)]);
  expect(directives['default-src']).toEqual(["'none'"]);
  expect(PAGE_CSP).not.toContain('unsafe-');
  // Nothing the policy would block: no linked sources, no handler or style attributes.
  expect(PAGE).not.toMatch(/<link rel="stylesheet"|<script [^>]*src=|\son[a-z]+=|\sstyle=/i);
});
