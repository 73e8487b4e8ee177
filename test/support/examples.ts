// README examples that cannot drift (test/examples.test.ts): a block of a Markdown file
// marked `<!-- example: NAME -->` (the line right before it, blank lines between allowed)
// is compared with what a real run printed for NAME, after normalising the tokens that
// differ from run to run; `npm run examples` writes the runs back into the blocks.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Block {
  /** Path of the Markdown file, relative to the repository. */
  file: string;
  name: string;
  /** 1-based line of the marker. */
  markerLine: number;
  /** 0-based indexes of the block's content lines in the file: [start, end). */
  start: number;
  end: number;
  /** What precedes each content line: four spaces (indented block) or the fence's indentation. */
  indent: string;
  lines: string[];
}

const MARKER = /^<!--\s*example:\s*([\w.-]+)\s*-->\s*$/;

/** README.md and every docs/**\/*.md: where examples may live (the README is being split into docs/). */
export function docFiles(root: string): string[] {
  const files = existsSync(join(root, 'README.md')) ? ['README.md'] : [];
  const docs = join(root, 'docs');
  if (existsSync(docs)) {
    for (const e of readdirSync(docs, { recursive: true, encoding: 'utf8' }).sort()) if (e.endsWith('.md')) files.push(join('docs', e));
  }
  return files;
}

/** The marked blocks of one Markdown text. A marker not followed by a code block is an error. */
export function markedBlocks(file: string, text: string): Block[] {
  const all = text.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < all.length; i++) {
    const m = MARKER.exec(all[i]!);
    if (!m) continue;
    let j = i + 1;
    while (j < all.length && all[j]!.trim() === '') j++;
    const fence = /^( {0,3})(`{3,}|~{3,})/.exec(all[j] ?? '');
    let start: number, end: number, indent: string;
    if (fence) {
      indent = fence[1]!;
      start = j + 1;
      end = start;
      const closes = (l: string) => {
        const c = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(l)?.[1];
        return c !== undefined && c[0] === fence[2]![0] && c.length >= fence[2]!.length;
      };
      while (end < all.length && !closes(all[end]!)) end++;
      if (end >= all.length) throw new Error(`${file}:${i + 1}: example '${m[1]}': its fence is never closed`);
    } else if (/^ {4}/.test(all[j] ?? '')) {
      indent = '    ';
      start = j;
      end = j;
      while (end < all.length && (/^ {4}/.test(all[end]!) || all[end]!.trim() === '')) end++;
      while (end > start && all[end - 1]!.trim() === '') end--;
    } else {
      throw new Error(`${file}:${i + 1}: example '${m[1]}' is not followed by a code block (fenced, or indented by four spaces)`);
    }
    const lines = all.slice(start, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()));
    out.push({ file, name: m[1]!, markerLine: i + 1, start, end, indent, lines });
  }
  return out;
}

/** The text with `blocks` (all of this file, from markedBlocks) replaced by their new lines. */
export function rewrite(text: string, blocks: { block: Block; lines: string[] }[]): string {
  const all = text.split('\n');
  for (const { block, lines } of [...blocks].sort((a, b) => b.block.start - a.block.start)) {
    all.splice(block.start, block.end - block.start, ...lines.map((l) => (l === '' ? '' : block.indent + l)));
  }
  return all.join('\n');
}

const OBJECT_ID = /\b[0-9a-f]{24}\b/g;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;

/**
 * Only what differs from run to run, nothing else: ids (numbered by first appearance, so
 * a block that shows one order twice must show the same id twice), times, durations as
 * src/fleet.ts span() writes them, sizes, paces, pids and the storage's byte counts
 * (the server's own figures), and a report row's wall, CPU and peak (a command under a
 * second may be seen by no look: no peak). Runs of spaces count as one: a table's columns
 * are as wide as the values in them, which vary.
 */
export function normalise(lines: string[]): string[] {
  const ids = new Map<string, string>();
  const uuids = new Map<string, string>();
  const numbered = (map: Map<string, string>, kind: string) => (t: string) => {
    if (!map.has(t)) map.set(t, `<${kind}${map.size + 1}>`);
    return map.get(t)!;
  };
  return lines.map((l) =>
    l
      .replace(UUID, numbered(uuids, 'uuid'))
      .replace(OBJECT_ID, numbered(ids, 'id'))
      .replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b/g, '<time>')
      .replace(/\b\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)\b/g, '<size>')
      // The driver's words for a refused connection depend on timing (ECONNREFUSED, or the
      // selection timeout when no attempt had failed yet): what waiter says around them stays.
      .replace(/(cannot reach the kitchen at \S+: ).*$/, "$1<the driver's error>")
      .replace(/\b\d+(\.\d+)?\/min\b/g, '<n>/min')
      // The cost (status): CPU hours, how many of the finished orders had a figure, and whether a look saw a peak vary between runs.
      .replace(/\b\d+\.\d+ hours\b/g, '<n> hours')
      .replace(/\b[\d,]+ of the last\b/g, '<n> of the last')
      .replace(/^memory {3}.*$/, 'memory   <peak>')
      // A waiter's default name (host/pid: the docs' host is vm), and what a report row says an attempt used.
      .replace(/\bvm\/\d+\b/g, 'vm/<pid>')
      .replace(/,\d+,\d*,\d*,(proc-sample\+wait|proc-sample|wall)$/, ',<wall_ms>,<cpu_ms>,<peak_rss_bytes>,$1')
      .replace(/"(cpuSeconds|withCpu|withPeak|cpuMeanSeconds|cpuMedianSeconds|wallMeanSeconds|wallMedianSeconds|peakMedianBytes|peakMaxBytes)":(?:[\d.]+|null)/g, '"$1":<n>')
      // /metrics: durations (how long the oldest READY order has waited) and rates move between runs.
      .replace(/^(waiter_\w+_(?:seconds|per_second)(?:\{[^}]*\})?) \S+$/, '$1 <n>')
      .replace(
        /"(pid|outputBytes|outputDiskBytes|fileBytes|fileDiskBytes|checkpointBytes|checkpointDiskBytes|pace1m|pace10m|medianRunSeconds|etaSeconds|etaPace|ageSeconds|oldestReadySeconds)":[\d.]+/g,
        '"$1":<n>',
      )
      .replace(/(?<![\w.-])(\d+ms|\d+(\.\d)?s|\d+m\d\ds|\d+h\d\dm|\d+d\d\dh)(?![\w-])/g, '<span>')
      .replace(/ {2,}/g, ' ')
      .trimEnd(),
  );
}

/** A readable line-by-line difference of two normalised blocks; '' when they are equal. */
export function difference(name: string, where: string, doc: string[], run: string[]): string {
  const a = normalise(doc);
  const b = normalise(run);
  if (a.length === b.length && a.every((l, i) => l === b[i])) return '';
  const out = [
    `${where}: example '${name}' differs from a real run (- the doc, + the run; compared normalised: ids, times, spans, sizes as <…>). \`npm run examples\` rewrites it.`,
  ];
  for (let i = 0; i < Math.max(doc.length, run.length); i++) {
    if (a[i] === b[i]) out.push(`  ${doc[i]}`);
    else {
      if (i < doc.length) out.push(`- ${doc[i]}`);
      if (i < run.length) out.push(`+ ${run[i]}`);
    }
  }
  return out.join('\n');
}

/**
 * The block as `npm run examples` writes it: unchanged when it matches, else the run's
 * lines whole (one run: times that agree with each other), with the doc's own ids (the
 * k-th distinct id of the run shown as the doc's k-th), so that a rewrite changes only
 * blocks that drifted, and in them no id that prose around them may quote.
 */
export function updated(doc: string[], run: string[]): string[] {
  const a = normalise(doc);
  const b = normalise(run);
  if (a.length === b.length && a.every((l, i) => l === b[i])) return doc;
  const docIds = [...new Set(doc.join('\n').match(OBJECT_ID) ?? [])];
  const runIds = [...new Set(run.join('\n').match(OBJECT_ID) ?? [])];
  const as = new Map(runIds.map((id, k) => [id, docIds[k] ?? id]));
  return run.map((l) => l.replace(OBJECT_ID, (id) => as.get(id) ?? id));
}
