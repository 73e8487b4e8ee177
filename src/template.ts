// Placeholders in deliver's command and --workdir: parsed once, expanded per order.
// Pure: no I/O. The expansion is argv in, argv out, never a shell string, so a field
// holding `; rm -rf ~` or `$(…)` reaches the program verbatim.
//
//   {}          all the order's arguments: separate argv elements when the word is
//               exactly `{}`, joined with single spaces inside a word (GNU parallel)
//   {1} … {n}   one argument
//   {name}      the column of that name (list loaded with --header, or add --field)
//   {id} {attempt} {waiter} {hash}   the order's id, attempt, this waiter, argumentsHash()
//   {{  }}      a literal { or }
// A command without any placeholder is used verbatim, `{{` included (so a Go template
// such as --format '{{.Id}}' keeps working), and gets the arguments appended.
// Anything else in braces (`{a b}`, `{print $1}`, `{x,y}`) is literal text. Names in
// braces are [A-Za-z_][A-Za-z0-9_.-]*; a column with another name is reached by
// position or by its WAITER_ARG_ variable. Built-in names win over columns.
import { createHash } from 'node:crypto';

export type Slot =
  | { kind: 'all' }
  | { kind: 'position'; n: number }
  | { kind: 'id' | 'attempt' | 'waiter' | 'hash' }
  | { kind: 'column'; name: string };

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
}

export type Expanded = { argv: string[]; error?: undefined } | { error: string; argv?: undefined };

const BUILT_IN = new Set(['id', 'attempt', 'waiter', 'hash']);
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
  if (BUILT_IN.has(inner)) return { kind: inner as 'id' | 'attempt' | 'waiter' | 'hash' };
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
  let hash: string | undefined;
  for (const word of t.words) {
    if (word.length === 1 && typeof word[0] !== 'string' && word[0]!.kind === 'all') {
      argv.push(...f.arguments);
      continue;
    }
    let text = '';
    for (const p of word) {
      if (typeof p === 'string') {
        text += p;
        continue;
      }
      switch (p.kind) {
        case 'all':
          text += f.arguments.join(' ');
          break;
        case 'position': {
          const v = f.arguments[p.n - 1];
          if (v === undefined) return { error: `{${p.n}}: the order has ${count(f.arguments.length)}` };
          text += v;
          break;
        }
        case 'column': {
          const v = column(f, p.name);
          if (typeof v !== 'string') return v;
          text += v;
          break;
        }
        case 'id':
          text += f.id;
          break;
        case 'attempt':
          text += String(f.attempt);
          break;
        case 'waiter':
          text += f.waiter;
          break;
        case 'hash':
          text += hash ??= argumentsHash(f.arguments);
          break;
      }
    }
    argv.push(text);
  }
  if (argv.length === 0) return { error: 'the command is empty once {} is expanded (the order has no arguments)' };
  return { argv };
}

/** Expands a one-word template (--workdir). */
export function expandWord(t: Template, f: Fields): { text: string; error?: undefined } | { error: string; text?: undefined } {
  const e = expand(t, f);
  if (e.error !== undefined) return { error: e.error };
  return { text: e.argv.join(' ') };
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
  return createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 16);
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
