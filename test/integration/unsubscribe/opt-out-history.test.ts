import { expect } from 'chai';
import { Types } from 'mongoose';
import { bootApp, type TestApp } from '../../helpers/app.js';
import {
  createList,
  createSubscriber,
  expectPagingRefusals,
  readAllPages,
} from '../../helpers/api.js';
import { staffToken } from '../../helpers/factories.js';

describe("GET /api/v1/subscribers/:id/opt-outs: a person's opt-outs, bounces and complaints", () => {
  let t: TestApp;
  let personId: string;
  const campaignId = new Types.ObjectId().toHexString();
  const lists: string[] = [];
  const path = () => `/api/v1/subscribers/${personId}/opt-outs`;

  before(async () => {
    t = await bootApp();
    lists.push((await createList(t)).id, (await createList(t)).id);
    personId = (await createSubscriber(t, { lists })).id;
    // Each opt-out rests on suppressions of its own, so each is an event of its own.
    await t.services.unsubscribe.unsubscribe({
      subscriberId: personId,
      scope: { all: false, listIds: [lists[0]!] },
      channel: 'link',
      campaignId,
    });
    await t.services.unsubscribe.unsubscribe({
      subscriberId: personId,
      scope: { all: false, listIds: [lists[1]!] },
      channel: 'reply',
    });
    await t.services.unsubscribe.unsubscribe({
      subscriberId: personId,
      scope: { all: true },
      channel: 'bounce',
      reason: 'bounce',
      campaignId,
    });
  });
  after(async () => t.close());

  it('answers every event with channel, time, lists and campaign, paged by cursor, audited', async () => {
    const before = await t.db.models.AuditEntry.countDocuments({
      action: 'subscriber.opt_outs.read',
      subjectId: personId,
    });
    const walked = await readAllPages(t, path(), t.adminToken, {}, 2);
    expect(walked.ids).to.have.length(3);
    expect(walked.pages).to.equal(2);

    const all = await t.http.get(path()).auth(t.adminToken, { type: 'bearer' }).expect(200);
    expect(all.body.nextCursor).to.equal(null);
    expect(all.body.items.map((e: { id: string }) => e.id)).to.have.members(walked.ids);
    const byChannel = new Map(
      (all.body.items as Array<{ channel: string; at: string }>).map((e) => [e.channel, e]),
    );
    expect(byChannel.get('link')).to.deep.include({
      allLists: false,
      listIds: [lists[0]],
      campaignId,
      inboundMessageId: null,
    });
    expect(byChannel.get('reply')).to.deep.include({ listIds: [lists[1]], campaignId: null });
    expect(byChannel.get('bounce')).to.deep.include({ allLists: true, campaignId });
    expect(byChannel.get('bounce')!.at).to.match(/^\d{4}-\d\d-\d\dT/);

    // One audit entry per page read, naming the person.
    const after = await t.db.models.AuditEntry.countDocuments({
      action: 'subscriber.opt_outs.read',
      subjectId: personId,
    });
    expect(after - before).to.equal(walked.pages + 1);
  });

  it('an unknown person is a 404, bad paging a 400, a role without subscribers.read a 403', async () => {
    await t.http
      .get(`/api/v1/subscribers/${new Types.ObjectId().toHexString()}/opt-outs`)
      .auth(t.adminToken, { type: 'bearer' })
      .expect(404);
    await t.http
      .get('/api/v1/subscribers/not-an-id/opt-outs')
      .auth(t.adminToken, { type: 'bearer' })
      .expect(404);
    await expectPagingRefusals(t, path(), t.adminToken);
    const auditor = await staffToken(t.services, 'auditor');
    await t.http.get(path()).auth(auditor.token, { type: 'bearer' }).expect(403);
    const sales = await staffToken(t.services, 'sales');
    await t.http.get(path()).auth(sales.token, { type: 'bearer' }).expect(200);
  });
});
