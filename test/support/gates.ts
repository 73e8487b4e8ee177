// Tests that need something the machine or the server may not have: one place that
// decides from what is there (not from how the server was picked), and a skipped
// test's title that says why, so the test output shows it.
//
//   const g = needsGo();
//   test.runIf(g.run)(g.title('rides out an outage'), async () => { ... });
//
// In CI (CI set) a missing tool is a failure, not a skip: the test runs and fails
// with the tool's own error. Only what the server cannot do (explain counters) skips.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { goAvailable } from './server.js';

export interface Gate {
  /** Run the test (a CI run without the tool runs it, so that it fails). */
  readonly run: boolean;
  /** Why it is skipped, or undefined when it runs. */
  readonly why?: string;
  /** The test's title, with "(skipped: why)" appended when it does not run. */
  title(name: string): string;
}

export function gate(ok: boolean, why: string, { failInCI }: { failInCI: boolean }): Gate {
  const run = ok || (failInCI && Boolean(process.env.CI));
  return { run, why: run ? undefined : why, title: (name) => (run ? name : `${name} (skipped: ${why})`) };
}

/** Tests that start their own embedded FerretDB test servers (built with Go). */
export function needsGo(): Gate {
  return gate(goAvailable(), 'Go is not installed: it builds the embedded test server (test/server, Go >= 1.22); CI fails instead', { failInCI: true });
}

export const CHROMIUM = '/usr/bin/chromium';

/** Tests driving Debian's chromium. */
export function needsChromium(): Gate {
  return gate(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium); CI fails instead`, { failInCI: true });
}

/** Tests of usage per attempt (src/usage/): /proc (Linux), and GNU time as the independent measure. */
export function needsProc(): Gate {
  return gate(existsSync('/proc/self/stat'), 'no /proc on this box (Linux only); CI fails instead', { failInCI: true });
}

export const GNU_TIME = '/usr/bin/time';

export function needsGnuTime(): Gate {
  return gate(existsSync(GNU_TIME) && existsSync('/proc/self/stat'), `${GNU_TIME} or /proc is missing (apt-get install time; Linux only); CI fails instead`, { failInCI: true });
}

/** What the run's server says it is: buildInfo's version, and FerretDB's name if it gives one. */
export interface ServerIdentity {
  version: string;
  /** e.g. "FerretDB v1.24.0" when buildInfo names FerretDB (v1: ferretdbVersion, v2: ferretdb). */
  notMongod?: string;
}

async function withClient<T>(uri: string, fn: (c: MongoClient) => Promise<T>): Promise<T> {
  const c = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    return await fn(await c.connect());
  } finally {
    await c.close();
  }
}

async function identify(c: MongoClient): Promise<ServerIdentity> {
  const info = await c.db('admin').command({ buildInfo: 1 });
  const version = String(info.version);
  const ferret = Object.entries(info).find(([key]) => /ferretdb/i.test(key));
  if (!ferret) return { version };
  const v = ferret[1];
  const named = typeof v === 'string' ? v : typeof v?.version === 'string' ? v.version : '';
  return { version, notMongod: named && named !== 'unknown' ? `FerretDB ${named}` : 'FerretDB' };
}

/** What the run's server says it is (buildInfo). */
export function serverIdentity(): Promise<ServerIdentity> {
  return withClient(inject('mongodbUri'), identify);
}

function numbers(doc: unknown, name: string): number[] {
  if (Array.isArray(doc)) return doc.flatMap((d) => numbers(d, name));
  if (doc === null || typeof doc !== 'object') return [];
  return Object.entries(doc).flatMap(([k, v]) => (k === name && typeof v === 'number' ? [v] : numbers(v, name)));
}

/**
 * Whether explain counts what a query reads (executionStats' totalKeysExamined and
 * totalDocsExamined), probed on a findAndModify and a find in a scratch database. A
 * server whose buildInfo does not name it as something other than a mongod always
 * runs the tests (a mongod that cannot count must fail them, not skip them).
 */
export function explainCounts(): Promise<Gate> {
  return withClient(inject('mongodbUri'), async (c) => {
    const who = await identify(c);
    const db = c.db(`t_probe_${randomBytes(4).toString('hex')}`);
    let missing: string | undefined;
    try {
      for (const [what, cmd] of [
        ['findAndModify', { findAndModify: 'probe', query: { status: 'READY' }, sort: { _id: 1 }, update: { $set: { status: 'RUNNING' } } }],
        ['find', { find: 'probe', filter: { status: 'READY' } }],
      ] as const) {
        let r: unknown;
        try {
          r = await db.command({ explain: cmd, verbosity: 'executionStats' });
        } catch (err) {
          missing = `its explain of ${what} fails (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
          break;
        }
        if (numbers(r, 'totalKeysExamined').length === 0 || numbers(r, 'totalDocsExamined').length === 0) {
          missing = `its explain of ${what} reports no keys/docs examined`;
          break;
        }
      }
    } finally {
      await db.dropDatabase().catch(() => undefined);
    }
    if (!missing || !who.notMongod) return gate(true, '', { failInCI: false });
    return gate(false, `the server is ${who.notMongod} (MongoDB ${who.version} compatible) and ${missing}; run with MONGODB_URI at a real mongod`, { failInCI: false });
  });
}

/**
 * The embedded test server takes any user name and password (authMechanism=PLAIN, it
 * checks none); a real server refuses made-up ones. Probed by logging in with some.
 */
export async function takesAnyPassword(): Promise<Gate> {
  const url = new URL(inject('mongodbUri'));
  url.username = 'probe-user';
  url.password = 'probe-pw';
  url.searchParams.set('authMechanism', 'PLAIN');
  url.searchParams.set('serverSelectionTimeoutMS', '5000');
  const ok = await withClient(url.toString(), async (c) => (await c.db('admin').command({ ping: 1 })).ok === 1).catch(() => false);
  return gate(ok, 'the server refuses made-up credentials (only the embedded test server takes any)', { failInCI: false });
}
