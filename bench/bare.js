// The floor: what the bare MongoDB driver takes for the same work as `waiter load`
// and `waiter extract`, on the same server.
//   node bench/bare.js load <file.csv> <uri> <db> <list>
//   node bench/bare.js load-noindex <file.csv> <uri> <db> <list>
//   node bench/bare.js load-unique <file.csv> <uri> <db> <list>   (load --unique's documents and indexes)
//   node bench/bare.js extract <out.csv> <uri> <db> <list>
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import { MongoClient, ObjectId } from 'mongodb';

const [what, file, uri, db, list] = process.argv.slice(2);
const client = await new MongoClient(uri).connect();
const orders = client.db(db).collection(list);

if (what === 'load' || what === 'load-noindex' || what === 'load-unique') {
  // Same documents as waiter's, batches of 1000, one insertMany at a time. `load`
  // first creates the indexes waiter creates ({status, _id} for counts, {due, _id}
  // for claims): the server then does the same work per insert.
  if (what !== 'load-noindex') {
    await orders.createIndex({ status: 1, _id: 1 });
    await orders.createIndex({ due: 1, _id: 1 });
  }
  // load-unique: the floor for `load --unique` into an empty list: the same key and
  // unique index (a fresh list has no duplicates, so one ordered insertMany per batch).
  const unique = what === 'load-unique';
  if (unique) await orders.createIndex({ key: 1 }, { unique: true, sparse: true });
  const due = new Date();
  let batch = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (!line) continue;
    const doc = { _id: new ObjectId(), status: 'READY', arguments: line.split(','), attempts: 0, due };
    if (unique) {
      const json = JSON.stringify(doc.arguments); // the same key as src/order.ts uniqueKey()
      doc.key = json.slice(2, 34) + createHash('sha256').update(list).update('\n').update(json).digest('base64url').slice(0, 22);
    }
    batch.push(doc);
    if (batch.length === 1000) {
      await orders.insertMany(batch, { ordered: true });
      batch = [];
    }
  }
  if (batch.length) await orders.insertMany(batch, { ordered: true });
} else if (what === 'extract') {
  // A cursor in _id order, one naive line per order, with backpressure.
  const out = createWriteStream(file);
  for await (const o of orders.find({}).sort({ _id: 1 })) {
    const line = `${o._id.toHexString()},${o.status},${o.waiter ?? ''},,,"${JSON.stringify(o.arguments).replaceAll('"', '""')}",,,${o.attempts}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
} else {
  console.error('usage: node bench/bare.js <load|load-noindex|extract> <file> <uri> <db> <list>');
  process.exit(2);
}
await client.close();
