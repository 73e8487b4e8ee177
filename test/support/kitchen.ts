// Per-test databases on the server picked by test/global-setup.ts.
//
//   import { useDb } from './support/kitchen.js';
//   const kitchen = useDb();              // at file or describe level
//   test('claims a job', async () => {
//     await kitchen.db.collection('jobs').insertOne({ ... });
//     await execa('node', ['bin/waiter.js', '--uri', kitchen.uri, '--db', kitchen.name, ...]);
//   });
//
// Each test gets a fresh, unique database name. The database is dropped after a test
// that passed and kept after one that failed, so you can look at what it left behind
// (the test output names it). One MongoClient is shared by all tests of a file.
import { createHash, randomBytes } from 'node:crypto';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import { afterAll, afterEach, beforeEach, inject } from 'vitest';

export interface Kitchen {
  /** Server connection string, without a database name. */
  readonly uri: string;
  /** This test's database name: `t_<8 hex of the test name>_<8 random hex>`. */
  readonly name: string;
  /** This test's database, on the shared client. */
  readonly db: Db;
  /** The shared, connected client. */
  readonly client: MongoClient;
}

let shared: MongoClient | undefined;

/** The file's shared client, connected on first use to the run's server. */
export async function sharedClient(): Promise<MongoClient> {
  shared ??= new MongoClient(inject('mongodbUri'));
  await shared.connect(); // a no-op once connected
  return shared;
}

/** A database name from `label` (hashed) plus randomness: ≤ 38 chars of [a-z0-9_]. */
export function uniqueDbName(label: string): string {
  const h = createHash('sha256').update(label).digest('hex').slice(0, 8);
  return `t_${h}_${randomBytes(4).toString('hex')}`;
}

/** Registers hooks giving every test in the enclosing file/describe its own database. */
export function useDb(): Kitchen {
  let current: { name: string; db: Db; client: MongoClient } | undefined;
  const get = () => {
    if (!current) throw new Error('useDb(): only available inside a test (or its beforeEach/afterEach)');
    return current;
  };

  beforeEach(async ({ task }) => {
    const client = await sharedClient();
    const name = uniqueDbName(`${task.file?.name ?? ''} > ${task.name}`);
    current = { name, db: client.db(name), client };
  });

  afterEach(async ({ task }) => {
    const c = current;
    current = undefined;
    if (!c) return;
    if (task.result?.state === 'pass') await c.db.dropDatabase();
    else console.error(`kept database "${c.name}" of failed test "${task.name}" for inspection`);
  });

  afterAll(async () => {
    await shared?.close();
    shared = undefined;
  });

  return {
    get uri() {
      return inject('mongodbUri');
    },
    get name() {
      return get().name;
    },
    get db() {
      return get().db;
    },
    get client() {
      return get().client;
    },
  };
}

/** A unique _id made at `ms` (an ObjectId keeps whole seconds): an order written then. */
export function idAt(ms: number): ObjectId {
  const time = Math.floor(ms / 1000)
    .toString(16)
    .padStart(8, '0');
  return new ObjectId(time + new ObjectId().toHexString().slice(8));
}
