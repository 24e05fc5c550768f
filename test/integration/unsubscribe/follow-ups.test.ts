import { expect } from 'chai';
import { Types } from 'mongoose';
import { suppressionId } from '../../../src/db/models/suppression.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { makeList, makePerson } from './fixtures.js';

const ONE_CLICK = 'List-Unsubscribe=One-Click';

/**
 * The background half of RFC 8058 one-click (src/unsubscribe/follow-ups.ts): what a crash leaves
 * is completed, completing twice changes nothing, and what the person sees never lags behind.
 */
describe('one-click follow-ups', () => {
  let t: TestApp;
  let news: string;
  let offers: string;
  before(async () => {
    t = await bootApp();
    news = await makeList(t, 'Uutiskirje', { public: true });
    offers = await makeList(t, 'Tarjoukset', { public: true });
  });
  after(async () => t.close());

  const followUps = () => t.services.unsubscribeFollowUps;
  const oneClick = (subscriberId: string, listId: string) =>
    t.http
      .post(`/u/${t.services.tokens.sign('unsubscribe', { subscriberId, listId })}`)
      .type('form')
      .send(ONE_CLICK)
      .expect(200);
  const membership = async (subscriberId: string, listId: string) =>
    (await t.db.models.Membership.findOne({ subscriberId, listId }).lean())?.status;
  const ledger = (subscriberId: string) => t.db.models.ConsentEvent.find({ subscriberId }).lean();
  const events = (subscriberId: string) =>
    t.db.models.UnsubscribeEvent.find({ subscriberId }).lean();

  it('a to-do left by a crash before its suppression is completed, suppression included', async () => {
    const p = await makePerson(t, [news, offers]);
    const at = t.clock.now();
    // The state after a crash between the two grouped inserts: the to-do is there, nothing else.
    await t.db.models.UnsubscribeFollowUp.create({
      subscriberId: p.id,
      emailHash: t.services.suppressions.hash(p.email),
      allLists: false,
      listIds: [news],
      reason: 'unsubscribe',
      channel: 'one-click',
      at,
    });
    expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(false);
    expect(await followUps().tick()).to.equal(1);
    expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(true);
    expect(await t.services.suppressions.isSuppressed(p.email, offers)).to.equal(false);
    expect(await membership(p.id, news)).to.equal('unsubscribed');
    expect(await membership(p.id, offers)).to.equal('subscribed');
    const [ev, ...more] = await events(p.id);
    expect(more).to.have.length(0);
    expect(ev).to.include({ channel: 'one-click', allLists: false });
    expect(ev!.at.getTime()).to.equal(at.getTime());
    expect(await t.db.models.UnsubscribeFollowUp.countDocuments()).to.equal(0);
  });

  it('a to-do completed twice (a crash after the work, before its delete) writes nothing twice', async () => {
    const p = await makePerson(t, [news, offers]);
    await t.http
      .post(`/u/${t.services.tokens.sign('unsubscribe', { subscriberId: p.id })}`)
      .type('form')
      .send(ONE_CLICK)
      .expect(200);
    const [todo] = await t.db.models.UnsubscribeFollowUp.find({ subscriberId: p.id }).lean();
    expect(todo).to.include({ allLists: true, channel: 'one-click' });
    await followUps().drain();
    const before = { events: await events(p.id), ledger: await ledger(p.id) };
    expect(before.events).to.have.length(1);
    expect(before.ledger.map((e) => String(e.listId)).sort()).to.deep.equal([news, offers].sort());
    // The same to-do again, as if the process died before deleting it.
    await t.db.models.UnsubscribeFollowUp.create(todo!);
    t.clock.advance(60_000);
    await followUps().drain();
    expect(await events(p.id)).to.deep.equal(before.events);
    expect(await ledger(p.id)).to.deep.equal(before.ledger);
    expect((await t.db.models.Subscriber.findById(p.id).lean())!.status).to.equal('unsubscribed');
    // A crash after the ledger entries, before the event: the event comes, the entries stay one each.
    await t.db.models.UnsubscribeEvent.deleteMany({ subscriberId: p.id });
    await t.db.models.UnsubscribeFollowUp.create(todo!);
    await followUps().drain();
    expect(await events(p.id)).to.deep.equal(before.events);
    expect(await ledger(p.id)).to.deep.equal(before.ledger);
  });

  it('the page shows the opt-out at once: it completes the person’s to-dos before reading', async () => {
    const p = await makePerson(t, [news, offers], { locale: 'en' });
    await oneClick(p.id, news);
    expect(await t.db.models.UnsubscribeFollowUp.countDocuments({ subscriberId: p.id })).to.equal(
      1,
    );
    const page = await t.http
      .get(`/u/${t.services.tokens.sign('preferences', { subscriberId: p.id })}`)
      .expect(200);
    const ticked = [...page.text.matchAll(/value="([0-9a-f]{24})"\s*checked/g)].map((m) => m[1]);
    expect(ticked).to.deep.equal([offers]);
    expect(await membership(p.id, news)).to.equal('unsubscribed');
    expect(await events(p.id)).to.have.length(1);
    expect(await t.db.models.UnsubscribeFollowUp.countDocuments({ subscriberId: p.id })).to.equal(
      0,
    );
  });

  it('lifting a suppression first completes the opt-out, so a late follow-up cannot undo a resubscribe', async () => {
    const p = await makePerson(t, [news]);
    await oneClick(p.id, news);
    await t.services.suppressions.lift(p.email, [news], ['unsubscribe']);
    expect(await t.db.models.UnsubscribeFollowUp.countDocuments({ subscriberId: p.id })).to.equal(
      0,
    );
    expect(await events(p.id)).to.have.length(1);
    expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(false);
    // What the resubscribe then writes stays: nothing is left in flight to overwrite it.
    await t.db.models.Membership.updateOne(
      { subscriberId: p.id, listId: news },
      { $set: { status: 'subscribed' } },
    );
    await followUps().drain();
    expect(await membership(p.id, news)).to.equal('subscribed');
  });

  it('runs by itself once started, and stops', async () => {
    const p = await makePerson(t, [news]);
    followUps().start();
    try {
      await oneClick(p.id, news);
      const deadline = Date.now() + 20_000;
      while ((await t.db.models.UnsubscribeFollowUp.countDocuments()) > 0) {
        if (Date.now() > deadline) throw new Error('the background step never ran');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await followUps().stop();
    }
    expect(await membership(p.id, news)).to.equal('unsubscribed');
    expect(await events(p.id)).to.have.length(1);
  });

  it('suppressions are keyed by address hash and scope, so every check is an _id lookup', async () => {
    const p = await makePerson(t, [news]);
    await oneClick(p.id, news);
    const hash = t.services.suppressions.hash(p.email);
    const doc = await t.db.models.Suppression.findById(suppressionId(hash, news)).lean();
    expect(doc).to.include({ emailHash: hash, scope: news, reason: 'unsubscribe' });
    expect(doc!.generation).to.be.instanceOf(Types.ObjectId);
    await followUps().drain();
  });
});
