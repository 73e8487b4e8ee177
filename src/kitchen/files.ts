// Every query on an order's result files (deliver --collect, gather, issue 17): the
// driver's GridFSBucket named `<list>.results`, i.e. the collections
// `<list>.results.files` (one document per file) and `<list>.results.chunks` (its
// 255 KiB pieces). A kitchen-side module: Kitchen owns one (kitchen.files).
//
// A file document: GridFS's {_id, length, chunkSize, uploadDate, filename} with
// filename = the path relative to the order's folder (posix), and
//   metadata: {order, attempt, path, sha256}
// sha256 is the hash of the very bytes stored, computed by upload() as it writes them.
// A document without it is an upload not finished, which no reader returns (COMPLETE);
// removeFor still finds it.
// Files are kept per attempt (a new attempt never overwrites an older one's);
// gather takes, per order, the newest attempt that has files (latest()).
// Reads are ranges of the index {metadata.order: 1, metadata.attempt: 1, filename: 1}.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GridFSBucket, type Collection, type Db, type GridFSFile, type ObjectId } from 'mongodb';
import { until } from '../output/until.js';
import { usageOf } from './usage.js';
import { defined } from '../objects.js';

export interface FileMeta {
  order: ObjectId;
  attempt: number;
  path: string;
  /** Hex SHA-256 of the bytes stored, computed as they are uploaded: gather's resume and integrity test. */
  sha256: string;
  /** Checkpoints only (`<list>.checkpoints`, src/kitchen/checkpoints.ts): the set the file belongs to. */
  set?: ObjectId;
}

export type StoredFile = GridFSFile & { metadata: FileMeta };

/** Chunks per read of a file: 64 × 255 KiB, just under a 16 MiB batch (MongoDB's own batch limit); fewer reads matter on FerretDB v1, which scans the chunks for each. */
const SEGMENT_CHUNKS = 64;
/** A file whose upload finished: it has its SHA-256 (filtered after the index range; every reader's query). */
export const COMPLETE = { 'metadata.sha256': { $exists: true } };
/** How many order ids one command names (an $in of thousands is slow on FerretDB v1). */
const BATCH = 500;

export class FileStore {
  readonly bucket: GridFSBucket;
  readonly docs: Collection<StoredFile>;
  readonly chunks: Collection<{ files_id: ObjectId; n: number }>;
  readonly name: string;
  private indexed = false;

  /** `bucket`: results (deliver --collect) or checkpoints (deliver --checkpoint: the same shape, one more key, metadata.set). */
  constructor(db: Db, list: string, bucket: 'results' | 'checkpoints' = 'results') {
    this.name = `${list}.${bucket}`;
    this.bucket = new GridFSBucket(db, { bucketName: this.name });
    this.docs = db.collection<StoredFile>(`${this.name}.files`);
    this.chunks = db.collection(`${this.name}.chunks`);
  }

  /** The index {metadata.order, metadata.attempt, filename}; idempotent, once per process (GridFS adds its own two). */
  async ensureIndex(): Promise<void> {
    if (this.indexed) return;
    await this.docs.createIndex({ 'metadata.order': 1, 'metadata.attempt': 1, filename: 1 });
    this.indexed = true;
  }

  /**
   * Stores one file from `content`, hashing the bytes as it writes them; GridFS writes
   * the files document, with that metadata.sha256, once all chunks are stored: only
   * then is the file visible (COMPLETE).
   * Written one piece of at most a chunk at a time, each awaited, so no chunk insert is
   * in flight when something fails. On a failure `content` is destroyed and what was
   * stored goes: before the end, abort() deletes the chunks; after it, this file's chunks
   * and document are deleted. Best effort: with the kitchen gone as well, the document
   * (if any) stays for removeFor, orphan chunks for a whole clean.
   * Once `signal` aborts (--collect-timeout) it stops waiting, on the kitchen and on the
   * content (a read of a stuck network file system), and throws the reason; the undo
   * then runs once the write in flight has settled, so a late write is undone too.
   */
  async upload(meta: Omit<FileMeta, 'sha256'>, content: Readable, signal?: AbortSignal): Promise<{ id: ObjectId; sha256: string }> {
    await until(this.ensureIndex(), signal).catch((err: unknown) => {
      content.destroy();
      throw err;
    });
    const up = this.bucket.openUploadStream(meta.path, { metadata: meta });
    const id = up.id;
    let failed: Error | undefined;
    up.on('error', (err) => (failed ??= err));
    /** The driver's write in flight, if any: the undo waits for it to settle. */
    let inFlight: Promise<void> = Promise.resolve();
    const step = (done: (cb: (err?: Error | null) => void) => void) => {
      inFlight = new Promise<void>((resolve, reject) => done((err) => (err || failed ? reject(err ?? failed!) : resolve()))); // failed!: set whenever err is not
      return until(inFlight, signal);
    };
    const hash = createHash('sha256');
    let ended = false;
    const chunks = content[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      for (;;) {
        const next = await until(chunks.next(), signal);
        if (next.done) break;
        const buf = next.value;
        hash.update(buf);
        for (let i = 0; i < buf.length; i += up.chunkSizeBytes) await step((cb) => up.write(buf.subarray(i, i + up.chunkSizeBytes), cb));
      }
      const sha256 = hash.digest('hex');
      // The driver builds the files document from up.options.metadata once the end is
      // written: the hash goes in with it, no second write. Checked on the document it
      // inserted; should a driver copy the metadata earlier, one update by _id sets it.
      up.options.metadata = { ...meta, sha256 };
      ended = true;
      await step((cb) => up.end(cb));
      if (up.gridFSFile?.metadata?.sha256 !== sha256) await until(this.docs.updateOne({ _id: id }, { $set: { 'metadata.sha256': sha256 } }), signal);
      return { id, sha256 };
    } catch (err) {
      content.destroy();
      const undo = async () => {
        await inFlight.catch(() => undefined);
        if (!ended) await up.abort();
        else {
          await this.chunks.deleteMany({ files_id: id });
          await this.docs.deleteOne({ _id: id });
        }
      };
      // Waited for until the deadline at most: past it, the kitchen may be what hangs.
      await until(undo(), signal).catch(() => undefined);
      throw signal?.aborted ? (signal.reason as Error) : err;
    }
  }

  /** The (complete) files of some orders (all attempts), by order, attempt, path: ranges of the index, BATCH ids per query. */
  async of(orders: readonly ObjectId[]): Promise<StoredFile[]> {
    const out: StoredFile[] = [];
    for (let i = 0; i < orders.length; i += BATCH) {
      const ids = orders.slice(i, i + BATCH);
      out.push(
        ...(await this.docs
          .find({ 'metadata.order': { $in: ids }, ...COMPLETE })
          .sort({ 'metadata.order': 1, 'metadata.attempt': 1, filename: 1 })
          .toArray()),
      );
    }
    return out;
  }

  /** Up to `limit` files of the orders after `after` (all orders without it), in index order: one range of the index (gather, every file). */
  async page(after: ObjectId | undefined, limit: number): Promise<StoredFile[]> {
    return this.docs
      .find({ ...(after ? { 'metadata.order': { $gt: after } } : {}), ...COMPLETE })
      .sort({ 'metadata.order': 1, 'metadata.attempt': 1, filename: 1 })
      .limit(limit)
      .toArray();
  }

  /** One file of an order by path: of that attempt, or of the newest that has it. Keys examined: that order's files. */
  async one(order: ObjectId, path: string, attempt?: number): Promise<StoredFile | null> {
    const [f] = await this.docs
      .find({ 'metadata.order': order, filename: path, ...defined({ 'metadata.attempt': attempt }), ...COMPLETE })
      .sort({ 'metadata.order': 1, 'metadata.attempt': -1 })
      .limit(1)
      .toArray();
    return f ?? null;
  }

  /**
   * The content of one stored file, streamed in segments of SEGMENT_CHUNKS chunks, each
   * its own GridFS read (a limited cursor): memory stays at one segment, and no reply
   * is large (FerretDB v1 answered a 100 MB file's chunk cursor with one message over the
   * wire protocol's 48 MB, which closes the connection).
   */
  open(f: Pick<StoredFile, '_id' | 'length' | 'chunkSize'>): Readable {
    const bucket = this.bucket;
    const step = SEGMENT_CHUNKS * f.chunkSize;
    return Readable.from(
      (async function* () {
        for (let start = 0; start < f.length; start += step) {
          for await (const b of bucket.openDownloadStream(f._id, { start, end: Math.min(f.length, start + step) })) yield b as Buffer;
        }
      })(),
      { objectMode: false },
    );
  }

  /**
   * Deletes the files of these orders (every attempt, or one): chunks first, then the
   * file documents, so an interrupted delete never leaves chunks no document names
   * (a file document without chunks is removed by the next clean).
   */
  async removeFor(orders: readonly ObjectId[], attempt?: number): Promise<number> {
    return (await this.removeOf(orders, attempt)).files;
  }

  /**
   * removeFor, also saying how many of the orders had files (clean --outputs counts checkpoints so).
   * `upTo`: per order (hex id), only files of attempts up to that one (an order claimed again
   * since the caller read it keeps its new attempt's files); orders not in it lose all.
   */
  async removeOf(orders: readonly ObjectId[], attempt?: number, upTo?: ReadonlyMap<string, number>): Promise<{ files: number; orders: number }> {
    let files = 0;
    const holders = new Set<string>();
    for (let i = 0; i < orders.length; i += BATCH) {
      const filter = { 'metadata.order': { $in: orders.slice(i, i + BATCH) }, ...defined({ 'metadata.attempt': attempt }) };
      const all = await this.docs.find(filter, { projection: { _id: 1, 'metadata.order': 1, 'metadata.attempt': 1 } }).toArray();
      const found = all.filter((f) => f.metadata.attempt <= (upTo?.get(f.metadata.order.toHexString()) ?? Infinity));
      if (found.length === 0) continue;
      for (const f of found) holders.add(f.metadata.order.toHexString());
      await this.chunks.deleteMany({ files_id: { $in: found.map((f) => f._id) } });
      files += (await this.docs.deleteMany({ _id: { $in: found.map((f) => f._id) } })).deletedCount;
    }
    return { files, orders: holders.size };
  }

  /**
   * The orders that have files (complete or not), after `after` (from the first without it),
   * each once, in index order: one range of the index, `limit` files read. An order with
   * more files than that comes alone, and the next page starts past it.
   */
  async holders(after: ObjectId | undefined, limit: number): Promise<ObjectId[]> {
    const found = await this.docs
      .find(after ? { 'metadata.order': { $gt: after } } : {}, { projection: { _id: 0, 'metadata.order': 1 } })
      .sort({ 'metadata.order': 1, 'metadata.attempt': 1, filename: 1 })
      .limit(limit)
      .toArray();
    const ids: ObjectId[] = [];
    for (const f of found) if (!ids.at(-1)?.equals(f.metadata.order)) ids.push(f.metadata.order);
    return ids;
  }

  /** Deletes every file of the list (a whole clean). */
  async removeAll(): Promise<number> {
    await this.chunks.deleteMany({});
    return (await this.docs.deleteMany({})).deletedCount;
  }

  /** Whether there is any file at all: the collection's metadata, no scan. */
  async any(): Promise<boolean> {
    return (await this.docs.estimatedDocumentCount()) > 0;
  }

  /**
   * How many files the list holds and what they take: the server's own figures for the
   * two collections (usage.ts: $collStats, no scan), the count from the files' one.
   */
  async usage(): Promise<{ files: number; bytes: number; storageBytes: number }> {
    const [docs, chunks] = await Promise.all([usageOf(this.docs), usageOf(this.chunks)]);
    return { files: docs.count, bytes: docs.size + chunks.size, storageBytes: docs.storageSize + chunks.storageSize };
  }
}

/** A file as show --json and the API give it: the stored path, its size in bytes, the attempt that made it, its hex SHA-256 (GridFS keeps no MD5 here). */
export interface FileReport {
  path: string;
  size: number;
  attempt: number;
  sha256: string;
  uploaded: Date;
}

export function fileReport(f: StoredFile): FileReport {
  return { path: f.metadata.path, size: f.length, attempt: f.metadata.attempt, sha256: f.metadata.sha256, uploaded: f.uploadDate };
}

/** Per order, the files of its newest attempt that has any (what gather writes): an older attempt's are not mixed in. Input in any order. */
export function latest(files: Iterable<StoredFile>): StoredFile[] {
  const all = [...files];
  const newest = new Map<string, number>();
  for (const f of all) {
    const id = f.metadata.order.toHexString();
    newest.set(id, Math.max(newest.get(id) ?? 0, f.metadata.attempt));
  }
  return all.filter((f) => newest.get(f.metadata.order.toHexString()) === f.metadata.attempt);
}
