// What a collection takes, as the server itself keeps it: the `$collStats` stage's
// storageStats (MongoDB 3.4+, FerretDB v1 and 2.x), read from the storage engine's
// metadata: no scan, whatever the collection holds. Used by `status` for the live
// output and the result files (issue 17).
//
// - size: the data's size. MongoDB: the documents' uncompressed BSON bytes (what they
//   hold, not what the disk does). FerretDB: its backend's table size (SQLite pages on
//   v1, which counts the indexes in too; PostgreSQL's on 2.x): close to it for a big
//   collection, a few pages for a small one.
// - storageSize: the disk space the server has for the data (MongoDB: compressed, and
//   not given back after deletes: WiredTiger reuses it).
// - count: the documents, from the same metadata.
// A sharded collection answers one document per shard: summed. A collection not made
// yet is empty (MongoDB and FerretDB answer NamespaceNotFound for it).
import { MongoServerError, type Collection } from 'mongodb';

export interface Usage {
  count: number;
  size: number;
  storageSize: number;
}

/** Code 26: a collection that does not exist. */
const NAMESPACE_NOT_FOUND = 26;

type Stats = { storageStats?: Record<string, unknown> };

export async function usageOf(c: Pick<Collection, 'aggregate'>): Promise<Usage> {
  let docs: Stats[];
  try {
    docs = await c.aggregate<Stats>([{ $collStats: { storageStats: {} } }]).toArray();
  } catch (err) {
    if (err instanceof MongoServerError && err.code === NAMESPACE_NOT_FOUND) return { count: 0, size: 0, storageSize: 0 };
    throw err;
  }
  const n = (v: unknown) => (typeof v === 'number' || typeof v === 'bigint' ? Number(v) : Number((v as { toNumber?: () => number })?.toNumber?.() ?? 0));
  return docs.reduce<Usage>(
    (u, d) => ({ count: u.count + n(d.storageStats?.count), size: u.size + n(d.storageStats?.size), storageSize: u.storageSize + n(d.storageStats?.storageSize) }),
    { count: 0, size: 0, storageSize: 0 },
  );
}
