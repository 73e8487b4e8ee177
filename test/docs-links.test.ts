// Every relative link in the docs goes somewhere: to a file or folder that exists and, for
// `#anchor`, to a heading of that Markdown file (its GitHub anchor). It guards moving
// README sections into docs/: a section moved away breaks the links that pointed at it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from './support/cli.js';

/** The text outside fenced and indented code blocks and code spans, where links live. */
function prose(markdown: string): string {
  const out: string[] = [];
  let fence: string | undefined;
  let indentedCode = false;
  let prevBlank = true;
  for (const line of markdown.split('\n')) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (f && f[0] === fence[0] && f.length >= fence.length) fence = undefined;
      out.push('');
      continue;
    }
    if (f) {
      fence = f;
      out.push('');
      continue;
    }
    const blank = line.trim() === '';
    indentedCode = /^( {4}|\t)/.test(line) && !blank ? indentedCode || prevBlank : blank && indentedCode;
    prevBlank = blank;
    out.push(indentedCode ? '' : line.replace(/(`+)[^`]*?\1/g, ''));
  }
  return out.join('\n');
}

/** GitHub's anchors for the ATX headings of a Markdown text (duplicates get -1, -2, ...). */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (f && f[0] === fence[0] && f.length >= fence.length) fence = undefined;
      continue;
    }
    if (f) {
      fence = f;
      continue;
    }
    const h = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+\s*)?$/.exec(line);
    if (!h) continue;
    const text = h[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text only
      .replace(/[*`]/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

/** Link targets (inline, images, reference definitions, href) that are not absolute URLs. */
export function relativeLinks(markdown: string): string[] {
  const text = prose(markdown);
  const targets = [
    ...[...text.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+["'(][^)]*)?\)/g)].map((m) => m[1]!),
    ...[...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm)].map((m) => m[1]!),
    ...[...text.matchAll(/\bhref="([^"]*)"/g)].map((m) => m[1]!),
  ];
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('//'));
}

/** What is wrong with each relative link of `file` (a path under ROOT), as `file: link: why`. */
function broken(file: string): string[] {
  const problems: string[] = [];
  for (const link of relativeLinks(readFileSync(join(ROOT, file), 'utf8'))) {
    const [pathPart, anchor] = link.split('#', 2) as [string, string | undefined];
    const path = decodeURIComponent(pathPart.split('?')[0]!);
    const target = path ? resolve(ROOT, dirname(file), path) : join(ROOT, file);
    const shown = `${file}: ${link}`;
    if (!relative(ROOT, target) || relative(ROOT, target).startsWith('..')) problems.push(`${shown}: outside the repository`);
    else if (!existsSync(target)) problems.push(`${shown}: no such file`);
    else if (anchor !== undefined && target.endsWith('.md') && statSync(target).isFile()) {
      const names = anchors(readFileSync(target, 'utf8'));
      if (!names.has(decodeURIComponent(anchor).toLowerCase())) problems.push(`${shown}: no heading with that anchor in ${relative(ROOT, target)}`);
    }
  }
  return problems;
}

const docs = ['README.md', 'CHANGELOG.md', 'CONTRIBUTING.md'];
const docsDir = join(ROOT, 'docs');
if (existsSync(docsDir)) {
  for (const e of readdirSync(docsDir, { recursive: true, encoding: 'utf8' })) if (e.endsWith('.md')) docs.push(join('docs', e));
}

test.each(docs)('every relative link in %s resolves (file, and heading for #anchor)', (file) => {
  expect(relativeLinks(readFileSync(join(ROOT, file), 'utf8')).length, 'a doc these tests check has no links at all').toBeGreaterThan(0);
  expect(broken(file)).toEqual([]);
});

test('the checker sees links and anchors as GitHub does, and not inside code', () => {
  const md = [
    '# Top',
    '## A page and an API: `waiter serve`',
    '### Releasing WAITING orders (issue 18)',
    '## Top',
    'See [x](other.md#part "title"), ![img](pic.png), [top](#top-1) and [site](https://example.com/a).',
    '[ref]: ./ref.md',
    'Inline `[no](code-span.md)` is code.',
    '',
    '    [no](indented-code.md)',
    '',
    '```sh',
    '# not a heading',
    '[no](fenced.md)',
    '```',
    '<a href="page.html">page</a>',
  ].join('\n');
  expect(relativeLinks(md)).toEqual(['other.md#part', 'pic.png', '#top-1', './ref.md', 'page.html']);
  expect([...anchors(md)]).toEqual(['top', 'a-page-and-an-api-waiter-serve', 'releasing-waiting-orders-issue-18', 'top-1']);
});
