import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createSubscriber } from '../../helpers/api.js';
import { staffToken } from '../../helpers/factories.js';

/** Who read personal data, and who tried to without the right (seed §7-9). */
describe('audit of subscriber searches and refused requests', () => {
  let t: TestApp;
  let subscriberId: string;
  before(async () => {
    t = await bootApp();
    subscriberId = (
      await createSubscriber(t, {
        email: 'audited.person@example.com',
        name: 'Aulikki Auditoitava',
      })
    ).id;
  });
  after(async () => t.close());

  const entries = (action: string) =>
    t.db.models.AuditEntry.find({ action }).sort({ _id: 1 }).lean();

  it('lists and searches by email or name are audited, without the values searched for', async () => {
    const marketing = await staffToken(t.services, 'marketing');
    const get = (query: string) =>
      t.http
        .get(`/api/v1/subscribers${query}`)
        .auth(marketing.token, { type: 'bearer' })
        .set('X-Request-Id', `search-${query.length}`)
        .expect(200);
    await get('');
    const byEmail = await get('?email=audited.person%40example.com');
    expect(byEmail.body.items).to.have.length(1);
    await get('?name=Aulikki&limit=5');

    const trail = await entries('subscribers.search');
    expect(trail).to.have.length(3);
    for (const e of trail) expect(e).to.include({ actorType: 'staff', actorId: marketing.userId });
    expect(trail.map((e) => (e.details as { filters: string[] }).filters)).to.deep.equal([
      [],
      ['email'],
      ['name'],
    ]);
    expect((trail[1]!.details as { results: number }).results).to.equal(1);
    expect(trail[1]!.requestId).to.equal(`search-${'?email=audited.person%40example.com'.length}`);
    const text = JSON.stringify(trail);
    for (const personal of ['audited.person', 'Aulikki', 'Auditoitava', subscriberId])
      expect(text).to.not.include(personal);
  });

  it('a 403 on personal data is audited with the route and permission, not the data asked for', async () => {
    const auditor = await staffToken(t.services, 'auditor');
    const asAuditor = { type: 'bearer' as const };
    await t.http
      .get('/api/v1/subscribers?email=audited.person%40example.com')
      .auth(auditor.token, asAuditor)
      .expect(403);
    await t.http
      .get(`/api/v1/subscribers/${subscriberId}`)
      .auth(auditor.token, asAuditor)
      .expect(403);
    await t.http.get('/api/v1/exports?list=x').auth(auditor.token, asAuditor).expect(403);

    const refused = await entries('access.refused');
    expect(refused.map((e) => e.details)).to.deep.equal([
      { method: 'GET', route: '/subscribers', permission: 'subscribers.read' },
      { method: 'GET', route: '/subscribers/:id', permission: 'subscribers.read' },
      { method: 'GET', route: '/exports', permission: 'subscribers.export' },
    ]);
    for (const e of refused) expect(e).to.include({ actorType: 'staff', actorId: auditor.userId });
    expect(JSON.stringify(refused)).to.not.include('audited.person');
    expect(JSON.stringify(refused)).to.not.include(subscriberId);
    // A request without a valid token is a 401: there is nobody to name.
    await t.http.get('/api/v1/subscribers').expect(401);
    expect(await entries('access.refused')).to.have.length(3);
  });
});
