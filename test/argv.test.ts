import { describe, expect, test } from 'vitest';
import { splitRest } from '../src/cli.js';

describe("splitRest: everything after the command is the command's", () => {
  test('deliver options before the command stay with waiter', () => {
    expect(splitRest(['deliver', '-x', '3', '--once', './crunch.sh', '--some-param', 'v', '-x', '9'])).toEqual({
      head: ['deliver', '-x', '3', '--once'],
      rest: ['./crunch.sh', '--some-param', 'v', '-x', '9'],
    });
  });

  test('global options before the subcommand, with values', () => {
    expect(splitRest(['--db', 'deliver', '-k', 'mongodb://h/', 'deliver', '--timeout=5s', 'run.sh', '--db', 'x'])).toEqual({
      head: ['--db', 'deliver', '-k', 'mongodb://h/', 'deliver', '--timeout=5s'],
      rest: ['run.sh', '--db', 'x'],
    });
  });

  test("-- ends waiter's options; add takes everything after it verbatim", () => {
    expect(splitRest(['deliver', '--', '-weird-name', 'a'])).toEqual({ head: ['deliver'], rest: ['-weird-name', 'a'] });
    expect(splitRest(['add', '--', '--flag', '; rm -rf ~'])).toEqual({ head: ['add'], rest: ['--flag', '; rm -rf ~'] });
    expect(splitRest(['add', 'a', '--b'])).toEqual({ head: ['add'], rest: ['a', '--b'] });
  });

  test('other commands are left to yargs', () => {
    expect(splitRest(['status', '--json'])).toEqual({ head: ['status', '--json'], rest: [] });
  });
});
