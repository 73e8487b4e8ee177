// Test MongoDB servers for waiter's tests, bench scripts and `npm run test-server`.
//
// Plain ESM JavaScript (types in server.d.ts) so that scripts/test-server.js runs
// with bare `node`, without a TypeScript build step. See test/server/README.md.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const goSourceDir = join(repoRoot, 'test', 'server');
const cacheRoot = join(repoRoot, 'node_modules', '.cache', 'waiter-testserver');

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
/** How long finding a mongod (a system binary, the download cache or a download) may take by default. */
export const MONGOD_LOOKUP_TIMEOUT_MS = 20_000;

/** Path the binary for the current sources lives at (whether built yet or not). */
export function testServerBinaryPath() {
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) {
    hash.update(f + '\0');
    hash.update(readFileSync(join(goSourceDir, f)));
    hash.update('\0');
  }
  return join(cacheRoot, hash.digest('hex').slice(0, 12), 'testserver');
}

let building;

/** Build test/server once per source hash; resolves to the binary's path. `label` starts its messages. */
export function buildTestServer(label = 'waiter tests') {
  const out = testServerBinaryPath();
  if (existsSync(out)) return Promise.resolve(out);
  building ??= goBuild(out, label).finally(() => {
    building = undefined;
  });
  return building;
}

function goBuild(out, label) {
  mkdirSync(dirname(out), { recursive: true });
  // Build to a private name and rename: an interrupted or concurrent build never
  // leaves a half-written binary under the final name.
  const tmp = `${out}.tmp-${process.pid}-${Date.now()}`;
  process.stderr.write(`${label}: building the FerretDB test server (test/server, with Go; once per change of its sources, 1-2 min: Go downloads and compiles FerretDB)\n`);
  return new Promise((resolvePromise, reject) => {
    let stderr = '';
    const child = spawn('go', ['build', '-o', tmp, '.'], {
      cwd: goSourceDir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    child.on('error', (err) => {
      rmSync(tmp, { force: true });
      reject(
        err.code === 'ENOENT'
          ? new Error(
              `${label}: \`go\` was not found on PATH. The embedded FerretDB test server ` +
                '(test/server) is built with Go >= 1.22; install Go, or set MONGODB_URI to a ' +
                'MongoDB to test against (see test/server/README.md).',
            )
          : err,
      );
    });
    child.on('close', (code, signal) => {
      if (code !== 0) {
        rmSync(tmp, { force: true });
        reject(new Error(`${label}: \`go build\` in test/server failed (${signal ?? `exit ${code}`}):\n${stderr}`));
        return;
      }
      try {
        renameSync(tmp, out);
        resolvePromise(out);
      } catch (err) {
        rmSync(tmp, { force: true });
        reject(err);
      }
    });
  });
}

/** Start the embedded FerretDB test server (building it if needed). */
export async function startTestServer({ port = 0, data, noLock = false, verbose = false, latencyMs = 0, label = 'waiter tests' } = {}) {
  const bin = await buildTestServer(label);
  const args = ['--port', String(port), '--exit-on-stdin-eof'];
  if (data) args.push('--data', resolve(data));
  if (noLock) args.push('--no-lock');
  if (latencyMs) args.push('--latency', `${latencyMs}ms`);
  if (verbose) args.push('--verbose');

  // stdin stays a pipe that only this process holds: if node dies, the pipe closes
  // and the server exits on its own (--exit-on-stdin-eof).
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {}); // never written to; ignore EPIPE if the server dies
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderrTail = (stderrTail + d).slice(-2000);
    if (verbose) process.stderr.write(d);
  });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));

  const uri = await new Promise((resolvePromise, reject) => {
    let buf = '';
    const fail = (why) => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`${label}: test server ${why}${stderrTail ? `; stderr:\n${stderrTail}` : ''}`));
    };
    const timer = setTimeout(() => fail(`printed no MONGODB_URI within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    const onData = (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl).trim();
      if (!line.startsWith('MONGODB_URI=')) return fail(`printed an unexpected first line: ${line}`);
      cleanup();
      resolvePromise(line.slice('MONGODB_URI='.length));
    };
    const onError = (err) => fail(`could not be started (${err.message})`);
    const onClose = (code, signal) => fail(`exited before it was ready (${signal ?? `exit ${code}`})`);
    function cleanup() {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('error', onError);
      child.off('close', onClose);
    }
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.on('error', onError);
    child.on('close', onClose);
  });
  child.stdout.resume(); // keep draining so the server never blocks on a full pipe

  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      child.stdin.destroy();
    })());
  return { uri, pid: child.pid, stop, exited, process: child };
}

// ---------------------------------------------------------------------------

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Find a mongod binary the way mongodb-memory-server does (MONGOMS_SYSTEM_BINARY,
 * its download cache, else a download), in a child process killed after `timeoutMs`
 * so a slow or hanging download can neither stall the run nor outlive it.
 */
export function locateMongod(timeoutMs) {
  const env = { ...process.env };
  if (!env.MONGOMS_SYSTEM_BINARY) {
    const onPath = findOnPath('mongod');
    if (onPath) env.MONGOMS_SYSTEM_BINARY = onPath;
  }
  env.MONGOMS_MAX_RETRIES ??= '1'; // an unreachable host fails at once instead of after 8 s of retries
  const script =
    "require('mongodb-memory-server-core').MongoBinary.getPath()" +
    ".then(p => { process.stdout.write('\\nMONGOD=' + p + '\\n'); process.exit(0); })" +
    '.catch(e => { process.stderr.write(String(e && e.message || e)); process.exit(1); });';
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-1000)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolvePromise({ why: `no mongod found within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolvePromise({ why: e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const m = /^MONGOD=(.+)$/m.exec(out);
      if (code === 0 && m) resolvePromise({ path: m[1] });
      else resolvePromise({ why: shortReason(err) || `exit ${code}` });
    });
  });
}

function shortReason(message) {
  const dns = /getaddrinfo \S+ \S+/.exec(message);
  if (dns) return `mongod download failed: ${dns[0]}`;
  const flat = message.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}

/** Start a throw-away mongod (mongodb-memory-server) from that binary. */
export async function startMongod(binaryPath) {
  const { MongoMemoryServer } = await import('mongodb-memory-server');
  const server = await MongoMemoryServer.create({ binary: { systemBinary: binaryPath } });
  return { uri: server.getUri(), stop: async () => void (await server.stop({ doCleanup: true, force: true })) };
}

/** Replace the user:password part of a connection string, for printing. */
export function redactUri(uri) {
  return uri.replace(/^([a-z+]+:\/\/)[^@/]*@/i, '$1***:***@');
}

/** The mongod lookup's time limit: WAITER_MONGOD_TIMEOUT_MS if set, else `fallback`. */
export function mongodLookupTimeoutMs(fallback = MONGOD_LOOKUP_TIMEOUT_MS) {
  return Number(process.env.WAITER_MONGOD_TIMEOUT_MS) || fallback;
}

/**
 * Choose the server for a test run: MONGODB_URI if set, else a real mongod via
 * mongodb-memory-server if one can be had, else the embedded FerretDB test server.
 * WAITER_TEST_SERVER=ferretdb|mongod forces one (and then wins over MONGODB_URI).
 */
export async function pickServer() {
  const forced = process.env.WAITER_TEST_SERVER?.trim().toLowerCase() || undefined;
  if (forced && forced !== 'ferretdb' && forced !== 'mongod') {
    throw new Error(`waiter tests: WAITER_TEST_SERVER must be "ferretdb" or "mongod", not "${forced}"`);
  }
  if (!forced && process.env.MONGODB_URI) {
    return { uri: process.env.MONGODB_URI, kind: 'MONGODB_URI', stop: async () => {} };
  }
  if (forced !== 'ferretdb') {
    const timeoutMs = mongodLookupTimeoutMs(forced === 'mongod' ? 10 * 60_000 : MONGOD_LOOKUP_TIMEOUT_MS);
    const found = await locateMongod(timeoutMs);
    if (found.path) {
      const s = await startMongod(found.path);
      return { ...s, kind: 'mongod' };
    }
    if (forced === 'mongod') throw new Error(`waiter tests: WAITER_TEST_SERVER=mongod, but ${found.why}`);
    const s = await startTestServer();
    return { uri: s.uri, kind: 'ferretdb', stop: s.stop, note: `no mongod: ${found.why}` };
  }
  const s = await startTestServer();
  return { uri: s.uri, kind: 'ferretdb', stop: s.stop, note: 'forced by WAITER_TEST_SERVER' };
}

/**
 * A free TCP port on 127.0.0.1 below the kernel's ephemeral range, for a server that a
 * test stops and starts again on the same port: a port from that range (what port 0
 * gives) can be taken meanwhile as the local end of any outgoing connection.
 */
export async function restartablePort() {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual default
  }
  const { createServer } = await import('node:net');
  const free = (port) =>
    new Promise((done) => {
      const s = createServer();
      s.once('error', () => done(false));
      s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
    });
  for (let i = 0; i < 100; i++) {
    const port = 20000 + Math.floor(Math.random() * Math.max(1, low - 20000));
    if (await free(port)) return port;
  }
  throw new Error('restartablePort: no free port below the ephemeral range');
}

/** True when `go` can be run (needed to build the FerretDB test server the first time). */
export function goAvailable() {
  if (existsSync(testServerBinaryPath())) return true;
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}
