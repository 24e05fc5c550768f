import { expect } from 'chai';
import { Types } from 'mongoose';
import type { Database } from '../../../src/db/connection.js';
import { testDatabase } from '../../helpers/db.js';

/**
 * Hot paths look documents up by `_id` alone (docs/database.md). On the embedded FerretDB that is
 * only fast because our build patches the lookup expression to match the `_id` index; this guards
 * the patch. On MongoDB the plan has another shape and an `_id` lookup is always indexed.
 */
describe('lookups by _id on the test database', () => {
  let db: Database;
  before(async () => {
    db = await testDatabase();
  });
  after(async () => db.close());

  it('find, update and delete by _id use the _id index, for string and ObjectId keys', async () => {
    const col = db.connection.db!.collection<{ _id: string | Types.ObjectId; v: number }>(
      'id_index_probe',
    );
    const oid = new Types.ObjectId();
    await col.insertMany([
      { _id: 'key-1', v: 1 },
      { _id: oid, v: 2 },
    ]);
    for (const _id of ['key-1', oid]) {
      const plan = (await col.find({ _id }).explain()) as {
        serverInfo?: { ferretdbVersion?: string };
        queryPlanner?: { Plan?: string[] };
      };
      if (!plan.serverInfo?.ferretdbVersion) continue;
      expect(plan.queryPlanner?.Plan?.join('\n')).to.match(/SEARCH .* USING INDEX .*__id_/);
    }
    // The same lookup serves updates and deletes; they find and change exactly their document.
    expect((await col.updateOne({ _id: oid }, { $set: { v: 3 } })).modifiedCount).to.equal(1);
    expect((await col.deleteOne({ _id: 'key-1' })).deletedCount).to.equal(1);
    expect(await col.find().toArray()).to.deep.equal([{ _id: oid, v: 3 }]);
  });

  it('a group of _id values ($in) and an _id beside other conditions use the index too, and the whole filter still applies', async () => {
    const col = db.connection.db!.collection<{ _id: string | Types.ObjectId; v: number }>(
      'id_in_probe',
    );
    const oids = [new Types.ObjectId(), new Types.ObjectId()];
    await col.insertMany([
      ...Array.from({ length: 50 }, (_, i) => ({ _id: `k${i}`, v: i % 3 })),
      { _id: oids[0]!, v: 1 },
      { _id: oids[1]!, v: 2 },
    ]);
    const filters = [
      { _id: { $in: ['k1', 'k2', 'k3', 'nope'] } },
      { _id: { $in: oids } },
      { _id: 'k4', v: 1 },
      { _id: { $in: ['k1', 'k2', 'k3', 'k4'] }, v: 1 },
    ];
    for (const filter of filters) {
      const plan = (await col.find(filter).explain()) as {
        serverInfo?: { ferretdbVersion?: string };
        queryPlanner?: { Plan?: string[] };
      };
      if (!plan.serverInfo?.ferretdbVersion) continue;
      expect(plan.queryPlanner?.Plan?.join('\n'), JSON.stringify(filter)).to.match(
        /SEARCH .* USING INDEX .*__id_/,
      );
    }
    const ids = async (filter: object) =>
      (await col.find(filter).toArray()).map((d) => String(d._id)).sort();
    expect(await ids(filters[0]!)).to.deep.equal(['k1', 'k2', 'k3']);
    expect(await ids(filters[1]!)).to.deep.equal(oids.map(String).sort());
    expect(await ids(filters[2]!)).to.deep.equal(['k4']);
    expect(await ids({ _id: 'k4', v: 2 })).to.deep.equal([]);
    expect(await ids(filters[3]!)).to.deep.equal(['k1', 'k4']);
    // Values of other types are not pushed down, and still match as MongoDB matches them.
    expect(await ids({ _id: { $in: ['k5', 7] } })).to.deep.equal(['k5']);
    expect((await col.updateMany(filters[3]!, { $set: { v: 9 } })).modifiedCount).to.equal(2);
    expect(
      (await col.deleteMany({ _id: { $in: ['k1', 'k2', 'k4'] }, v: 9 })).deletedCount,
    ).to.equal(2);
    expect(await col.countDocuments({ _id: { $in: ['k1', 'k2', 'k4'] } })).to.equal(1);
  });
});
