import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createSubscriber } from '../../helpers/api.js';
import { email } from '../../helpers/factories.js';

describe('order facts API', () => {
  let t: TestApp;
  before(async () => {
    t = await bootApp();
  });
  after(async () => t.close());
  const post = (body: unknown) =>
    t.http
      .post('/api/v1/orders')
      .auth(t.adminToken, { type: 'bearer' })
      .send(body as object);
  const order = (fields: Record<string, unknown> = {}) => ({
    externalId: `ord-${Math.random().toString(36).slice(2)}`,
    email: email('buyer'),
    orderedAt: '2026-01-10T12:00:00Z',
    total: '129.90',
    currency: 'eur',
    categories: ['headphones'],
    ...fields,
  });

  it('records one order and creates an unconfirmed contact with no lists for an unknown buyer', async () => {
    const o = order();
    const res = await post(o).expect(200);
    expect(res.body).to.include({ created: 1, updated: 0 });
    expect(res.body.items[0]).to.include({
      externalId: o.externalId,
      total: '129.90',
      totalCents: 12990,
      currency: 'EUR',
    });
    const sub = await t.http
      .get(`/api/v1/subscribers/${res.body.items[0].subscriberId}`)
      .auth(t.adminToken, { type: 'bearer' })
      .expect(200);
    expect(sub.body).to.include({
      email: o.email,
      source: 'order',
      status: 'unconfirmed',
      lastActivityAt: '2026-01-10T12:00:00.000Z',
    });
    expect(sub.body.lists).to.deep.equal([]);
  });

  it('creates the contact of a suppressed unknown buyer as unsubscribed', async () => {
    const o = order();
    await t.services.suppressions.suppress(o.email, 'all', 'unsubscribe');
    const res = await post(o).expect(200);
    const sub = await t.db.models.Subscriber.findById(res.body.items[0].subscriberId).lean();
    expect(sub?.status).to.equal('unsubscribed');
  });

  it('is idempotent on externalId: a resend updates, never duplicates', async () => {
    const o = order({ total: 10 });
    await post(o).expect(200);
    const again = await post({ ...o, total: 12.5 }).expect(200);
    expect(again.body).to.include({ created: 0, updated: 1 });
    expect(again.body.items[0].totalCents).to.equal(1250);
    expect(await t.db.models.Order.countDocuments({ externalId: o.externalId })).to.equal(1);
  });

  it('takes a batch, links known subscribers by email and keeps their latest activity', async () => {
    const known = await createSubscriber(t);
    const a = order({ email: known.email.toUpperCase(), orderedAt: '2026-01-05T08:00:00+02:00' });
    const b = order({ email: known.email, orderedAt: '2026-01-12T09:30:00Z', total: '5' });
    const dupOfA = { ...a, total: '99.99' };
    const res = await post({ orders: [a, b, dupOfA] }).expect(200);
    expect(res.body).to.include({ created: 2, updated: 0 });
    expect(res.body.items.map((i: { subscriberId: string }) => i.subscriberId)).to.deep.equal([
      known.id,
      known.id,
    ]);
    const stored = await t.db.models.Order.findOne({ externalId: a.externalId }).lean();
    expect(stored?.totalCents).to.equal(9999);

    const list = await t.http
      .get('/api/v1/orders')
      .query({ subscriberId: known.id })
      .auth(t.adminToken, { type: 'bearer' })
      .expect(200);
    expect(list.body.items).to.have.length(2);
    const sub = await t.db.models.Subscriber.findById(known.id).lean();
    expect(sub?.lastActivityAt?.toISOString()).to.equal('2026-01-12T09:30:00.000Z');

    // An older order never moves the activity date back.
    await post(order({ email: known.email, orderedAt: '2025-06-01T00:00:00Z' })).expect(200);
    const still = await t.db.models.Subscriber.findById(known.id).lean();
    expect(still?.lastActivityAt?.toISOString()).to.equal('2026-01-12T09:30:00.000Z');
  });

  it('refuses bad orders with a 400 naming the field, and batches over 1000', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ orders: [order(), order({ currency: 'EURO' })] }, /^orders\.1\.currency:/],
      [order({ total: '12.345' }), /^total:/],
      [order({ total: -1 }), /^total:/],
      [order({ total: 0.123 }), /^orders\.0\.total: at most two decimals/],
      [order({ orderedAt: 'yesterday' }), /^orderedAt:/],
      [order({ email: 'nobody' }), /^email:/],
      [order({ categories: 'audio' }), /^categories:/],
      [{ orders: [] }, /^orders:/],
      [{ orders: Array.from({ length: 1001 }, () => order()) }, /^orders:/],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 100)).to.equal(400);
      expect(res.body.error.message).to.match(message);
    }
  });

  it('answers 400 for a malformed subscriberId and 404 for an unknown one', async () => {
    const get = (q: Record<string, string>) =>
      t.http.get('/api/v1/orders').query(q).auth(t.adminToken, { type: 'bearer' });
    await get({ subscriberId: 'x' }).expect(400);
    await get({}).expect(400);
    await get({ subscriberId: '0123456789abcdef01234567' }).expect(404);
  });
});
