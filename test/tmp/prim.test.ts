import { Types } from 'mongoose';
import { testDatabase } from '../helpers/db.js';

it('primitives', async function () {
  this.timeout(600000);
  const db = await testDatabase();
  const R = db.models.CampaignRecipient;
  const campaignId = new Types.ObjectId();
  const docs = Array.from({ length: 5000 }, (_, i) => ({ _id: new Types.ObjectId(), campaignId, subscriberId: new Types.ObjectId(), status: 'pending', batchNo: Math.floor(i / 100), attempts: 0 }));
  let t0 = Date.now();
  await R.insertMany(docs, { lean: true, ordered: false });
  console.log('insert 5000', Date.now() - t0);
  const time = async (name: string, fn: () => Promise<unknown>, n = 20) => {
    const t = Date.now();
    for (let i = 0; i < n; i++) await fn();
    console.log(name, ((Date.now() - t) / n).toFixed(1), 'ms');
  };
  let k = 0;
  await time('updateOne by _id', () => R.updateOne({ _id: docs[k++]!._id }, { $set: { status: 'sent' } }));
  await time('updateOne by _id+status', () => R.updateOne({ _id: docs[k++]!._id, status: 'pending' }, { $set: { status: 'sent' } }));
  await time('bulkWrite 2 by _id', () => R.bulkWrite([{ updateOne: { filter: { _id: docs[k++]!._id, status: 'pending' }, update: { $set: { status: 'sent' } } } }, { updateOne: { filter: { _id: docs[k++]!._id }, update: { $set: { status: 'sent' } } } }]));
  await time('updateMany _id $in 8', () => R.updateMany({ _id: { $in: docs.slice(k, (k += 8)).map((d) => d._id) } }, { $set: { status: 'sent' } }), 5);
  await time('find campaignId+batchNo', () => R.find({ campaignId, batchNo: 7 }).lean(), 5);
  await time('find batchNo only', () => R.find({ batchNo: 7 }).lean(), 5);
  await time('findById', () => R.findById(docs[k++]!._id).lean());
  await time('countDocuments campaign', () => R.countDocuments({ campaignId }), 3);
  await time('aggregate group', () => R.aggregate([{ $match: { campaignId } }, { $group: { _id: '$status', n: { $sum: 1 } } }]), 3);
  await db.close();
});
