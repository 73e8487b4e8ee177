// Placeholders in deliver's command and --workdir: parsed once, expanded per order.
// Pure: no I/O. The expansion is argv in, argv out, never a shell string, so a field
// holding `; rm -rf ~` or `$(…)` reaches the program verbatim.
//
//   {}          all the order's arguments: separate argv elements when the word is
//               exactly `{}`, joined with single spaces inside a word (GNU parallel)
//   {1} … {n}   one argument
//   {name}      the column of that name (list loaded with --header, or add --field)
//   {id} {attempt} {waiter} {hash}   the order's id, attempt, this waiter, argumentsHash()
//   {after}     the ids it waited for (add --after), comma-separated; empty if none
//   {{  }}      a literal { or }
// A command without any placeholder is used verbatim, `{{` included (so a Go template
// such as --format '{{.Id}}' keeps working), and gets the arguments appended; a
// --workdir without any is one folder, used as written (expandWord: nothing appended,
// and each value put in must be one folder name).
// Anything else in braces (`{a b}`, `{print $1}`, `{x,y}`) is literal text. Names in
// braces are [A-Za-z_][A-Za-z0-9_.-]*; a column with another name is reached by
// position or by its WAITER_ARG_ variable. Built-in names win over columns.
import { shortHash } from './order.js';

export type Slot = { kind: 'all' } | { kind: 'position'; n: number } | { kind: 'id' | 'attempt' | 'waiter' | 'hash' | 'after' } | { kind: 'column'; name: string };

/** One argv word: literal text and slots, in order. */
export type Word = readonly (string | Slot)[];

export interface Template {
  readonly words: readonly Word[];
  /** False when no word holds a slot: then the order's arguments are appended (GNU parallel's rule). */
  readonly placeholders: boolean;
  /** The words as given: used as they are when there is no placeholder (no `{{` unescaping either). */
  readonly source: readonly string[];
}

/** What an order offers to a template. */
export interface Fields {
  arguments: readonly string[];
  /** Column names by position, when the order has named columns. */
  names?: readonly string[] | undefined;
  id: string;
  attempt: number;
  waiter: string;
  /** {after}: the ids the order waited for, comma-separated (add --after). */
  after?: string;
}

export type Expanded = { argv: string[]; error?: undefined } | { error: string; argv?: undefined };

const BUILT_IN = new Set(['id', 'attempt', 'waiter', 'hash', 'after']);
const TOKEN = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.-]*|\d+|)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Parses the words of a command. Throws a plain Error for `{0}` (the caller makes it a usage error). */
export function parseTemplate(words: readonly string[]): Template {
  let placeholders = false;
  const parsed = words.map((w) => {
    const word = parseWord(w);
    if (word.some((p) => typeof p !== 'string')) placeholders = true;
    return word;
  });
  return { words: parsed, placeholders, source: [...words] };
}

function parseWord(text: string): Word {
  const out: (string | Slot)[] = [];
  let lit = '';
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    lit += text.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[0] === '{{' || m[0] === '}}') {
      lit += m[0][0];
      continue;
    }
    if (lit) out.push(lit);
    lit = '';
    out.push(slot(m[1]!));
  }
  lit += text.slice(last);
  if (lit || out.length === 0) out.push(lit);
  return out;
}

function slot(inner: string): Slot {
  if (inner === '') return { kind: 'all' };
  if (/^\d+$/.test(inner)) {
    const n = Number(inner);
    if (n < 1) throw new Error(`{${inner}}: argument positions start at {1}`);
    return { kind: 'position', n };
  }
  if (BUILT_IN.has(inner)) return { kind: inner as 'id' | 'attempt' | 'waiter' | 'hash' | 'after' };
  return { kind: 'column', name: inner };
}

/** The placeholders a text holds, as written (for --shell's refusal). `${…}` is the shell's, not ours. */
export function placeholdersIn(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(TOKEN)) {
    if (m[0] !== '{{' && m[0] !== '}}' && text[m.index - 1] !== '$') found.push(m[0]);
  }
  return found;
}

/** A column name usable as {name}. */
export function isPlaceholderName(name: string): boolean {
  return NAME.test(name) && !BUILT_IN.has(name);
}

/**
 * The argv for one order. Without placeholders: the words, then the arguments.
 * An order lacking what a slot names gives `{error}` (the order ends in ERROR, unrun).
 */
export function expand(t: Template, f: Fields): Expanded {
  if (!t.placeholders) {
    const argv = [...t.source];
    for (const a of f.arguments) argv.push(a);
    return { argv };
  }
  const argv: string[] = [];
  const hash = { value: undefined as string | undefined };
  for (const word of t.words) {
    if (word.length === 1 && typeof word[0] !== 'string' && word[0]!.kind === 'all') {
      argv.push(...f.arguments);
      continue;
    }
    let text = '';
    for (const p of word) {
      const v = typeof p === 'string' ? p : fill(p, f, hash);
      if (typeof v !== 'string') return v;
      text += v;
    }
    argv.push(text);
  }
  if (argv.length === 0) return { error: 'the command is empty once {} is expanded (the order has no arguments)' };
  return { argv };
}

/** One slot's text for an order, or why the order cannot fill it. `hash` caches {hash} per expansion. */
function fill(p: Slot, f: Fields, hash: { value: string | undefined }): string | { error: string } {
  switch (p.kind) {
    case 'all':
      return f.arguments.join(' ');
    case 'position': {
      const v = f.arguments[p.n - 1];
      return v ?? { error: `{${p.n}}: the order has ${count(f.arguments.length)}` };
    }
    case 'column':
      return column(f, p.name);
    case 'id':
      return f.id;
    case 'attempt':
      return String(f.attempt);
    case 'waiter':
      return f.waiter;
    case 'hash':
      return (hash.value ??= argumentsHash(f.arguments));
    case 'after':
      return f.after ?? '';
  }
}

/**
 * Expands the --workdir template: one folder path. Without placeholders it is used as
 * it is (nothing appended: `--workdir runs` is the folder runs). With them, every value
 * put in (each argument for {}) must be usable as ONE folder name: no '/', no NUL, not
 * '.' or '..', and no path segment holding a placeholder may come out as '.' or '..'
 * (`{1}{2}` from '.' and '.'). So an order's fields (which may come from anyone who can
 * POST /api/orders) choose a folder inside the one the template's literal text names,
 * never one outside it; an order that breaks the rule ends in ERROR, unrun.
 */
export function expandWord(t: Template, f: Fields): { text: string; error?: undefined } | { error: string; text?: undefined } {
  if (!t.placeholders) return { text: t.source.join(' ') };
  const hash = { value: undefined as string | undefined };
  const words: string[] = [];
  for (const word of t.words) {
    let text = '';
    /** Where the current path segment began in `text`, and whether a value went into it. */
    let segment = 0;
    let filled = false;
    const endSegment = (end: number): { error: string } | undefined => {
      const s = text.slice(segment, end);
      if (filled && (s === '.' || s === '..')) return { error: `a placeholder makes the path segment '${s}' in '${source(word)}'; a value in --workdir must be one folder name` };
      return undefined;
    };
    for (const p of word) {
      if (typeof p === 'string') {
        for (const ch of p) {
          if (ch === '/') {
            const bad = endSegment(text.length);
            if (bad) return bad;
            segment = text.length + 1;
            filled = false;
          }
          text += ch;
        }
        continue;
      }
      const values = p.kind === 'all' ? f.arguments : [fill(p, f, hash)];
      for (const v of values) {
        if (typeof v !== 'string') return v;
        const why = v.includes('/') ? "contains '/'" : v.includes('\0') ? 'contains a NUL byte' : v === '.' || v === '..' ? `is '${v}'` : undefined;
        if (why) return { error: `${slotText(p)}: the value ${JSON.stringify(v)} ${why}; a value in --workdir must be one folder name` };
      }
      const v = fill(p, f, hash) as string;
      text += v;
      filled = true;
    }
    const bad = endSegment(text.length);
    if (bad) return bad;
    words.push(text);
  }
  return { text: words.join(' ') };
}

function slotText(p: Slot): string {
  switch (p.kind) {
    case 'all':
      return '{}';
    case 'position':
      return `{${p.n}}`;
    case 'column':
      return `{${p.name}}`;
    default:
      return `{${p.kind}}`;
  }
}

/** A parsed word written back (for messages). */
function source(word: Word): string {
  return word.map((p) => (typeof p === 'string' ? p.replace(/[{}]/g, '$&$&') : slotText(p))).join('');
}

function column(f: Fields, name: string): string | { error: string } {
  if (!f.names) return { error: `{${name}}: the order has no named columns (load the list with --header, or add --field)` };
  const i = f.names.indexOf(name);
  if (i === -1) return { error: `{${name}}: no column named '${name}' (columns: ${f.names.join(', ')})` };
  const v = f.arguments[i];
  if (v === undefined) return { error: `{${name}}: column ${i + 1} is missing: the order has ${count(f.arguments.length)}` };
  return v;
}

function count(n: number): string {
  return n === 1 ? '1 argument' : `${n} arguments`;
}

/** {hash}: a short stable hash of the arguments (64 bits of SHA-256, hex): the same arguments give the same hash anywhere. */
export function argumentsHash(args: readonly string[]): string {
  return shortHash(args);
}

/** `WAITER_ARG_<NAME>`: the name uppercased, each character other than A-Z, 0-9 and _ replaced by _. */
export function envName(column: string): string {
  return `WAITER_ARG_${column.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

/** What a user should know about column names deliver cannot reach by {name}. */
export function columnWarnings(names: readonly string[]): string[] {
  return names.flatMap((n, i) => {
    if (BUILT_IN.has(n)) return [`column '${n}' is shadowed by the built-in {${n}}: use {${i + 1}} or $${envName(n)}`];
    if (!NAME.test(n)) return [`column '${n}' cannot be written {${n}}: use {${i + 1}} or $${envName(n)}`];
    return [];
  });
}

/** The environment variables for an order's named columns (missing fields are left out). */
export function columnEnv(names: readonly string[] | undefined, args: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  if (!names) return env;
  names.forEach((n, i) => {
    const v = args[i];
    if (v !== undefined) env[envName(n)] = v;
  });
  return env;
}
