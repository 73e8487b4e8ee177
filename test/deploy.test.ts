// deploy/: the systemd unit, the EC2 user data and the container file, checked as far as
// this machine allows. There is no systemd running as PID 1 here, no EC2 and no base
// image for docker: the unit is parsed, verified by systemd-analyze and its ExecStart run
// by the CLI; the user data runs for real in a folder, with curl, systemctl and useradd
// replaced by recorders; the container's pilot command runs in test/package.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import ms from 'ms';
import { describe, expect, onTestFinished, test } from 'vitest';
import { FIXTURES, ROOT, until, waiter } from './support/cli.js';
import { gate } from './support/gates.js';
import { useDb } from './support/kitchen.js';
import { metadataStandIn } from './support/metadata.js';
import { liveWaiter } from './support/serve.js';
import type { WaiterDoc } from '../src/fleet.js';

const k = useDb();
const DEPLOY = join(ROOT, 'deploy');
const unitText = readFileSync(join(DEPLOY, 'waiter@.service'), 'utf8');

/** systemd's unit syntax, enough for this file: [Section] then Key=value lines; # comments. */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      out[section] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    expect(eq, `not Key=value: ${line}`).toBeGreaterThan(0);
    ((out[section] ??= {})[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return out;
}

/** systemd time spans as the unit writes them: 90s, 2min, 1min 30s, 500ms. */
function systemdSeconds(span: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600 };
  let total = 0;
  for (const [, n, u] of span.matchAll(/(\d+)\s*([a-z]*)/g)) total += Number(n) * units[u || 's']!;
  return total;
}

const unit = parseUnit(unitText);
const service = unit.Service!;
const one = (key: string) => {
  expect(service[key], `Service.${key}`).toHaveLength(1);
  return service[key]![0]!;
};
const execStart = one('ExecStart').split(/\s+/);
/**
 * ExecStart as systemd expands it: ${WAITER_BOX} and %i filled in, $WAITER_DELIVER split
 * at spaces, and --interruptions aws pointed at a stand-in of EC2's metadata service on
 * 127.0.0.1 (no test reaches the real one).
 */
async function expanded(box: string, deliver: string[]): Promise<string[]> {
  const metadata = await metadataStandIn();
  onTestFinished(() => metadata.close());
  return execStart.slice(1).flatMap((w) => {
    if (w === '$WAITER_DELIVER') return deliver;
    if (w === '${WAITER_INTERRUPTIONS}') return ['aws', '--metadata-endpoint', metadata.url];
    return [w.replace('${WAITER_BOX}', box).replace('%i', '1')];
  });
}
/** deliver's value of a flag in ExecStart, in seconds. */
const flagSeconds = (flag: string) => {
  const i = execStart.indexOf(flag);
  expect(i, `ExecStart sets ${flag}`).toBeGreaterThan(0);
  return ms(execStart[i + 1]! as ms.StringValue) / 1000;
};

describe('deploy/waiter@.service', () => {
  test('restarts on failure, stops with SIGTERM to waiter alone, and waits out the drain', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('KillSignal')).toBe('SIGTERM');
    // control-group (the default) would SIGTERM the orders' processes too: no drain.
    expect(one('KillMode')).toBe('mixed');
    const stop = systemdSeconds(one('TimeoutStopSec'));
    const [lease, grace, killAfter] = ['--lease', '--grace', '--kill-after'].map(flagSeconds) as [number, number, number];
    expect(stop).toBeGreaterThanOrEqual(lease);
    expect(stop).toBeGreaterThanOrEqual(grace + killAfter + 20);
    // Exits that are not failures of the service, and those a restart cannot mend.
    expect(one('SuccessExitStatus').split(' ')).toEqual(expect.arrayContaining(['1', '130', '143']));
    expect(one('RestartPreventExitStatus').split(' ')).toContain('2');
    expect(unit.Install?.WantedBy).toEqual(['multi-user.target']);
  });

  test("watches no cloud's notice unless the environment file names one (the EC2 user data writes aws); a notice's stop (exit 0) is not restarted", () => {
    expect(execStart.slice(execStart.indexOf('deliver'), execStart.indexOf('deliver') + 3)).toEqual(['deliver', '--interruptions', '${WAITER_INTERRUPTIONS}']);
    // Generic: a box off EC2 would otherwise poll the EC2 metadata address and say so in its log.
    expect(service.Environment).toContain('WAITER_INTERRUPTIONS=off');
    // Environment= comes first: the EnvironmentFile's settings override it.
    const lines = unitText.split('\n');
    expect(lines.indexOf('Environment=WAITER_INTERRUPTIONS=off')).toBeLessThan(lines.indexOf('EnvironmentFile=/etc/waiter/kitchen.env'));
    expect(one('Restart')).toBe('on-failure');
    // The header lists it among the environment file's settings, and says an empty one is an error.
    expect(unitText).toMatch(/^# {3}WAITER_INTERRUPTIONS=aws /m);
    expect(unitText).toMatch(/an empty\n# value is a usage error \(exit 2, not restarted\)/);
  });

  test('`waiter stop` ends it with 0, or 1 when an order it delivered failed: both successes, so Restart=on-failure does not start it again', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('SuccessExitStatus').split(' ')).toContain('1');
    expect(one('RestartPreventExitStatus').split(' ')).not.toContain('0');
    // Said where the exit codes are listed (test/steer-fleet.test.ts runs the stop and sees the 1).
    expect(unitText).toMatch(/`waiter stop` \(from any box\)\n# ends the waiter with 0, or 1 when an order it delivered failed/);
  });

  test('the kitchen comes from the EnvironmentFile, never the command line', () => {
    expect(service.EnvironmentFile).toEqual(['/etc/waiter/kitchen.env']);
    expect(execStart[0]).toBe('/usr/local/bin/waiter');
    for (const w of execStart) expect(w).not.toMatch(/^(-k|--kitchen|--db|-l|--list)$|mongodb/);
    expect(one('User')).not.toBe('root');
  });

  test('its ExecStart, as systemd expands it, delivers with the name <box>/<instance>', async () => {
    await k.db.collection('orders').insertMany([{ status: 'READY', arguments: ['a'], attempts: 0 }]);
    const r = await waiter(k, await expanded('i-0abc', ['--once', `${FIXTURES}ok.sh`]));
    expect([r.exitCode, r.stdout]).toEqual([0, 'arg: a\nDone. Delivered 1 order.']);
    expect(await k.db.collection('orders').findOne({})).toMatchObject({ status: 'DONE', waiter: 'i-0abc/1' });
  });

  test('with its options, SIGTERM drains: the running order finishes, exit 143 (a SuccessExitStatus)', async () => {
    await k.db.collection('orders').insertMany([
      { status: 'READY', arguments: ['2'], attempts: 0 },
      { status: 'READY', arguments: ['2'], attempts: 0 },
    ]);
    const p = waiter(k, await expanded('box', [`${FIXTURES}slow.sh`]));
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await until(() => err.includes('delivering'), 30_000, 'an order to start');
    p.kill('SIGTERM');
    const r = await p;
    expect(r.exitCode).toBe(143);
    expect(service.SuccessExitStatus![0]!.split(' ')).toContain(String(r.exitCode));
    const statuses = (await k.db.collection('orders').find({}).toArray()).map((o) => o.status).sort();
    expect(statuses).toEqual(['DONE', 'READY']);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
  const g = gate(analyze, 'systemd-analyze is not installed (Debian: systemd); CI fails instead', { failInCI: true });
  test.runIf(g.run)(g.title('systemd-analyze verify finds nothing to say'), async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-unit-'));
    try {
      // verify insists that ExecStart's program exists: any executable stands in for it.
      await writeFile(join(dir, 'waiter@.service'), unitText.replaceAll('/usr/local/bin/waiter', '/bin/true'));
      const r = await execa('systemd-analyze', ['verify', join(dir, 'waiter@.service')], { reject: false });
      expect({ code: r.exitCode, out: r.stdout, err: r.stderr }).toEqual({ code: 0, out: '', err: '' });
      // …and it does complain about a bad line, so the silence above means something.
      await writeFile(join(dir, 'bad@.service'), unitText.replaceAll('/usr/local/bin/waiter', '/bin/true').replace(/^KillMode=mixed$/m, 'KillMode=mixd'));
      expect((await execa('systemd-analyze', ['verify', join(dir, 'bad@.service')], { reject: false })).stderr).toMatch(/kill mode/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/ec2-user-data.sh', () => {
  const script = join(DEPLOY, 'ec2-user-data.sh');
  const text = readFileSync(script, 'utf8');
  const setting = (name: string) => new RegExp(`^${name}=(.*?)\\s*(#.*)?$`, 'm').exec(text)![1]!.replace(/^'(.*)'$/, '$1');

  test('is valid sh (dash -n)', async () => {
    const r = await execa('/bin/sh', ['-n', script], { reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
  });

  const shellcheck = spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status === 0;
  const g = gate(shellcheck, 'shellcheck is not installed (apt-get install shellcheck; .ci/run does); CI fails instead', { failInCI: true });
  test.runIf(g.run)(g.title('shellcheck finds nothing'), async () => {
    const r = await execa('shellcheck', ['--shell=sh', script], { reject: false });
    expect([r.exitCode, r.stdout]).toEqual([0, '']);
  });

  test('run as on a first boot: downloads, writes the unit and a root-only kitchen file, starts N waiters', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-userdata-'));
    const root = join(dir, 'root');
    const stubs = join(dir, 'stubs');
    const log = join(dir, 'calls.log');
    try {
      await mkdir(join(root, 'var/lib/cloud/data'), { recursive: true });
      await writeFile(join(root, 'var/lib/cloud/data/instance-id'), 'i-0123456789abcdef0\n');
      await mkdir(stubs);
      const stub = async (name: string, body: string) => {
        await writeFile(join(stubs, name), `#!/bin/sh\necho "${name} $*" >> '${log}'\n${body}\n`);
        await chmod(join(stubs, name), 0o755);
      };
      // curl -fsSL … -o FILE URL: writes a stand-in executable to FILE.
      await stub('curl', 'while [ $# -gt 1 ]; do [ "$1" = -o ] && out=$2; shift; done; printf "#!/bin/sh\\n" > "$out"');
      await stub('systemctl', '');
      await stub('useradd', '');
      await stub('id', 'exit 1'); // no user waiter yet
      const r = await execa('/bin/sh', [script], {
        reject: false,
        extendEnv: false,
        env: { PATH: `${stubs}:/usr/bin:/bin`, WAITER_ROOT: root },
      });
      expect([r.exitCode, r.stderr]).toEqual([0, '']);

      const calls = (await readFile(log, 'utf8')).trim().split('\n');
      const n = Number(setting('WAITERS'));
      expect(n).toBeGreaterThan(0);
      expect(calls).toEqual([
        `curl -fsSL --retry 5 --retry-connrefused -o ${root}/usr/local/bin/waiter.part ${setting('WAITER_URL')}`,
        'id waiter',
        'useradd --system --home-dir /var/lib/waiter --shell /usr/sbin/nologin waiter',
        'systemctl daemon-reload',
        `systemctl enable --now ${Array.from({ length: n }, (_, i) => `waiter@${i + 1}`).join(' ')}`,
      ]);
      expect((await stat(join(root, 'usr/local/bin/waiter'))).mode & 0o777).toBe(0o755);
      // The unit it writes is deploy/waiter@.service, byte for byte.
      expect(await readFile(join(root, 'etc/systemd/system/waiter@.service'), 'utf8')).toBe(unitText);
      const env = join(root, 'etc/waiter/kitchen.env');
      expect((await stat(env)).mode & 0o777).toBe(0o600);
      expect((await readFile(env, 'utf8')).split('\n')).toEqual([
        `WAITER_KITCHEN=${setting('KITCHEN')}`,
        `WAITER_DB=${setting('DB')}`,
        `WAITER_LIST=${setting('LIST')}`,
        'WAITER_BOX=i-0123456789abcdef0',
        'WAITER_INTERRUPTIONS=aws',
        `WAITER_DELIVER=${setting('DELIVER')}`,
        '',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('says what a spot interruption does', () => {
    expect(text).toMatch(/Spot interruption: .*--interruptions aws.*SIGTERM.*READY at once/s);
    expect(text).toMatch(/--lease has passed/);
  });
});

describe('deploy/Containerfile', () => {
  const text = readFileSync(join(DEPLOY, 'Containerfile'), 'utf8');
  const instr = (name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name} `))
      .map((l) => l.slice(name.length + 1));

  test('Debian slim plus the executable, a pilot `deliver --once` by default; says it was not built here', () => {
    expect(text.split('\n').slice(0, 5)).toContain("# NOT BUILT where it was written: that machine can pull no base image (it reaches npm's,");
    expect(instr('FROM')).toEqual([expect.stringMatching(/^debian:[a-z]+-slim$/)]);
    const copies = instr('COPY').map((c) => c.split(' '));
    expect(copies).toContainEqual(['dist/waiter-linux-x64', '/usr/local/bin/waiter']);
    // What it copies from the repository exists (the executable after `npm run package`).
    for (const [from] of copies) if (!from!.startsWith('dist/')) expect(existsSync(join(ROOT, from!))).toBe(true);
    expect(readFileSync(join(ROOT, 'scripts/package.js'), 'utf8')).toContain("'waiter-linux-x64'");
    const entry = JSON.parse(instr('ENTRYPOINT')[0]!) as string[];
    expect(entry.at(-1)).toBe('/usr/local/bin/waiter');
    expect((JSON.parse(instr('CMD')[0]!) as string[]).slice(0, 2)).toEqual(['deliver', '--once']);
    expect(instr('USER')).toEqual(['waiter']);
    // The build context holds only what it copies.
    expect(readFileSync(join(DEPLOY, 'Containerfile.dockerignore'), 'utf8')).toMatch(/^\*\n!dist\/waiter-linux-x64\n!fixtures\/crunch\.sh\n$/m);
  });
});

describe('deploy/waiter-cloudwatch: backlog per live waiter to CloudWatch every minute', () => {
  const script = join(DEPLOY, 'waiter-cloudwatch.sh');
  const serviceText = readFileSync(join(DEPLOY, 'waiter-cloudwatch.service'), 'utf8');
  const timerText = readFileSync(join(DEPLOY, 'waiter-cloudwatch.timer'), 'utf8');
  const policy = JSON.parse(readFileSync(join(DEPLOY, 'cloudwatch-target-tracking.json'), 'utf8'));

  test('is valid sh (dash -n)', async () => {
    const r = await execa('/bin/sh', ['-n', script], { reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
  });

  const shellcheck = spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status === 0;
  const g = gate(shellcheck, 'shellcheck is not installed (apt-get install shellcheck; .ci/run does); CI fails instead', { failInCI: true });
  test.runIf(g.run)(g.title('shellcheck finds nothing'), async () => {
    const r = await execa('shellcheck', ['--shell=sh', script], { reject: false });
    expect([r.exitCode, r.stdout]).toEqual([0, '']);
  });

  test('the timer starts the service every minute; the service runs the script once, with the kitchen from the environment file', () => {
    const service = parseUnit(serviceText).Service!;
    expect(service.Type).toEqual(['oneshot']);
    expect(service.ExecStart).toEqual(['/usr/local/bin/waiter-cloudwatch']);
    expect(service.EnvironmentFile).toEqual(['/etc/waiter/kitchen.env']);
    // Done before the next minute's run.
    expect(systemdSeconds(service.TimeoutStartSec![0]!)).toBeLessThan(60);
    const timer = parseUnit(timerText);
    expect(timer.Timer).toMatchObject({ OnCalendar: ['*-*-* *:*:00'], AccuracySec: ['1s'] });
    expect(timer.Install?.WantedBy).toEqual(['timers.target']);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
  const ga = gate(analyze, 'systemd-analyze is not installed (Debian: systemd); CI fails instead', { failInCI: true });
  test.runIf(ga.run)(ga.title('systemd-analyze verify finds nothing to say of the service and the timer'), async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-cw-unit-'));
    try {
      await writeFile(join(dir, 'waiter-cloudwatch.service'), serviceText.replaceAll('/usr/local/bin/waiter-cloudwatch', '/bin/true'));
      await writeFile(join(dir, 'waiter-cloudwatch.timer'), timerText);
      const r = await execa('systemd-analyze', ['verify', join(dir, 'waiter-cloudwatch.service'), join(dir, 'waiter-cloudwatch.timer')], { reject: false });
      expect({ code: r.exitCode, out: r.stdout, err: r.stderr }).toEqual({ code: 0, out: '', err: '' });
      // …and it does complain about a bad timer line.
      await writeFile(join(dir, 'waiter-cloudwatch.timer'), timerText.replace('OnCalendar=*-*-* *:*:00', 'OnCalendar=every minute'));
      expect((await execa('systemd-analyze', ['verify', join(dir, 'waiter-cloudwatch.timer')], { reject: false })).stderr).toMatch(/OnCalendar|calendar/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("run against the kitchen with a stand-in aws: the backlog itself with no waiter (scale out from zero), then the backlog per live waiter; the policy's metric is the one published", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-cw-'));
    const log = join(dir, 'aws.args');
    try {
      // aws: one line per call, each argument in brackets.
      await writeFile(join(dir, 'aws'), `#!/bin/sh\nfor a in "$@"; do printf '[%s]' "$a"; done >> '${log}'\necho >> '${log}'\n`);
      // waiter: this checkout's CLI, as /usr/local/bin/waiter would be.
      await writeFile(join(dir, 'waiter'), `#!/bin/sh\nexec node '${join(ROOT, 'bin/waiter.js')}' "$@"\n`);
      await chmod(join(dir, 'aws'), 0o755);
      await chmod(join(dir, 'waiter'), 0o755);
      // As the service runs it: the kitchen file's variables, nothing else of the test's environment.
      const run = () =>
        execa('/bin/sh', [script], {
          reject: false,
          extendEnv: false,
          env: { PATH: `${dir}:/usr/bin:/bin`, WAITER_EXECUTABLE: join(dir, 'waiter'), WAITER_KITCHEN: k.uri, WAITER_DB: k.name, WAITER_LIST: 'orders' },
        });
      const calls = async () => (await readFile(log, 'utf8')).trim().split('\n');
      const call = (value: string) =>
        `[cloudwatch][put-metric-data][--namespace][Waiter][--metric-name][BacklogPerWaiter][--unit][Count][--value][${value}][--dimensions][Database=${k.name},List=orders]`;

      const now = Date.now();
      await k.db.collection('orders').insertMany([
        ...Array.from({ length: 3 }, (_, i) => ({ status: 'READY', arguments: [`${i}`], attempts: 0 })),
        // Not in the backlog: due in an hour.
        { status: 'READY', arguments: ['later'], attempts: 0, due: new Date(now + 3_600_000) },
      ]);
      let r = await run();
      expect([r.exitCode, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toBe(`BacklogPerWaiter 3 (backlog 3, per claiming waiter null) for ${k.name}/orders`);
      expect(await calls()).toEqual([call('3')]);

      // Two live waiters, one asked to stop (it claims nothing more): 3 per claiming waiter; then 3 ÷ 2.
      const live = (i: number, extra: object = {}) =>
        liveWaiter(now, {
          _id: `w${i}` as never,
          name: `box-${i}`,
          host: 'h',
          pid: i,
          concurrency: 2,
          lease: 60_000,
          started: new Date(now),
          expires: new Date(now + 60_000),
          ...extra,
        });
      await k.db.collection<WaiterDoc>('orders.waiters').insertMany([live(0), live(1, { stop: { by: 'x', at: new Date(now) } })]);
      r = await run();
      expect(r.exitCode, r.stderr).toBe(0);
      await k.db.collection('orders.waiters').updateOne({ _id: 'w1' as never }, { $unset: { stop: '' } });
      r = await run();
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await calls()).toEqual([call('3'), call('3'), call('1.5')]);
      // docs/running-a-fleet.md shows this line, as journalctl gives it: the same words, its figures and list aside.
      const figures = (l: string) => l.replace(/ for \S+$/, ' for <db>/<list>').replace(/\d+(\.\d+)?/g, 'N');
      const shown = /# (BacklogPerWaiter .*)$/m.exec(await readFile(join(ROOT, 'docs', 'running-a-fleet.md'), 'utf8'))?.[1];
      expect(figures(shown ?? 'docs/running-a-fleet.md shows no BacklogPerWaiter line')).toBe(figures(r.stdout));

      // What the policy tracks is what the script publishes (with the kitchen file's defaults).
      const spec = policy.CustomizedMetricSpecification;
      expect(spec).toMatchObject({ Namespace: 'Waiter', MetricName: 'BacklogPerWaiter', Statistic: 'Average', Unit: 'Count' });
      expect(spec.Dimensions).toEqual([
        { Name: 'Database', Value: 'waiter' },
        { Name: 'List', Value: 'orders' },
      ]);
      expect(policy.TargetValue).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('the kitchen unreachable: nothing published, exit non-zero', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-cw-'));
    try {
      await writeFile(join(dir, 'aws'), `#!/bin/sh\necho called > '${join(dir, 'called')}'\n`);
      await writeFile(join(dir, 'waiter'), `#!/bin/sh\necho "waiter: cannot reach the kitchen" >&2\nexit 3\n`);
      await chmod(join(dir, 'aws'), 0o755);
      await chmod(join(dir, 'waiter'), 0o755);
      const r = await execa('/bin/sh', [script], { reject: false, extendEnv: false, env: { PATH: `${dir}:/usr/bin:/bin`, WAITER_EXECUTABLE: join(dir, 'waiter') } });
      expect(r.exitCode).toBe(3);
      expect(existsSync(join(dir, 'called'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
