import { expect } from 'chai';
import { Types } from 'mongoose';
import { membershipId } from '../../../src/db/models/membership.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList, createSubscriber } from '../../helpers/api.js';
import { email } from '../../helpers/factories.js';

const SYSTEM = { actor: { type: 'system' as const, name: 'test' } };

describe('subscriber email keys', () => {
  let t: TestApp;
  before(async () => {
    t = await bootApp();
  });
  after(async () => t.close());
  const as = <R extends { auth: (token: string, o: { type: 'bearer' }) => R }>(req: R) =>
    req.auth(t.adminToken, { type: 'bearer' });
  /** Where the key of `address` points, or null when there is none. */
  const keyOf = async (address: string) => {
    const key = await t.db.models.EmailKey.findById(address).lean();
    return key ? String(key.subscriberId) : null;
  };
  const subscribersWith = (address: string) =>
    t.db.models.Subscriber.countDocuments({ email: address });

  it('a create writes the key; a duplicate create answers 409 with the existing id and keeps it', async () => {
    const first = await createSubscriber(t);
    expect(await keyOf(first.email)).to.equal(first.id);
    const res = await as(t.http.post('/api/v1/subscribers'))
      .send({ email: first.email.toUpperCase(), status: 'subscribed' })
      .expect(409);
    expect(res.body.error).to.include({ code: 'conflict', id: first.id });
    expect(await keyOf(first.email)).to.equal(first.id);
    expect(await subscribersWith(first.email)).to.equal(1);
    expect((await t.services.emailKeys.lookup(first.email, ['status']))?.status).to.equal(
      'subscribed',
    );
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
    expect(await keyOf(address)).to.equal(id);
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
    expect(await keyOf(address)).to.equal(String(sub!._id));
    const membership = await t.db.models.Membership.findById(
      membershipId(sub!._id, list.id),
    ).lean();
    expect(membership?.status).to.equal('unconfirmed');
  });

  it('an email change moves the key; a change to a taken address is refused and moves nothing', async () => {
    const a = await createSubscriber(t);
    const b = await createSubscriber(t);
    const moved = email('moved');
    await as(t.http.patch(`/api/v1/subscribers/${a.id}`))
      .send({ email: moved })
      .expect(200);
    expect(await keyOf(moved)).to.equal(a.id);
    expect(await keyOf(a.email)).to.equal(null);

    const refused = await as(t.http.patch(`/api/v1/subscribers/${a.id}`))
      .send({ email: b.email })
      .expect(409);
    expect(refused.body.error.id).to.equal(b.id);
    expect(await keyOf(b.email)).to.equal(b.id);
    expect(await keyOf(moved)).to.equal(a.id);
    expect((await t.db.models.Subscriber.findById(a.id).lean())!.email).to.equal(moved);

    // The old address is free again.
    const again = await as(t.http.post('/api/v1/subscribers')).send({ email: a.email }).expect(201);
    expect(await keyOf(a.email)).to.equal(again.body.id);
  });

  it('a key left pointing at no subscriber (a crash between the two writes) reads as absent and is taken over', async () => {
    const address = email('crashed');
    await t.db.models.EmailKey.create({ _id: address, subscriberId: new Types.ObjectId() });
    expect(await t.services.emailKeys.lookup(address, [])).to.equal(null);
    const res = await as(t.http.post('/api/v1/subscribers')).send({ email: address }).expect(201);
    expect(await keyOf(address)).to.equal(res.body.id);
    expect(await subscribersWith(address)).to.equal(1);
  });

  it('a key left on the old address by an unfinished change reads as absent', async () => {
    const a = await createSubscriber(t);
    const address = email('left-behind');
    await t.db.models.EmailKey.create({ _id: address, subscriberId: new Types.ObjectId(a.id) });
    expect(await t.services.emailKeys.lookup(address, [])).to.equal(null);
    const res = await as(t.http.post('/api/v1/subscribers')).send({ email: address }).expect(201);
    expect(await keyOf(address)).to.equal(res.body.id);
  });

  it('a subscriber stored without a key is found by the unique email index and gets its key', async () => {
    const address = email('keyless');
    const legacy = await t.db.models.Subscriber.create({
      email: address,
      source: 'api',
      status: 'unsubscribed',
    });
    const res = await as(t.http.post('/api/v1/subscribers'))
      .send({ email: address, status: 'subscribed' })
      .expect(409);
    expect(res.body.error.id).to.equal(String(legacy._id));
    expect(await keyOf(address)).to.equal(String(legacy._id));
    expect((await t.db.models.Subscriber.findById(legacy._id).lean())!.status).to.equal(
      'unsubscribed',
    );
  });

  it('erasure removes the key, and the address can be used again', async () => {
    const a = await createSubscriber(t);
    await t.services.erasure.erase(SYSTEM, a.email);
    expect(await keyOf(a.email)).to.equal(null);
    expect(await subscribersWith(a.email)).to.equal(0);
    // Erased on request: suppressed, so it comes back only as unsubscribed.
    const res = await as(t.http.post('/api/v1/subscribers'))
      .send({ email: a.email, status: 'subscribed' })
      .expect(201);
    expect(res.body.status).to.equal('unsubscribed');
    expect(await keyOf(a.email)).to.equal(res.body.id);
  });

  it('the retention run removes the keys of the contacts it removes, and only theirs', async () => {
    const kept = await createSubscriber(t);
    const saved = t.clock.now();
    t.clock.set(new Date(saved.getTime() - 400 * 86_400_000));
    let stale: { id: string; email: string };
    try {
      stale = await createSubscriber(t, { status: 'unconfirmed' });
    } finally {
      t.clock.set(saved);
    }
    expect(await keyOf(stale.email)).to.equal(stale.id);
    await t.services.retention.run({ dryRun: false, trigger: 'api' });
    expect(await subscribersWith(stale.email)).to.equal(0);
    expect(await keyOf(stale.email)).to.equal(null);
    expect(await keyOf(kept.email)).to.equal(kept.id);
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
