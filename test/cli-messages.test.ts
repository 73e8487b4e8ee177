// What the CLI says when a command line is wrong, and how show lays out what it prints:
// no kitchen needed (the errors come before one is opened).
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { attemptLine, attemptSpan, render } from '../src/commands/show.js';
import type { Order } from '../src/order.js';
import { waiter } from './support/cli.js';

// Never reached: every command here fails before it would connect.
const nowhere = { uri: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200', name: 'never' };

describe('usage errors say what is wrong, in one line, exit 2', () => {
  test.each([
    [['stauts'], "waiter: unknown command 'stauts'. Did you mean status?"],
    [['--db', 'x', 'delivr', 'true'], "waiter: unknown command 'delivr'. Did you mean deliver?"],
    [['show'], 'waiter: show needs an order id (24 hex digits, as status, extract and waiters print it)'],
    [['load'], 'waiter: load needs a file: a CSV file, or - for standard input'],
    [['status', '--name', 'x'], 'waiter: Unknown argument: name'],
    // An option mistyped: the nearest of that command's options (yargs says only "Unknown argument").
    [['deliver', '--leese', '5s', './crunch.sh'], 'waiter: unknown option --leese. Did you mean --lease?'],
    [['deliver', '--max-atempts=3', './crunch.sh'], 'waiter: unknown option --max-atempts. Did you mean --max-attempts?'],
    [['status', '--jsn'], 'waiter: unknown option --jsn. Did you mean --json?'],
    [['load', '--uniq', 'x.csv'], 'waiter: unknown option --uniq. Did you mean --unique?'],
    // A dot in an option's name is part of the name, not yargs' object notation ("[object Object]").
    [['deliver', '--poll.x', '3', './crunch.sh'], 'waiter: unknown option --poll.x. Did you mean --poll?'],
    [['status', '--json.x'], 'waiter: unknown option --json.x. Did you mean --json?'],
  ])('waiter %j', async (args, message) => {
    const r = await waiter(nowhere, args);
    expect([r.exitCode, r.stderr, r.stdout]).toEqual([2, message, '']);
  });
});

describe('help lists what a command uses', () => {
  test("--name is deliver's (before or after the command word), not every command's; --heartbeat says its rule", async () => {
    const status = await waiter(nowhere, ['status', '--help']);
    expect(status.stdout).not.toContain('--name');
    const deliver = await waiter(nowhere, ['deliver', '--help']);
    expect(deliver.stdout).toMatch(/-n, --name +This waiter's name/);
    expect(deliver.stdout.replace(/\s+/g, ' ')).toContain('(default 10s, or a third of --lease when that is shorter)');
    const dry = await waiter(nowhere, ['-n', 'box-1', 'deliver', '--dry-run', '1', 'true']);
    expect(dry.stderr).not.toMatch(/Unknown argument/); // it got as far as the kitchen
    expect(dry.exitCode).toBe(3);
  });
});

describe('help names a required argument <id>, as the command needs it', () => {
  test('waiter --help and waiter show --help both say show <id>', async () => {
    const [root, show] = await Promise.all([waiter(nowhere, ['--help']), waiter(nowhere, ['show', '--help'])]);
    expect(root.stdout).toMatch(/^ {2}waiter show <id> /m);
    expect(root.stdout).not.toContain('show [id]');
    expect(show.stdout.split('\n')[0]).toBe('waiter show <id>');
  });
});

describe('show: a lost attempt ran from its start to at least its last heartbeat', () => {
  test('never "0ms": at least the span to its last heartbeat, or less than one heartbeat', () => {
    const start = new Date('2026-01-01T12:00:00Z');
    const lost = (stopS: number) => ({ attempt: 1, result: 'LOST' as const, waiter: 'box-g', start, stop: new Date(+start + stopS * 1000) });
    expect(attemptSpan(lost(0))).toBe('less than one heartbeat');
    expect(attemptSpan(lost(20))).toBe('at least 20s');
    expect(attemptSpan({ ...lost(3), result: 'DONE' })).toBe('3.0s');
    expect(attemptLine({ ...lost(0), error: 'lost: no heartbeat from box-g since 2026-01-01T12:00:00.000Z' })).toBe(
      '#1  LOST         box-g  2026-01-01T12:00:00.000Z  less than one heartbeat  lost: no heartbeat from box-g since 2026-01-01T12:00:00.000Z',
    );
  });
});

describe('show lays out one value per line', () => {
  test('a newline or an escape sequence in a workdir, an error or the output is shown escaped', () => {
    const o = {
      _id: new ObjectId('0123456789abcdef01234567'),
      status: 'ERROR',
      attempts: 1,
      arguments: ['a\nb'],
      waiter: 'box\n2',
      workdir: '/tmp/runs/a\nb',
      error: 'exit code 1\u001b[2J',
      output: 'line 1\n\u001b[31mred\tcell\n',
      history: [{ attempt: 1, result: 'ERROR', waiter: 'box\n2', start: new Date(0), stop: new Date(1000), error: 'bad\nthing' }],
    } as unknown as Order;
    const lines = render(o);
    expect(lines).toContain('arguments ["a\\nb"]');
    expect(lines).toContain('waiter    box\\n2');
    expect(lines).toContain('workdir   /tmp/runs/a\\nb');
    expect(lines).toContain('error     exit code 1\\x1b[2J');
    expect(lines).toContain('  \\x1b[31mred\tcell');
    expect(lines.find((l) => l.startsWith('  #1'))).toBe('  #1  ERROR        box\\n2  1970-01-01T00:00:00.000Z  1.0s  bad\\nthing');
    expect(lines.every((l) => !/[\u0000-\u0008\u000a-\u001f]/.test(l))).toBe(true);
  });
});
