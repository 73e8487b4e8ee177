// The interruption watchers (src/interrupt/) against a loopback stand-in of the metadata
// services (test/support/metadata.ts), and what a notice does to the waiter's Shutdown.
// No test here or anywhere reaches the real link-local services (the guard below).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { main } from '../src/cli.js';
import { Shutdown } from '../src/deliver/shutdown.js';
import { awsNotice, watchAws } from '../src/interrupt/aws.js';
import { ask } from '../src/interrupt/http.js';
import { fileNotice, FILE_NOTICE_MS, watchFile } from '../src/interrupt/file.js';
import { GCP_NOTICE_MS, watchGcp } from '../src/interrupt/gcp.js';
import { MIN_NOTICE_MS, poll, type Notice, type Watcher } from '../src/interrupt/notice.js';
import { act, NOTICE_MARGIN_MS, watchInterruptions, type Rates } from '../src/interrupt/watch.js';
import { FIXTURES, ROOT, until } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { metadataGuard, metadataStandIn, refusingPort, type StandIn } from './support/metadata.js';
import { addOrders, background, byId, killAfterTest, orders, pidFrom, tempDir } from './support/recovery.js';

const QUICK: Rates = { awsEveryMs: 20, gcpGapMs: 20, gcpRetryMs: 20, gcpWaitS: 5, fileEveryMs: 20, timeoutMs: 1000 };

const open: (StandIn | Watcher)[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await ('close' in o ? o.close() : o.stop());
});
async function standIn(): Promise<StandIn> {
  const s = await metadataStandIn();
  open.push(s);
  return s;
}
function watching(w: Watcher): Watcher {
  open.push(w);
  return w;
}
/** Collects the notices and failures a watcher reports. */
function sink() {
  const notices: Notice[] = [];
  const failures: unknown[] = [];
  return { notices, failures, notice: (n: Notice) => notices.push(n), failing: (e: unknown) => failures.push(e) };
}

describe('aws: IMDSv2, spot/instance-action every poll', () => {
  test('asks a token (PUT with its TTL) once, polls with it: 404 is no notice, then the notice', async () => {
    const s = await standIn();
    const got = sink();
    const w = watching(watchAws({ endpoint: new URL(s.url), everyMs: 20, timeoutMs: 1000 }, got.notice, got.failing));
    await until(() => w.polls >= 3, 10_000, 'three polls');
    expect(got.notices).toEqual([]);
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 + 100_000);
    s.aws.notice = { action: 'terminate', time: time.toISOString() };
    await until(() => got.notices.length > 0, 10_000, 'the notice');
    expect(got.notices[0]).toMatchObject({ from: 'aws', action: 'terminate', deadline: time });
    expect(got.failures).toEqual([]);
    const puts = s.requests.filter((r) => r.startsWith('PUT'));
    expect(puts).toEqual(['PUT /latest/api/token']);
    expect(s.requests.filter((r) => r.startsWith('GET')).every((r) => r === 'GET /latest/meta-data/spot/instance-action [token-1]')).toBe(true);
  });

  test('a token the service no longer knows (401): a new one, no failure said', async () => {
    const s = await standIn();
    const got = sink();
    const w = watching(watchAws({ endpoint: new URL(s.url), everyMs: 20, timeoutMs: 1000 }, got.notice, got.failing));
    await until(() => w.polls >= 2, 10_000, 'two polls');
    s.aws.tokens.clear();
    await until(() => s.requests.includes('GET /latest/meta-data/spot/instance-action [token-2]'), 10_000, 'a second token');
    expect(got.failures).toEqual([]);
  });

  test("the notice's time is the deadline, kept within [seen + 5 s, seen + 2 min]", () => {
    const seen = new Date('2026-05-01T10:00:00Z');
    const at = (s: number) => new Date(+seen + s * 1000);
    const notice = (action: string, time: string) => awsNotice(JSON.stringify({ action, time }), seen);
    expect(notice('stop', '2026-05-01T10:01:30Z')).toEqual({ from: 'aws', action: 'stop', seen, deadline: at(90) });
    expect(notice('hibernate', '2026-05-01T12:01:30+02:00')).toEqual({ from: 'aws', action: 'hibernate', seen, deadline: at(90) });
    // Far ahead: EC2 gives two minutes, not a day. Near, or a little past (seen late): SIGTERM's 5 s.
    expect(notice('terminate', '2026-05-02T10:00:00Z')).toMatchObject({ deadline: at(120) });
    expect(notice('terminate', '2026-05-01T10:00:01Z')).toMatchObject({ deadline: at(MIN_NOTICE_MS / 1000) });
    expect(notice('terminate', '2026-05-01T09:59:00Z')).toMatchObject({ deadline: at(MIN_NOTICE_MS / 1000) });
  });

  test('an answer that is not a notice is not one (said why): garbage, an unknown action, a time without a zone or long past', () => {
    const seen = new Date('2026-05-01T10:00:00Z');
    const ignored = (body: string) => {
      const r = awsNotice(body, seen);
      expect(r, body).toMatchObject({ ignored: expect.any(String) });
      return (r as { ignored: string }).ignored;
    };
    expect(ignored('{"time":"0"}')).toBe('no action (terminate, stop or hibernate)');
    expect(ignored('{"action":"terminate","time":"0"}')).toBe('the time "0" (not ISO 8601 with a zone)');
    expect(ignored('<html>')).toBe('"<html>" (not JSON)');
    expect(ignored('null')).toBe('no action (terminate, stop or hibernate)');
    expect(ignored('{"action":"reboot","time":"2026-05-01T10:01:00Z"}')).toBe('the action "reboot" (not terminate, stop or hibernate)');
    // Read as local time it would be hours off, one way or the other.
    expect(ignored('{"action":"terminate","time":"2026-05-01T10:01:00"}')).toBe('the time "2026-05-01T10:01:00" (not ISO 8601 with a zone)');
    // A leftover of a termination that did not happen: not a box going away now.
    expect(awsNotice('{"action":"terminate","time":"2026-05-01T09:57:59Z"}', seen)).toMatchObject({ stale: true });
    expect(ignored('{"action":"terminate","time":"2026-05-01T09:57:59Z"}')).toBe('the time 2026-05-01T09:57:59.000Z, over 2 minutes before it was seen (a leftover)');
    expect(ignored(`{"action":"terminate","time":"${'9'.repeat(300)}"}`)).toMatch(/^the time "9{40}…" \(not ISO/);
  });

  test('a stand-in answering garbage, then a stale time: said once in the log, not a notice; polling goes on and hears the real one', async () => {
    const s = await standIn();
    s.aws.notice = '<html>oops</html>';
    const s2 = new Shutdown();
    const log: string[] = [];
    const stop = watchInterruptions({ cloud: 'aws', endpoint: new URL(s.url) }, s2, (l) => log.push(l), QUICK);
    try {
      const polls = () => s.requests.filter((r) => r.startsWith('GET')).length;
      await until(() => polls() >= 3, 10_000, 'three looks');
      s.aws.notice = { action: 'terminate', time: '2020-01-01T00:00:00Z' };
      const before = polls();
      await until(() => polls() >= before + 3, 10_000, 'three more looks');
      expect(s2.stopping).toBe(false);
      expect(log).toEqual([
        `waiter: --interruptions aws: spot/instance-action answered "<html>oops</html>" (not JSON): not taken as a notice; watching on (said once)`,
        `waiter: --interruptions aws: spot/instance-action answered the time 2020-01-01T00:00:00.000Z, over 2 minutes before it was seen (a leftover): not taken as a notice; watching on (said once)`,
      ]);
      s.aws.notice = { action: 'terminate', time: new Date(Date.now() + 60_000).toISOString() };
      await until(() => s2.stopping, 10_000, 'the notice');
      expect(s2.killAs).toBe('preempt');
    } finally {
      stop();
    }
  });
});

describe('gcp: instance/preempted with wait_for_change', () => {
  test('reads FALSE at once, then waits for the change with its ETag: TRUE is the notice, 30 s to go', async () => {
    const s = await standIn();
    const got = sink();
    watching(watchGcp({ endpoint: new URL(s.url), gapMs: 20, retryMs: 20, timeoutMs: 1000, waitS: 5 }, got.notice, got.failing));
    const waiting = 'GET /computeMetadata/v1/instance/preempted?wait_for_change=true&last_etag=e0&timeout_sec=5';
    await until(() => s.requests.includes(waiting), 10_000, 'a wait_for_change look');
    expect(s.requests.slice(0, 2)).toEqual(['GET /computeMetadata/v1/instance/preempted', waiting]);
    expect(got.notices).toEqual([]);
    s.preempt();
    await until(() => got.notices.length > 0, 10_000, 'the notice');
    const n = got.notices[0]!;
    expect([n.from, n.action, +n.deadline - +n.seen]).toEqual(['gcp', 'preempted', GCP_NOTICE_MS]);
    // Heard from the held look itself, not a later one.
    expect(s.requests.length).toBe(2);
    expect(got.failures).toEqual([]);
  });
});

describe('an endpoint that does not answer (not on that cloud)', () => {
  test('is said once in the log, not fatal: polling goes on quietly', async () => {
    const endpoint = new URL(await refusingPort());
    const got = sink();
    const w = watching(watchAws({ endpoint, everyMs: 10, timeoutMs: 1000 }, got.notice, got.failing));
    await until(() => w.polls >= 5, 10_000, 'five polls');
    expect(got.failures).toHaveLength(1);
    const g = watching(watchGcp({ endpoint, gapMs: 10, retryMs: 10, timeoutMs: 1000, waitS: 5 }, got.notice, got.failing));
    await until(() => g.polls >= 5, 10_000, 'five gcp polls');
    expect(got.failures).toHaveLength(2);

    const log: string[] = [];
    const stop = watchInterruptions({ cloud: 'aws', endpoint }, { preempt: () => undefined, describe: () => '' }, (l) => log.push(l), QUICK);
    try {
      await until(() => log.length > 0, 10_000, 'the line');
      expect(log).toEqual([`waiter: --interruptions aws: no answer from the metadata service at ${endpoint.origin} (ECONNREFUSED); not on EC2? Watching on quietly`]);
    } finally {
      stop();
    }
  });
});

describe('a notice that cannot be acted on', () => {
  test('an onNotice that throws is said (failing), not an unhandled rejection; the watcher stops as after any notice', async () => {
    const got = sink();
    const notice: Notice = { from: 'file x', action: 'going away', seen: new Date(), deadline: new Date() };
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => rejections.push(e);
    process.on('unhandledRejection', onRejection);
    try {
      const w = watching(
        poll(
          () => Promise.resolve(notice),
          () => 10,
          () => {
            throw new Error('stderr is gone');
          },
          got.failing,
        ),
      );
      await until(() => got.failures.length > 0, 10_000, 'the failure said');
      // One turn more: an unhandled rejection would be reported by now.
      await new Promise((r) => setImmediate(r));
      expect([w.polls, (got.failures[0] as Error).message, rejections]).toEqual([1, 'stderr is gone', []]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  test('watchInterruptions: a Shutdown whose preempt throws is logged, the waiter goes on', async () => {
    const dir = await tempDir('notice');
    const path = join(dir, 'going');
    await writeFile(path, '');
    const log: string[] = [];
    const broken = {
      preempt: () => {
        throw new Error('no slots');
      },
      describe: () => '',
    };
    const stop = watchInterruptions({ cloud: 'off', file: path }, broken, (l) => log.push(l), QUICK);
    stop();
    expect(log.at(-1)).toBe('waiter: acting on the interruption notice failed (no slots); going on');
  });
});

describe('--interruption-file', () => {
  test('a file appearing is the notice: its time if it holds one, else 30 s', async () => {
    const dir = await tempDir('notice');
    const path = join(dir, 'going');
    const got = sink();
    const w = watching(watchFile({ path, everyMs: 20 }, got.notice, got.failing));
    await until(() => w.polls >= 2, 10_000, 'two looks');
    expect(got.notices).toEqual([]);
    await writeFile(path, '2030-01-01T00:00:00Z\n');
    await until(() => got.notices.length > 0, 10_000, 'the notice');
    expect(got.notices[0]).toMatchObject({ from: `file ${path}`, deadline: new Date('2030-01-01T00:00:00Z') });
    const seen = new Date();
    expect(+fileNotice(path, 'draining, bye', seen).deadline - +seen).toBe(FILE_NOTICE_MS);
    expect(+fileNotice(path, '', seen).deadline - +seen).toBe(FILE_NOTICE_MS);
  });

  test('a file already there is a notice at once, before anything could be claimed', async () => {
    const dir = await tempDir('notice');
    const path = join(dir, 'going');
    await writeFile(path, '');
    const s = new Shutdown();
    const stop = watchInterruptions({ cloud: 'off', file: path }, s, () => undefined, QUICK);
    stop();
    expect([s.stopping, s.killAs]).toEqual([true, 'preempt']);
    expect(s.reason).toMatch(new RegExp(`^interruption notice \\(file ${path}\\) at \\S+Z: going away at \\S+Z$`));
  });
});

describe("a notice stops the waiter's Shutdown as 'preempt'", () => {
  test('no new claims; running commands are killed now as preempt, SIGKILL the margin before the deadline', async () => {
    const dir = await tempDir('notice');
    const path = join(dir, 'going');
    const s = new Shutdown(60_000);
    const kills: unknown[] = [];
    s.onKill((as, ms) => kills.push([as, ms]));
    s.describe = () => '4 running order(s)';
    const log: string[] = [];
    const deadline = new Date(Date.now() + 60_000);
    const stop = watchInterruptions({ cloud: 'off', file: path }, s, (l) => log.push(l), QUICK);
    try {
      await writeFile(path, deadline.toISOString());
      await until(() => s.stopping, 10_000, 'the notice');
    } finally {
      stop();
    }
    expect(s.phase).toBe('killing');
    const [[as, ms]] = kills as [[string, number]];
    expect(as).toBe('preempt');
    expect(ms).toBeLessThanOrEqual(60_000 - NOTICE_MARGIN_MS);
    expect(ms).toBeGreaterThan(0);
    expect(s.by).toBe(s.reason);
    expect(s.by).toMatch(/^interruption notice \(file .*\) at .*: going away at /);
    expect(log).toEqual([
      expect.stringMatching(/^waiter: interruption notice .*: no new orders; telling 4 running order\(s\) to stop \(SIGTERM now, SIGKILL in \d+ s\) and putting them back READY$/),
    ]);
    // A signal after it changes nothing: the exit status stays a clean stop's.
    s.receive('SIGTERM');
    expect([s.signal, kills.length]).toEqual([undefined, 1]);
  });

  test('a deadline at hand still gives commands MIN_NOTICE_MS between SIGTERM and SIGKILL, to trap it', () => {
    const got: number[] = [];
    const now = new Date();
    act({ from: 'aws', action: 'terminate', seen: now, deadline: now }, { preempt: (_t, ms) => void got.push(ms), describe: () => '' }, () => undefined);
    expect(got).toEqual([MIN_NOTICE_MS]);
  });

  test('the kill time is a moment, not a duration: a command started 500 ms after a 1000 ms notice gets what remains, not 1000 ms again', () => {
    // A claim in flight or an order being prepared at the notice subscribes late (Attempts.run).
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const s = new Shutdown();
      s.preempt('notice', 1000);
      vi.setSystemTime(Date.now() + 500);
      const kills: [string, number | undefined][] = [];
      s.onKill((as, ms) => kills.push([as, ms]));
      const [[as, ms]] = kills as [[string, number]];
      expect(as).toBe('preempt');
      expect(ms).toBeLessThanOrEqual(500);
      // Past the kill time: at once, never a negative delay.
      vi.setSystemTime(Date.now() + 5000);
      s.onKill((_as, later) => expect(later).toBe(0));
    } finally {
      vi.useRealTimers();
    }
  });

  test('over a drain under way: the kill comes now, recorded as preempt; the reason says both', () => {
    const s = new Shutdown();
    const kills: unknown[] = [];
    s.onKill((as, ms) => kills.push([as, ms]));
    s.receive('SIGTERM');
    expect(kills).toEqual([]);
    s.preempt('spot interruption notice (gcp) at X', 5000);
    expect(kills).toEqual([['preempt', 5000]]);
    expect([s.reason, s.by, s.signal]).toEqual(['signal SIGTERM; then spot interruption notice (gcp) at X', 'spot interruption notice (gcp) at X', 'SIGTERM']);
    // After a kill has begun (a second signal), a notice changes nothing.
    const t = new Shutdown();
    t.stop('a');
    t.stop('b');
    t.preempt('notice', 1);
    expect([t.killAs, t.reason]).toEqual(['shutdown', 'a']);
  });
});

describe('the options', () => {
  /** `waiter <args>` in this process: its exit code and stderr (a usage error never reaches the kitchen). */
  async function run(args: string[]) {
    let err = '';
    const sink = () => new Writable({ write: (c, _e, done) => ((err += String(c)), done()) });
    const code = await main(args, { stdin: Readable.from([]), stdout: sink(), stderr: sink(), env: { WAITER_KITCHEN: 'mongodb://127.0.0.1:9/' } });
    return { code, err };
  }
  const ok = join(FIXTURES, 'ok.sh');

  test('usage errors (2): an unknown cloud, an endpoint without a cloud or not http://, an empty file', async () => {
    expect(await run(['deliver', '--interruptions', 'azure', ok])).toMatchObject({ code: 2, err: expect.stringMatching(/interruptions.*azure/s) });
    // Not off: an empty WAITER_INTERRUPTIONS= in the unit's environment file fails loudly (deploy/waiter@.service says so).
    expect(await run(['deliver', '--interruptions', '', ok])).toMatchObject({ code: 2, err: expect.stringMatching(/interruptions.*""/s) });
    expect(await run(['deliver', '--metadata-endpoint', 'http://127.0.0.1:9', ok])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--metadata-endpoint needs --interruptions aws or gcp'),
    });
    expect(await run(['deliver', '--interruptions', 'aws', '--metadata-endpoint', 'https://127.0.0.1:9', ok])).toMatchObject({
      code: 2,
      err: expect.stringContaining('is not an http:// URL'),
    });
    expect(await run(['deliver', '--interruptions', 'gcp', '--metadata-endpoint', 'nope', ok])).toMatchObject({ code: 2, err: expect.stringContaining('is not a URL') });
    expect(await run(['deliver', '--interruption-file', '', ok])).toMatchObject({ code: 2, err: expect.stringContaining('--interruption-file: empty') });
  });
});

describe('guard: no test reaches the real metadata services', () => {
  test('the spawned CLI: --interruptions aws|gcp only with a --metadata-endpoint on 127.0.0.1', () => {
    expect(() => metadataGuard(['deliver', '--interruptions', 'aws', 'x'])).toThrow(/without --metadata-endpoint/);
    expect(() => metadataGuard(['deliver', '--interruptions=gcp', '--metadata-endpoint', 'http://169.254.169.254', 'x'])).toThrow(/without --metadata-endpoint/);
    expect(() => metadataGuard(['deliver', '--interruptions', 'aws', '--metadata-endpoint=http://127.0.0.1:9', 'x'])).not.toThrow();
    expect(() => metadataGuard(['deliver', '--interruptions', 'off', 'x'])).not.toThrow();
  });

  test('in this process too: a connection to a real metadata address throws (test/support/no-metadata.ts)', async () => {
    await expect(ask(new URL('http://169.254.169.254/latest/api/token'), { method: 'PUT', timeoutMs: 1000 })).rejects.toThrow(/real metadata service at 169\.254\.169\.254/);
    await expect(ask(new URL('http://metadata.google.internal/computeMetadata/v1/'), { timeoutMs: 1000 })).rejects.toThrow(/real metadata service/);
    expect(() => connect(80, '169.254.169.254')).toThrow(/real metadata service/);
    expect(() => connect({ host: 'metadata.google.internal.', port: 80 })).toThrow(/real metadata service/);
  });

  test('every test file that turns a watcher on gives it an endpoint; only this file names the real addresses', async () => {
    const dir = join(ROOT, 'test');
    const files = [...(await readdir(dir)).map((f) => join(dir, f)), ...(await readdir(join(dir, 'support'))).map((f) => join(dir, 'support', f))].filter((f) => f.endsWith('.ts'));
    const bad: string[] = [];
    for (const f of files) {
      const text = await readFile(f, 'utf8');
      const rel = f.slice(ROOT.length);
      if (/--interruptions['"`]?,\s*['"`](aws|gcp)|cloud: '(aws|gcp)'/.test(text) && !/metadata-endpoint|endpoint[,:]/.test(text))
        bad.push(`${rel}: a watcher without an endpoint`);
      if (/169\.254\.169\.254|metadata\.google\.internal/.test(text) && !/(interrupt\.test|no-metadata)\.ts$/.test(rel)) bad.push(`${rel}: names a real metadata address`);
    }
    expect(bad).toEqual([]);
  });
});

describe('a waiter told its box is going away (real processes)', () => {
  const k = useDb();
  const HANG = join(FIXTURES, 'hang.sh');
  /** A lease far longer than the test: an order taken over after it would time the test out. */
  const LONG = ['--lease', '60s', '--heartbeat', '300ms'];

  test('the notice while 4 orders run: it stops claiming, its orders are READY before the deadline, uncounted, and a waiter already running takes them at once; the registry says why; exit 0', async () => {
    const s = await standIn();
    const dir = await tempDir('spot');
    const ids = await addOrders(
      k.db,
      Array.from({ length: 5 }, () => ['hold']),
    );
    const spot = background(k, ['-n', 'spot', 'deliver', '-x', '4', ...LONG, '--interruptions', 'aws', '--metadata-endpoint', s.url, HANG], { HANG_DIR: dir });
    const pids = await Promise.all(ids.slice(0, 4).map((id) => pidFrom(join(dir, `${id.toHexString()}.1.pid`), `order ${id.toHexString()} to start`)));
    pids.forEach(killAfterTest);
    // The other waiter runs a command that ends at once; it waits (--wait) with nothing to claim but the fifth order.
    const other = background(k, ['-n', 'other', 'deliver', '--wait', '--poll', '100ms', ...LONG, join(FIXTURES, 'ok.sh')]);
    await until(async () => (await byId(k.db, ids[4]!)).status === 'DONE', 30_000, 'the other waiter to take the fifth order');

    const deadline = new Date(Date.now() + 40_000);
    s.aws.notice = { action: 'terminate', time: deadline.toISOString() };
    const r = await spot.proc;
    expect(r.exitCode).toBe(0);
    expect(spot.stderr()).toMatch(/waiter: spot interruption notice \(aws\) at \S+: terminate at \S+: no new orders; telling 4 running order\(s\) to stop/);
    expect(spot.stderr()).toContain('waiter: 4 interrupted orders put back READY');

    await until(async () => (await orders(k.db).countDocuments({ status: 'DONE' })) === 5, 30_000, 'the other waiter to do them all');
    const why = `spot interruption notice (aws) at `;
    for (const id of ids.slice(0, 4)) {
      const o = await byId(k.db, id);
      // The interrupted attempt given back, not counted; the run after it is a new attempt.
      expect(o).toMatchObject({ status: 'DONE', waiter: 'other', attempts: 2, uncounted: 1 });
      const [interrupted, done] = o.history!;
      expect(interrupted).toMatchObject({ attempt: 1, result: 'INTERRUPTED', waiter: 'spot', signal: 'SIGTERM' });
      expect(interrupted!.error).toMatch(new RegExp(`^interrupted: ${why.replace(/[()]/g, '\\$&')}\\S+: terminate at ${deadline.toISOString()}$`));
      expect(done).toMatchObject({ attempt: 2, result: 'DONE', waiter: 'other' });
      // READY before the deadline, and taken well within the 60 s --lease: none was waited out.
      // Half the lease, not a tight bound: a slow CI box is not what this checks.
      expect(+interrupted!.stop).toBeLessThan(+deadline);
      expect(+done!.start - +interrupted!.stop).toBeLessThan(30_000);
    }
    // The spot waiter claimed nothing after the notice: 4 runs of attempt 1, none of the fifth.
    expect(await orders(k.db).countDocuments({ 'history.waiter': 'spot' })).toBe(4);
    const reg = await k.db.collection('orders.waiters').findOne({ name: 'spot' });
    expect(reg).toMatchObject({ ended: expect.any(Date), reason: expect.stringMatching(/^spot interruption notice \(aws\) at \S+Z: terminate at /) });
    expect(+reg!.ended).toBeLessThan(+deadline);
    other.proc.kill('SIGTERM');
    await other.proc;
  });

  test('--interruption-file: the file appearing is the notice', async () => {
    const dir = await tempDir('spot');
    const path = join(dir, 'going-away');
    const [id] = await addOrders(k.db, [['hold']]);
    const w = background(k, ['-n', 'pod', 'deliver', ...LONG, '--interruption-file', path, HANG], { HANG_DIR: dir });
    killAfterTest(await pidFrom(join(dir, `${id!.toHexString()}.1.pid`), 'the order to start'));
    await writeFile(path, '');
    const r = await w.proc;
    expect(r.exitCode).toBe(0);
    const o = await byId(k.db, id!);
    expect(o).toMatchObject({ status: 'READY', attempts: 1, uncounted: 1 });
    expect(o.history?.[0]?.error).toMatch(/^interrupted: interruption notice \(file .*going-away\) at \S+Z: going away at \S+Z$/);
  });
});
