import { bootApp } from '../helpers/app.js';
import { seedList } from '../helpers/audience.js';
import { TestRenderer } from '../helpers/renderer.js';
import { Types } from 'mongoose';

it('times snapshot', async function () {
  this.timeout(300000);
  const t = await bootApp({ ports: { renderer: new TestRenderer() } });
  const list = await seedList(t.db.models, 3000);
  let t0 = Date.now();
  const ms = await t.db.models.Membership.find({ listId: { $in: [new Types.ObjectId(list.listId)] } }, { subscriberId: 1, listId: 1, status: 1 }).lean();
  console.log('memberships', ms.length, Date.now() - t0);
  t0 = Date.now();
  const c = await t.db.models.Campaign.create({ name: 'x', subject: 's', mjml: 'm', listIds: [list.listId], fromEmail: 'a@example.com', status: 'running' });
  const { RecipientSnapshot } = await import('../../src/campaigns/send/snapshot.js');
  const snap = new RecipientSnapshot(t.db.models, t.services.suppressions, { assertSegment: async () => {}, segmentMembers: async function* () {} }, t.clock);
  await snap.take(c.toObject(), 50, async () => { console.log('page', Date.now() - t0); });
  console.log('snapshot', Date.now() - t0);
  await t.close();
});
