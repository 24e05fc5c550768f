import { expect } from 'chai';
import { Types } from 'mongoose';
import type { Database } from '../../../src/db/connection.js';
import {
  findByIds,
  GroupRead,
  MAX_IDS_PER_READ,
  type IdReadable,
} from '../../../src/db/group-read.js';
import { testDatabase } from '../../helpers/db.js';

/** The real model, with the `find` commands sent to its collection written down. */
function counted(model: IdReadable): IdReadable & { filters: Array<{ _id: { $in: unknown[] } }> } {
  const filters: Array<{ _id: { $in: unknown[] } }> = [];
  return {
    filters,
    schema: model.schema,
    collection: {
      find(filter, options) {
        filters.push(filter);
        return model.collection.find(filter, options);
      },
    },
  };
}

describe('reads by _id in groups', () => {
  let db: Database;
  const ids = Array.from({ length: 1200 }, () => new Types.ObjectId());

  before(async () => {
    db = await testDatabase();
    await db.models.Subscriber.collection.insertMany(
      ids.map((_id, i) => ({ _id, email: `group-read-${i}@example.com`, status: 'subscribed' })),
    );
  });
  after(async () => db.close());

  it('findByIds returns each stored document once, by String(_id), in commands of at most 500', async () => {
    const model = counted(db.models.Subscriber);
    const missing = new Types.ObjectId();
    // Every id twice (once as a string, which mongoose casts), and one that does not exist.
    const asked = [...ids, ...ids.map(String), missing];
    const found = await findByIds<{ email: string; status?: string }>(model, asked, { email: 1 });
    expect(found.size).to.equal(ids.length);
    expect(found.has(String(missing))).to.equal(false);
    expect(found.get(String(ids[7]))).to.deep.equal({
      _id: ids[7],
      email: 'group-read-7@example.com',
    });
    expect(model.filters.map((f) => f._id.$in.length)).to.deep.equal([
      MAX_IDS_PER_READ,
      MAX_IDS_PER_READ,
      ids.length + 1 - 2 * MAX_IDS_PER_READ,
    ]);
  });

  it('GroupRead answers concurrent single reads with fewer commands, each caller its own document', async () => {
    const model = counted(db.models.Subscriber);
    const reads = new GroupRead<{ email: string }>(model, { email: 1 });
    const some = ids.slice(0, 40);
    const missing = new Types.ObjectId();
    const answers = await Promise.all([...some, missing].map((id) => reads.byId(id)));
    expect(answers.slice(0, 40).map((a) => a?.email)).to.deep.equal(
      some.map((_id, i) => `group-read-${i}@example.com`),
    );
    expect(answers[40]).to.equal(null);
    // The first read goes alone; all that arrived while it was in flight share the next one.
    expect(model.filters.map((f) => f._id.$in.length)).to.deep.equal([1, 40]);
  });

  it('a read asked for after a write has resolved sees that write', async () => {
    const reads = new GroupRead<{ status: string }>(db.models.Subscriber, { status: 1 });
    expect((await reads.byId(ids[0]))?.status).to.equal('subscribed');
    await db.models.Subscriber.collection.updateOne(
      { _id: ids[0] },
      { $set: { status: 'bounced' } },
    );
    expect((await reads.byId(ids[0]))?.status).to.equal('bounced');
  });
});
