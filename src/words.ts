// How counts read in the one-line results scripts parse (docs/exit-codes.md: "Lines you can
// parse"): the number first, always grouped the same way, the noun singular for one.

/** 1 order, 2 orders, 10,000 orders. */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;
}

/**
 * Text as one line of human output: control characters (a newline in a workdir, an
 * escape sequence in an error) shown as \n, \t, \x1b, so they cannot break the layout or
 * drive the terminal. `keep` lists the ones left as they are (the output tail keeps tabs).
 * JSON output is never passed through this: it has its own escaping.
 */
export function printable(text: string, keep = ''): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (keep.includes(c)) return c;
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16)}`);
  });
}

/**
 * JSON.stringify for what waiter prints (--json, NDJSON): it escapes U+0000-U+001F but
 * leaves DEL, the C1 controls (U+009B is an 8-bit CSI to some terminals) and U+2028/9 as
 * they are; here they are \u escapes too. Only ever inside strings: the value parses back the same.
 */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
