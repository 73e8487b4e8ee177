// Tests of the test server itself: whatever server the run uses must make
// findOneAndUpdate atomic (waiter's claim step relies on it), and the embedded
// FerretDB server must survive a stop/restart on the same port and data directory
// (tests of kitchen outages do that).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { describe, expect, inject, test } from 'vitest';
import { useDb } from './support/kitchen.js';
import { needsGo } from './support/gates.js';
import { restartablePort, startTestServer } from './support/server.js';

interface Job {
  _id: number;
  status: 'READY' | 'RUNNING';
  by?: string;
}

const DOCS = 500;
const CLIENTS = 16;

/**
 * CLIENTS separate clients (one connection each) claim DOCS jobs with the same
 * findOneAndUpdate as fast as they can. Returns who claimed what (client side) and
 * the collection's final contents (server side).
 */
async function claimRace(uri: string, dbName: string, docs = DOCS) {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => new MongoClient(uri, { maxPoolSize: 1 }).connect()));
  try {
    const jobs = (c: MongoClient) => c.db(dbName).collection<Job>('jobs');
    await jobs(clients[0]!).insertMany(Array.from({ length: docs }, (_, i) => ({ _id: i, status: 'READY' as const })));

    const claims = new Map<number, string[]>();
    await Promise.all(
      clients.map(async (client, n) => {
        const by = `c${n}`;
        for (;;) {
          const doc = await jobs(client).findOneAndUpdate({ status: 'READY' }, { $set: { status: 'RUNNING', by } }, { sort: { _id: 1 } });
          if (!doc) return;
          claims.set(doc._id, [...(claims.get(doc._id) ?? []), by]);
        }
      }),
    );
    const final = await jobs(clients[0]!).find().sort({ _id: 1 }).toArray();
    return { claims, final };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

describe(`the test server (${inject('mongodbServerKind')})`, () => {
  const kitchen = useDb();

  test(`claims each of ${DOCS} jobs exactly once with ${CLIENTS} concurrent clients`, async () => {
    const { claims, final } = await claimRace(kitchen.uri, kitchen.name);

    // client side: every job came back to exactly one findOneAndUpdate
    const claimCounts = Array.from({ length: DOCS }, (_, id) => claims.get(id)?.length ?? 0);
    expect(claimCounts.filter((n) => n !== 1)).toEqual([]);
    expect([...claims.values()].flat()).toHaveLength(DOCS);
    // They raced: most clients got some of the jobs (one client taking all would prove nothing).
    const claimers = new Set([...claims.values()].flat());
    expect(claimers.size, [...claimers].join(' ')).toBeGreaterThan(CLIENTS / 2);

    // server side: all RUNNING, and owned by the one client that got it back
    expect(final).toHaveLength(DOCS);
    expect(final.filter((j) => j.status !== 'RUNNING')).toEqual([]);
    expect(final.filter((j) => j.by !== claims.get(j._id)?.[0])).toEqual([]);
  });
});

const go = needsGo();
describe.runIf(go.run)(go.title('the embedded FerretDB test server'), () => {
  test('keeps its data across a stop and a restart on the same port', async () => {
    const data = await mkdtemp(join(tmpdir(), 'waiter-restart-'));
    try {
      const port = await restartablePort();
      const first = await startTestServer({ port, data });
      const c1 = await new MongoClient(first.uri).connect();
      await c1
        .db('restart')
        .collection<{ _id: number; status: string }>('jobs')
        .insertMany([
          { _id: 1, status: 'DONE' },
          { _id: 2, status: 'READY' },
        ]);
      await c1.close();
      await first.stop();
      expect(await first.exited).toEqual({ code: 0, signal: null });

      const second = await startTestServer({ port, data });
      try {
        expect(second.uri).toBe(first.uri);
        const c2 = await new MongoClient(second.uri).connect();
        const docs = await c2.db('restart').collection('jobs').find().sort({ _id: 1 }).toArray();
        await c2.close();
        expect(docs).toEqual([
          { _id: 1, status: 'DONE' },
          { _id: 2, status: 'READY' },
        ]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });

  // The lock is per database: a test's long command must not hold up the other tests'
  // heartbeats (a CI run once failed that way), while commands on one database still
  // queue (the claim race above runs in one database).
  test("its lock is per database: another database's commands pass a long updateMany, the same database's wait for it", async () => {
    const server = await startTestServer();
    const [a, b] = await Promise.all([new MongoClient(server.uri, { maxPoolSize: 1 }).connect(), new MongoClient(server.uri, { maxPoolSize: 1 }).connect()]);
    try {
      const many = Array.from({ length: 1000 }, (_, i) => ({ _id: i, n: 0 }));
      await a.db('slow').collection<{ _id: number; n: number }>('docs').insertMany(many);
      let longDone = false;
      const long = a
        .db('slow')
        .collection('docs')
        .updateMany({}, { $inc: { n: 1 } })
        .then(() => (longDone = true));
      // Sent after the long command: 10 round trips on another database all end before it.
      for (let i = 0; i < 10; i++) await b.db('quick').collection('docs').insertOne({ i });
      const otherPassed = !longDone;
      // On the same database a command waits its turn.
      await b.db('slow').collection<{ _id: number; n: number }>('docs').findOne({ _id: 0 });
      const sameWaited = longDone;
      await long;
      expect({ otherPassed, sameWaited }).toEqual({ otherPassed: true, sameWaited: true });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await server.stop();
    }
  });

  // Why the lock exists. Without it FerretDB v1 runs findAndModify as a read, then a
  // write, with no transaction: in manual runs 41-45 of 50 jobs (494-496 of 500) were
  // handed to more than one client. One double claim is all this asserts.
  test('without its lock (--no-lock), hands the same job to several clients', async () => {
    const server = await startTestServer({ noLock: true });
    try {
      const { claims } = await claimRace(server.uri, 'nolock', 50);
      const doubleClaimed = [...claims.values()].filter((by) => by.length > 1);
      expect(doubleClaimed.length).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });
});
