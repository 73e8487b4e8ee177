// src/template.ts: parsing deliver's command once, expanding it per order. Pure.
import { describe, expect, test } from 'vitest';
import { checkColumnNames } from '../src/csv.js';
import { InputError } from '../src/errors.js';
import { shortHash, uniqueKey } from '../src/order.js';
import { argumentsHash, columnEnv, columnWarnings, envName, expand, expandWord, parseTemplate, placeholdersIn, type Fields } from '../src/template.js';

const order = (args: string[], names?: string[]): Fields => ({ arguments: args, names, id: '6b0423607656b985b0129d12', attempt: 2, waiter: 'box/7' });
const argv = (words: string[], f: Fields) => expand(parseTemplate(words), f);

describe('expand', () => {
  test('no placeholder: the words verbatim ({{ included), then the arguments (GNU parallel / xargs)', () => {
    const t = parseTemplate(['docker', 'inspect', '--format', '{{.Id}}', 'a b']);
    expect(t.placeholders).toBe(false);
    expect(expand(t, order(['x', 'y z']))).toEqual({ argv: ['docker', 'inspect', '--format', '{{.Id}}', 'a b', 'x', 'y z'] });
  });

  test('{} alone: the arguments as separate argv elements, wherever it stands; none for an empty row', () => {
    expect(argv(['cp', '{}', 'dest/'], order(['a b', 'c']))).toEqual({ argv: ['cp', 'a b', 'c', 'dest/'] });
    expect(argv(['ls', '{}'], order([]))).toEqual({ argv: ['ls'] });
  });

  test('{} inside a word: the arguments joined with single spaces', () => {
    expect(argv(['echo', 'in={}.txt'], order(['a', 'b c']))).toEqual({ argv: ['echo', 'in=a b c.txt'] });
  });

  test('{1}..{n}, alone and inside a word, in any order, repeated', () => {
    expect(argv(['convert', '{2}', 'out/{1}.png', '{1}{1}'], order(['cat', 'in.jpg']))).toEqual({ argv: ['convert', 'in.jpg', 'out/cat.png', 'catcat'] });
  });

  test('{name} from the named columns; built-ins {id} {attempt} {waiter} {hash}', () => {
    const f = order(['cat', '12'], ['animal', 'size']);
    expect(argv(['run', '--size={size}', '{animal}', '{id}', '{attempt}', '{waiter}', 'runs/{hash}'], f)).toEqual({
      argv: ['run', '--size=12', 'cat', '6b0423607656b985b0129d12', '2', 'box/7', `runs/${argumentsHash(['cat', '12'])}`],
    });
  });

  test('{{ and }} are literal braces once the command has a placeholder', () => {
    expect(argv(['jq', '{{"a": {1}}}', '{{}}'], order(['7']))).toEqual({ argv: ['jq', '{"a": 7}', '{}'] });
  });

  test('braces around anything else are plain text', () => {
    expect(argv(['awk', '{print $1}', '{a,b}', '{.}', '{1}'], order(['f']))).toEqual({ argv: ['awk', '{print $1}', '{a,b}', '{.}', 'f'] });
  });

  test('shell metacharacters in fields stay one verbatim argument', () => {
    const nasty = ['; rm -rf ~', '$(touch /tmp/pwned)', '`id`', "it's", '"q"', '*', ''];
    expect(argv(['echo', '{}', 'x{1}'], order(nasty))).toEqual({ argv: ['echo', ...nasty, 'x; rm -rf ~'] });
  });

  test('a placeholder the order cannot fill is an error, not a guess', () => {
    expect(argv(['x', '{4}'], order(['a', 'b', 'c']))).toEqual({ error: '{4}: the order has 3 arguments' });
    expect(argv(['x', '{size}'], order(['a']))).toEqual({ error: '{size}: the order has no named columns (load the list with --header, or add --field)' });
    expect(argv(['x', '{size}'], order(['a'], ['name']))).toEqual({ error: "{size}: no column named 'size' (columns: name)" });
    expect(argv(['x', '{b}'], order(['a'], ['a', 'b']))).toEqual({ error: '{b}: column 2 is missing: the order has 1 argument' });
    expect(argv(['{}'], order([]))).toMatchObject({ error: expect.stringMatching(/command is empty/) });
  });

  test('{0} is refused when parsed', () => {
    expect(() => parseTemplate(['x', '{0}'])).toThrow('{0}: argument positions start at {1}');
  });

  test('expandWord (--workdir): one path; {} joined', () => {
    expect(expandWord(parseTemplate(['runs/{1}-{2}']), order(['a', 'b']))).toEqual({ text: 'runs/a-b' });
    expect(expandWord(parseTemplate(['runs/{3}']), order(['a']))).toEqual({ error: '{3}: the order has 1 argument' });
  });

  test('expandWord (--workdir) without a placeholder: the folder as written, the arguments never appended', () => {
    expect(expandWord(parseTemplate(['runs']), order(['a.png', '720p']))).toEqual({ text: 'runs' });
    expect(expandWord(parseTemplate(['runs/{{x}}']), order(['a']))).toEqual({ text: 'runs/{{x}}' });
  });

  test('expandWord (--workdir): a value must be one folder name, so no order reaches outside the literal folder', () => {
    const w = (t: string, args: string[]) => expandWord(parseTemplate([t]), order(args));
    const rule = 'a value in --workdir must be one folder name';
    expect(w('runs/{1}', ['../../x'])).toEqual({ error: `{1}: the value "../../x" contains '/'; ${rule}` });
    expect(w('runs/{1}', ['..'])).toEqual({ error: `{1}: the value ".." is '..'; ${rule}` });
    expect(w('runs/{1}', ['.'])).toEqual({ error: `{1}: the value "." is '.'; ${rule}` });
    expect(w('runs/{1}', ['a\0b'])).toEqual({ error: `{1}: the value "a\\u0000b" contains a NUL byte; ${rule}` });
    expect(w('runs/x-{}', ['ok', '/etc'])).toEqual({ error: `{}: the value "/etc" contains '/'; ${rule}` });
    expect(w('/abs/{1}', ['/etc'])).toMatchObject({ error: expect.stringContaining("contains '/'") });
    // An empty value beside literal dots would make '..' too.
    expect(w('runs/.{1}./x', [''])).toEqual({ error: `a placeholder makes the path segment '..' in 'runs/.{1}./x'; ${rule}` });
    expect(w('runs/{1}{2}', ['', '.'])).toEqual({ error: `{2}: the value "." is '.'; ${rule}` });
    // Allowed: dots inside a name, spaces, the operator's own literal '..', an empty value.
    expect(w('runs/{1}-{2}', ['..a', 'b c'])).toEqual({ text: 'runs/..a-b c' });
    expect(w('../runs/{1}', ['a'])).toEqual({ text: '../runs/a' });
    expect(w('runs/{1}/x', [''])).toEqual({ text: 'runs//x' });
    expect(w('runs/{id}-{attempt}-{hash}', ['a'])).toMatchObject({ text: expect.stringMatching(/^runs\/[0-9a-f]+-2-[0-9a-f]{16}$/) });
  });
});

describe('--shell refusal and names', () => {
  test("placeholdersIn finds ours, not the shell's ${…} nor escaped braces", () => {
    expect(placeholdersIn('convert {} out/{1}.png')).toEqual(['{}', '{1}']);
    expect(placeholdersIn('echo ${HOME} ${1} {{x}} {a b}')).toEqual([]);
    expect(placeholdersIn('echo {name}')).toEqual(['{name}']);
    expect(placeholdersIn('find . -exec rm {\\} \\;')).toEqual([]); // the README's way to a literal {} in a snippet
  });

  test('WAITER_ARG_<NAME>: uppercased, other than A-Z 0-9 _ becomes _', () => {
    expect(envName('file name')).toBe('WAITER_ARG_FILE_NAME');
    expect(envName('size-mb.2')).toBe('WAITER_ARG_SIZE_MB_2');
    expect(envName('größe')).toBe('WAITER_ARG_GR_SSE');
    expect(columnEnv(['a', 'b c'], ['1'])).toEqual({ WAITER_ARG_A: '1' });
  });

  test('column names: empty, duplicate, or the same variable are refused; unusable ones warned about', () => {
    expect(() => checkColumnNames(['a', ''], 'f.csv line 1')).toThrow(new InputError('f.csv line 1: column 2 has an empty name'));
    expect(() => checkColumnNames(['a', 'b', 'a'], 'f.csv line 1')).toThrow("f.csv line 1: duplicate column name 'a' (columns 1 and 3)");
    expect(() => checkColumnNames(['a-b', 'a_b'], 'w')).toThrow("w: columns 'a-b' and 'a_b' would both be WAITER_ARG_A_B");
    expect(columnWarnings(['id', 'file name', 'ok'])).toEqual([
      "column 'id' is shadowed by the built-in {id}: use {1} or $WAITER_ARG_ID",
      "column 'file name' cannot be written {file name}: use {2} or $WAITER_ARG_FILE_NAME",
    ]);
  });

  test('{hash} is stable and depends only on the arguments; the unique key also on the list', () => {
    expect(argumentsHash(['a', 'b'])).toMatch(/^[0-9a-f]{16}$/);
    // Pinned: folders already named {hash} and saved column ids depend on it; one helper for both.
    expect(argumentsHash(['a', 'b'])).toBe('0473ef2dc0d324ab');
    expect(shortHash(['a', 'b'])).toBe('0473ef2dc0d324ab');
    expect(argumentsHash(['a', 'b'])).toBe(argumentsHash(['a', 'b']));
    expect(argumentsHash(['a,b'])).not.toBe(argumentsHash(['a', 'b']));
    expect(uniqueKey('orders', ['a'])).toMatch(/^a"\][A-Za-z0-9_-]{22}$/);
    const long = ['x'.repeat(40), 'y'];
    expect(uniqueKey('orders', long)).toHaveLength(32 + 22);
    expect(uniqueKey('orders', long)).not.toBe(uniqueKey('orders', ['x'.repeat(40), 'z'])); // same prefix, other hash
    expect(uniqueKey('orders', ['x'.repeat(31) + '😀'])).toHaveLength(31 + 22); // never half a surrogate pair
    expect(uniqueKey('orders', ['a'])).not.toBe(uniqueKey('other', ['a']));
  });
});
