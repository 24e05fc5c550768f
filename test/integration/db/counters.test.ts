import { expect } from 'chai';
import { Types } from 'mongoose';
import type { Database } from '../../../src/db/connection.js';
import { incrementOnce } from '../../../src/db/counters.js';
import { CampaignCounter } from '../../../src/campaigns/stats/counter.js';
import { createLogger } from '../../../src/shared/logger.js';
import { testDatabase } from '../../helpers/db.js';

describe('grouped counters', () => {
  let db: Database;
  before(async () => {
    db = await testDatabase();
  });
  after(async () => db.close());

  it('applies a group once, even when it is sent again', async () => {
    const collection = db.models.CampaignCounts.collection;
    const campaignId = new Types.ObjectId();
    const group = [
      { id: 'a', onInsert: { campaignId, hour: new Date(0), writer: 'w' }, inc: { 'counts.x': 2 } },
    ];
    await incrementOnce(collection, 1, group);
    await incrementOnce(collection, 1, group);
    await incrementOnce(collection, 2, [{ ...group[0]!, inc: { 'counts.x': 3, 'counts.y': 1 } }]);
    await incrementOnce(collection, 2, [{ ...group[0]!, inc: { 'counts.x': 3, 'counts.y': 1 } }]);
    const doc = await collection.findOne({ _id: 'a' as never });
    expect(doc?.counts).to.deep.equal({ x: 5, y: 1 });
    expect(doc?.seq).to.equal(2);
    expect(String(doc?.campaignId)).to.equal(String(campaignId));
  });

  it('counts every increment added while flushes run, and writes the rest on stop', async () => {
    const counter = new CampaignCounter(db.models.CampaignCounts, createLogger('silent'), 5);
    counter.start();
    const campaignId = new Types.ObjectId().toHexString();
    const at = new Date('2026-03-01T10:30:00Z');
    for (let i = 0; i < 2000; i++) {
      counter.add(campaignId, { click_0: 1, ...(i % 2 ? { click_1: 1 } : {}) }, at);
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await counter.stop();
    const docs = await db.models.CampaignCounts.find({
      campaignId: new Types.ObjectId(campaignId),
    }).lean();
    expect(docs).to.have.length(1);
    expect(docs[0]!.hour.toISOString()).to.equal('2026-03-01T10:00:00.000Z');
    expect(docs[0]!.counts).to.deep.equal({ click_0: 2000, click_1: 1000 });
  });
});
