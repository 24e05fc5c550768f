import { expect } from 'chai';
import { Types } from 'mongoose';
import type { Database } from '../../../src/db/connection.js';
import { DataProtector } from '../../../src/shared/crypto.js';
import { FakeClock } from '../../helpers/clock.js';
import { testDatabase } from '../../helpers/db.js';
import { email } from '../../helpers/factories.js';

describe('models on the test database', () => {
  let db: Database;
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  const protector = new DataProtector(Buffer.alloc(32, 9));

  before(async () => {
    db = await testDatabase(clock);
  });
  after(async () => db.close());

  it('writes and reads every core model, with timestamps from the injected clock', async () => {
    const m = db.models;
    const list = await m.List.create({
      name: 'Uutiskirje',
      slug: `uutiskirje-${Date.now()}`,
      doubleOptIn: true,
      lawfulBasis: 'consent',
    });
    const sub = await m.Subscriber.create({
      email: email(),
      name: 'Matti Meikäläinen',
      phone: '+358401234567',
      address: {
        street: 'Teollisuuskatu 21',
        postalCode: '00510',
        city: 'Helsinki',
        country: 'FI',
      },
      locale: 'fi',
      attributes: { favouriteBrand: 'Genelec', studio: true },
      source: 'api',
      customerSegment: 'pro-audio',
      status: 'subscribed',
    });
    await m.Membership.create({
      subscriberId: sub._id,
      listId: list._id,
      status: 'subscribed',
      subscribedAt: clock.now(),
    });
    await m.Suppression.create({
      emailHash: protector.emailHash(sub.email),
      scope: 'all',
      reason: 'unsubscribe',
    });
    await m.Order.create({
      externalId: `o-${sub.id}`,
      subscriberId: sub._id,
      orderedAt: clock.now(),
      totalCents: 129900,
      currency: 'EUR',
      categories: ['monitors', 'cables'],
    });
    await m.AuditEntry.create({
      actorType: 'system',
      actorId: 'test',
      action: 'test.write',
      subjectId: sub.id,
    });

    const read = await m.Subscriber.findById(sub._id).lean();
    expect(read?.attributes).to.deep.equal({ favouriteBrand: 'Genelec', studio: true });
    expect(read?.address?.city).to.equal('Helsinki');
    expect(read?.createdAt.toISOString()).to.equal('2026-03-01T12:00:00.000Z');
    expect(await m.Membership.countDocuments({ listId: list._id, status: 'subscribed' })).to.equal(
      1,
    );
    expect((await m.Order.findOne({ subscriberId: sub._id }).lean())?.categories).to.deep.equal([
      'monitors',
      'cables',
    ]);
    expect(
      await m.Suppression.exists({ emailHash: protector.emailHash(sub.email), scope: 'all' }),
    ).to.not.equal(null);
    expect(await m.AuditEntry.countDocuments({ subjectId: sub.id })).to.equal(1);
  });

  it('refuses a second subscriber with the same email through the unique index', async () => {
    const address = email();
    await db.models.Subscriber.create({ email: address, source: 'api', status: 'subscribed' });
    try {
      await db.models.Subscriber.create({ email: address, source: 'api', status: 'unconfirmed' });
      expect.fail('duplicate accepted');
    } catch (err) {
      expect((err as { code?: number }).code).to.equal(11000);
    }
  });

  it('refuses an update to a taken email with the duplicate-key code, as MongoDB does', async () => {
    const taken = email();
    await db.models.Subscriber.create({ email: taken, source: 'api', status: 'subscribed' });
    const mover = await db.models.Subscriber.create({
      email: email(),
      source: 'api',
      status: 'subscribed',
    });
    const codeOf = (write: Promise<unknown>) =>
      write.then(
        () => 'accepted',
        (err: { code?: number }) => err.code,
      );
    expect(
      await codeOf(db.models.Subscriber.updateOne({ _id: mover._id }, { $set: { email: taken } })),
    ).to.equal(11000);
    expect(
      await codeOf(
        db.models.Subscriber.findOneAndUpdate({ _id: mover._id }, { $set: { email: taken } }),
      ),
    ).to.equal(11000);
    expect((await db.models.Subscriber.findById(mover._id).lean())!.email).to.equal(mover.email);
  });

  it('refuses a duplicate list slug, membership and suppression', async () => {
    const slug = `dup-${Date.now()}`;
    await db.models.List.create({ name: 'A', slug });
    await expectDuplicate(db.models.List.create({ name: 'B', slug }));
    const ids = { subscriberId: new Types.ObjectId(), listId: new Types.ObjectId() };
    await db.models.Membership.create({ ...ids, status: 'subscribed' });
    await expectDuplicate(db.models.Membership.create({ ...ids, status: 'unsubscribed' }));
    await db.models.Suppression.create({ emailHash: 'h', scope: 'all', reason: 'bounce' });
    await expectDuplicate(
      db.models.Suppression.create({ emailHash: 'h', scope: 'all', reason: 'complaint' }),
    );
  });

  it('keeps the identity number only sealed: the raw stored document does not contain it', async () => {
    const hetu = '131052-308T';
    const sub = await db.models.Subscriber.create({
      email: email(),
      source: 'api',
      status: 'subscribed',
      hetuSealed: protector.encrypt(hetu),
    });
    const raw = await db.connection.collection('subscribers').findOne({ _id: sub._id });
    const text = JSON.stringify(raw);
    expect(text).to.not.include('131052');
    expect(text).to.not.include('308T');
    expect(protector.decrypt(String(raw?.hetuSealed))).to.equal(hetu);
  });

  it('has every index the models declare, on the embedded database as on MongoDB', async () => {
    const names = (await db.models.Membership.collection.indexes()).map((i) => i.name).sort();
    expect(names).to.deep.equal(
      ['_id_', 'subscriberId_1_listId_1', 'listId_1_status_1', 'listId_1_subscriberId_1'].sort(),
    );
  });
});

async function expectDuplicate(p: Promise<unknown>): Promise<void> {
  try {
    await p;
    expect.fail('duplicate accepted');
  } catch (err) {
    expect((err as { code?: number }).code).to.equal(11000);
  }
}
