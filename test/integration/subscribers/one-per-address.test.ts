import { expect } from 'chai';
import { Types } from 'mongoose';
import { membershipId } from '../../../src/db/models/membership.js';
import { dropRetiredCollections } from '../../../src/db/retired.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList, createSubscriber } from '../../helpers/api.js';
import { email } from '../../helpers/factories.js';

const SYSTEM = { actor: { type: 'system' as const, name: 'test' } };

describe('one subscriber per address', () => {
  let t: TestApp;
  before(async () => {
    t = await bootApp();
  });
  after(async () => t.close());
  const as = <R extends { auth: (token: string, o: { type: 'bearer' }) => R }>(req: R) =>
    req.auth(t.adminToken, { type: 'bearer' });
  const subscribersWith = (address: string) =>
    t.db.models.Subscriber.countDocuments({ email: address });

  it('a duplicate create answers 409 with the existing id and changes nothing', async () => {
    const first = await createSubscriber(t);
    const res = await as(t.http.post('/api/v1/subscribers'))
      .send({ email: first.email.toUpperCase(), status: 'subscribed' })
      .expect(409);
    expect(res.body.error).to.include({ code: 'conflict', id: first.id });
    expect(await subscribersWith(first.email)).to.equal(1);
    expect((await t.services.addresses.lookup(first.email, ['status']))?.status).to.equal(
      'subscribed',
    );
  });

  it('a create repeated after its event was lost stores subscriber.created again, once, only for a recent subscriber', async () => {
    const first = await createSubscriber(t);
    const key = `subscriber.created:${first.id}`;
    const events = () => t.db.models.DomainEvent.countDocuments({ key });
    expect(await events()).to.equal(1);
    // What a create that died between its insert and its event leaves: the subscriber alone.
    await t.db.models.DomainEvent.deleteMany({ key });
    const retry = () =>
      as(t.http.post('/api/v1/subscribers')).send({ email: first.email }).expect(409);
    await retry();
    expect(await events()).to.equal(1);
    await retry();
    expect(await events()).to.equal(1);

    // Days later a duplicate create is only a conflict: that subscriber's event may be long swept.
    await t.db.models.DomainEvent.deleteMany({ key });
    t.clock.advanceDays(2);
    await retry();
    expect(await events()).to.equal(0);
  });

  it('concurrent creates of one address make one subscriber; every other answer names it', async () => {
    const address = email('race');
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_v, i) =>
        as(t.http.post('/api/v1/subscribers')).send({ email: address, name: `Racer ${i}` }),
      ),
    );
    const created = answers.filter((r) => r.status === 201);
    expect(created, answers.map((r) => r.status).join(',')).to.have.length(1);
    const id = created[0]!.body.id as string;
    for (const r of answers.filter((a) => a.status !== 201)) {
      expect(r.status).to.equal(409);
      expect(r.body.error.id).to.equal(id);
    }
    expect(await subscribersWith(address)).to.equal(1);
  });

  it('concurrent public sign-ups of one address make one subscriber', async () => {
    const list = await createList(t, { public: true, doubleOptIn: true });
    const address = email('form');
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        t.http
          .post('/subscribe')
          .type('form')
          .send({ email: address, list: list.slug, consent: 'yes' }),
      ),
    );
    // Every post went through (the same answer for known and new addresses).
    expect(answers.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200, 200]);
    expect(await subscribersWith(address)).to.equal(1);
    const sub = await t.db.models.Subscriber.findOne({ email: address }).lean();
    const membership = await t.db.models.Membership.findById(
      membershipId(sub!._id, list.id),
    ).lean();
    expect(membership?.status).to.equal('unconfirmed');
  });

  it('concurrent batch creates (imports, orders) of overlapping addresses make one subscriber each', async () => {
    const shared = Array.from({ length: 40 }, () => email('batch'));
    const batch = () =>
      shared.map((address) => ({
        _id: new Types.ObjectId(),
        email: address,
        source: 'test',
        status: 'subscribed' as const,
      }));
    const [first, second] = await Promise.all([
      t.services.addresses.createMany(batch(), []),
      t.services.addresses.createMany(batch(), []),
    ]);
    for (const [i, address] of shared.entries()) {
      expect(await subscribersWith(address)).to.equal(1);
      // Exactly one of the two created it; the other was given the holder.
      expect([first![i], second![i]].filter((holder) => holder === null)).to.have.length(1);
      const holder = first![i] ?? second![i];
      expect(holder!.email).to.equal(address);
    }
  });

  it('an email change frees the old address; a change to a taken address is refused and changes nothing', async () => {
    const a = await createSubscriber(t);
    const b = await createSubscriber(t);
    const moved = email('moved');
    await as(t.http.patch(`/api/v1/subscribers/${a.id}`))
      .send({ email: moved })
      .expect(200);
    expect(String((await t.services.addresses.lookup(moved, []))?._id)).to.equal(a.id);
    expect(await t.services.addresses.lookup(a.email, [])).to.equal(null);

    const refused = await as(t.http.patch(`/api/v1/subscribers/${a.id}`))
      .send({ email: b.email })
      .expect(409);
    expect(refused.body.error.id).to.equal(b.id);
    expect((await t.db.models.Subscriber.findById(a.id).lean())!.email).to.equal(moved);
    expect(await subscribersWith(b.email)).to.equal(1);

    // The old address is free again.
    await as(t.http.post('/api/v1/subscribers')).send({ email: a.email }).expect(201);
  });

  it('erasure removes the subscriber, and the address can be used again', async () => {
    const a = await createSubscriber(t);
    await t.services.erasure.erase(SYSTEM, a.email);
    expect(await subscribersWith(a.email)).to.equal(0);
    // Erased on request: suppressed, so it comes back only as unsubscribed.
    const res = await as(t.http.post('/api/v1/subscribers'))
      .send({ email: a.email, status: 'subscribed' })
      .expect(201);
    expect(res.body.status).to.equal('unsubscribed');
  });

  it('the address-key collection of earlier versions is dropped at connect, addresses and all', async () => {
    const retired = t.db.connection.db!.collection('subscriber_email_keys');
    await retired.insertOne({ _id: email('old-key'), subscriberId: new Types.ObjectId() } as never);
    await dropRetiredCollections(t.db.connection);
    const left = await t.db.connection
      .db!.listCollections({ name: 'subscriber_email_keys' })
      .toArray();
    expect(left).to.deep.equal([]);
  });

  it('memberships are keyed by the pair, and still found by list and by subscriber', async () => {
    const list = await createList(t);
    const a = await createSubscriber(t, { lists: [list.id] });
    const m = await t.db.models.Membership.findById(membershipId(a.id, list.id)).lean();
    expect(m).to.include({ status: 'subscribed' });
    expect(String(m!.subscriberId)).to.equal(a.id);
    expect(String(m!.listId)).to.equal(list.id);
    expect(await t.db.models.Membership.countDocuments({ listId: list.id })).to.equal(1);
    expect(await t.db.models.Membership.countDocuments({ subscriberId: a.id })).to.equal(1);
    // A second document for the pair is refused whatever its `_id`.
    const dup = await t.db.models.Membership.create({
      _id: 'another-id',
      subscriberId: a.id,
      listId: list.id,
      status: 'unsubscribed',
    }).then(
      () => null,
      (err: { code?: number }) => err.code,
    );
    expect(dup).to.equal(11000);
  });
});
