// src/template.ts: parsing deliver's command once, expanding it per order. Pure.
import { describe, expect, test } from 'vitest';
import { checkColumnNames } from '../src/csv.js';
import { InputError } from '../src/errors.js';
import { uniqueKey } from '../src/order.js';
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
});

describe('--shell refusal and names', () => {
  test('placeholdersIn finds ours, not the shell\'s ${…} nor escaped braces', () => {
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
