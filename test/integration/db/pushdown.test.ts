import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mongo } from 'mongoose';
import { startEmbedded, type EmbeddedDatabase } from '../../../src/db/embedded.js';
import { createLogger } from '../../../src/shared/logger.js';
import { testServerUri } from '../../helpers/db.js';

const { MongoClient, ObjectId } = mongo;
type ObjectId = mongo.ObjectId;
type Db = mongo.Db;
type Document = mongo.Document;
type Filter<T> = mongo.Filter<T>;

/**
 * The embedded database's build answers filters, `_id` sorts and counts from SQLite's indexes
 * (src/db/ferretdb/README.md). Its answers must be exactly those of FerretDB reading every row:
 * the same data goes into a second server started without pushdown, and every query is compared.
 */
describe('indexed queries on the embedded database answer as a full read does', function () {
  let reference: EmbeddedDatabase | undefined;
  let referenceDir: string;
  const clients: mongo.MongoClient[] = [];
  let patched: Db;
  let plain: Db;
  let isFerretdb = false;

  const ids = Array.from({ length: 40 }, (_, i) =>
    ObjectId.createFromTime(1_700_000_000 + i * 3600),
  );
  const lists = [new ObjectId(), new ObjectId(), new ObjectId()];
  const at = new Date('2026-01-02T03:04:05.678Z');
  /** Values that look alike to SQLite's JSON text but differ to MongoDB, or need escapes. */
  const tricky: unknown[] = [
    'plain@example.com',
    'a<b@example.com',
    'q"uote@example.com',
    'tab\there@example.com',
    'ünïcödé@example.com',
    'line\u2028sep@example.com',
    ids[3]!.toHexString(),
    ids[3],
    ['plain@example.com', 'other@example.com'],
    [ids[3]],
    true,
    'true',
    at,
    at.getTime(),
    null,
    { nested: 'plain@example.com' },
    7,
    7.0,
    -0,
  ];

  function documents(): Document[] {
    const docs: Document[] = [];
    ids.forEach((_id, i) => {
      const doc: Document = {
        _id,
        email: tricky[i % tricky.length],
        status: i % 3 === 0 ? 'unsubscribed' : i % 7 === 0 ? ['subscribed', 'vip'] : 'subscribed',
        listId:
          i % 5 === 0 ? [lists[0], lists[1]] : i % 4 === 0 ? String(lists[i % 3]) : lists[i % 3],
        flag: i % 2 === 0,
        n: i,
      };
      if (i % 6 === 0) delete doc.email;
      docs.push(doc);
    });
    // String keys share the collection; one looks like an ObjectId above every other.
    docs.push({
      _id: 'ffffffffffffffffffffffff',
      email: 'plain@example.com',
      status: 'subscribed',
    });
    docs.push({ _id: 'zz-string-key', email: 'plain@example.com', listId: lists[0] });
    return docs;
  }

  before(async function () {
    this.timeout(120_000);
    const client = await MongoClient.connect(testServerUri());
    clients.push(client);
    const info = await client.db('admin').command({ buildInfo: 1 });
    isFerretdb = typeof info.ferretdbVersion === 'string';
    if (!isFerretdb) return;
    referenceDir = mkdtempSync(path.join(tmpdir(), 'kirje-reference-'));
    reference = await startEmbedded(referenceDir, createLogger('silent'), {
      withoutPushdown: true,
    });
    const referenceClient = await MongoClient.connect(reference.uri);
    clients.push(referenceClient);
    const name = `pushdown_${new ObjectId().toHexString()}`;
    patched = client.db(name);
    plain = referenceClient.db(name);
    for (const db of [patched, plain]) {
      const col = db.collection('people');
      await col.createIndex({ email: 1 });
      await col.createIndex({ listId: 1, status: 1 });
      await col.createIndex({ flag: 1 });
      await col.insertMany(documents());
    }
  });

  after(async () => {
    if (patched) await patched.dropDatabase();
    for (const client of clients) await client.close();
    await reference?.stop();
    if (referenceDir) rmSync(referenceDir, { recursive: true, force: true });
  });

  const filters: Array<Filter<Document>> = [
    {},
    { email: 'plain@example.com' },
    { email: 'a<b@example.com' },
    { email: 'q"uote@example.com' },
    { email: 'ünïcödé@example.com' },
    { email: 'line\u2028sep@example.com' },
    { email: { $in: ['plain@example.com', 'other@example.com', 'nobody@example.com'] } },
    { email: { $in: ['plain@example.com', 7] } },
    { email: { $eq: 'other@example.com' } },
    { email: ids[3]!.toHexString() },
    { email: ids[3] },
    { email: true },
    { email: 'true' },
    { email: at },
    { email: null },
    { listId: lists[0] },
    { listId: lists[1], status: 'subscribed' },
    { listId: { $in: [lists[0], lists[2]] }, status: { $in: ['subscribed', 'unsubscribed'] } },
    { listId: String(lists[0]) },
    { status: 'subscribed' },
    { status: 'vip', flag: false },
    { flag: true },
    { flag: true, n: { $gte: 10 } },
    { _id: ids[7] },
    { _id: 'ffffffffffffffffffffffff' as unknown as ObjectId },
    { _id: { $gt: ids[10] } },
    { _id: { $gte: ids[10], $lt: ids[20] } },
    { _id: { $lte: ids[30] }, status: 'subscribed' },
    { $and: [{ status: 'subscribed' }, { _id: { $gt: ids[12] } }] },
    { $and: [{ listId: lists[0] }, { flag: false }] },
    { _id: { $gt: ids[2] }, 'nested.x': { $exists: false } },
  ];

  const sorted = (docs: Document[]) =>
    docs.map((d) => JSON.stringify(d)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  it('finds, counts (count command and countDocuments), sorted pages, updates and deletes match', async function () {
    if (!isFerretdb) this.skip();
    for (const filter of filters) {
      const label = JSON.stringify(filter);
      const [mine, theirs] = [patched, plain].map((db) => db.collection('people'));
      expect(sorted(await mine!.find(filter).toArray()), label).to.deep.equal(
        sorted(await theirs!.find(filter).toArray()),
      );
      const counts = await Promise.all(
        [patched, plain].map((db) => db.command({ count: 'people', query: filter })),
      );
      expect(counts[0]!.n, `count ${label}`).to.equal(counts[1]!.n);
      expect(await mine!.countDocuments(filter), `countDocuments ${label}`).to.equal(counts[1]!.n);
      for (const direction of [1, -1] as const) {
        for (const limit of [1, 7]) {
          const page = async (col: typeof mine) =>
            (await col!.find(filter).sort({ _id: direction }).limit(limit).toArray()).map((d) =>
              JSON.stringify(d._id),
            );
          expect(await page(mine), `page ${direction} ${limit} ${label}`).to.deep.equal(
            await page(theirs),
          );
        }
      }
    }
    // Writes select through the same conditions.
    for (const db of [patched, plain]) {
      await db.collection('people').updateMany({ listId: lists[1] }, { $set: { touched: true } });
      await db.collection('people').deleteMany({ email: 'plain@example.com', flag: true });
    }
    expect(sorted(await patched.collection('people').find().toArray())).to.deep.equal(
      sorted(await plain.collection('people').find().toArray()),
    );
  });

  it('explain shows the index for equality, $in, _id ranges and _id sorts', async function () {
    if (!isFerretdb) this.skip();
    const col = patched.collection('people');
    const plan = async (filter: Filter<Document>, sort?: Document) => {
      const cursor = col.find(filter);
      if (sort) cursor.sort(sort).limit(5);
      const explained = (await cursor.explain()) as {
        queryPlanner?: { Plan?: string[] };
        sortPushdown?: boolean;
      };
      return {
        plan: explained.queryPlanner?.Plan?.join('\n') ?? '',
        sorted: explained.sortPushdown,
      };
    };
    expect((await plan({ email: 'plain@example.com' })).plan).to.match(/USING INDEX \S+_email_1/);
    expect((await plan({ listId: { $in: lists } })).plan).to.match(
      /USING INDEX \S+_listId_1_status_1/,
    );
    expect((await plan({ flag: true })).plan).to.match(/USING INDEX \S+_flag_1/);
    const page = await plan({ _id: { $gt: ids[4] } }, { _id: 1 });
    expect(page.plan).to.match(/USING INDEX \S+__id_/);
    expect(page.plan).not.to.match(/TEMP B-TREE/);
    expect(page.sorted).to.equal(true);
    // A sort on _id without an ObjectId bound could meet string keys: sorted in memory as before.
    expect((await plan({ status: 'subscribed' }, { _id: 1 })).sorted).to.equal(false);
  });
});
