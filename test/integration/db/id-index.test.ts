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
        ferretdbVersion?: string;
        queryPlanner?: { Plan?: string[] };
      };
      if (!plan.ferretdbVersion) continue;
      expect(plan.queryPlanner?.Plan?.join('\n')).to.match(/SEARCH .* USING INDEX .*__id_/);
    }
    // The same lookup serves updates and deletes; they find and change exactly their document.
    expect((await col.updateOne({ _id: oid }, { $set: { v: 3 } })).modifiedCount).to.equal(1);
    expect((await col.deleteOne({ _id: 'key-1' })).deletedCount).to.equal(1);
    expect(await col.find().toArray()).to.deep.equal([{ _id: oid, v: 3 }]);
  });
});
