import { expect } from 'chai';
import { Types } from 'mongoose';
import { suppressionId } from '../../../src/db/models/suppression.js';
import { buildServices } from '../../../src/services.js';
import { createLogger } from '../../../src/shared/logger.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { drain, seedList } from '../../helpers/audience.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
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
  /** The outbox pages holding an opt-out of this person. */
  const pagesOf = (subscriberId: string) =>
    t.db.models.UnsubscribeFollowUp.find({ 'entries.subscriberId': subscriberId }).lean();

  it('a page left by a crash before its completion is completed by a new instance, suppression included', async () => {
    const p = await makePerson(t, [news, offers]);
    const q = await makePerson(t, [news]);
    const at = t.clock.now();
    // The state after a crash right after the 200s: the page is there, nothing else.
    await t.db.models.UnsubscribeFollowUp.create({
      entries: [p.id, q.id].map((subscriberId) => ({
        subscriberId,
        allLists: false,
        listIds: [news],
        reason: 'unsubscribe',
        channel: 'one-click',
        at,
      })),
    });
    expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(false);
    // The restarted process: services built anew over the same database.
    const restarted = buildServices({
      config: t.config,
      db: t.db,
      clock: t.clock,
      logger: createLogger('silent'),
      mailer: t.mailer,
    });
    expect(await restarted.unsubscribeFollowUps.tick()).to.equal(1); // one page, two opt-outs
    expect(await t.services.suppressions.isSuppressed(q.email, news)).to.equal(true);
    expect(await membership(q.id, news)).to.equal('unsubscribed');
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
    const [todo] = await pagesOf(p.id);
    expect(todo!.entries).to.have.length(1);
    expect(todo!.entries[0]).to.include({ allLists: true, channel: 'one-click' });
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

  it('an opt-out recorded with its suppression (inbound mail) completes once, also when completed twice', async () => {
    const p = await makePerson(t, [news, offers]);
    const res = await followUps().record({
      subscriberId: p.id,
      scope: { all: true },
      channel: 'email',
    });
    expect(res).to.include({ changed: true, found: true });
    const [page] = await pagesOf(p.id);
    const [generation] = page!.entries[0]!.generations!;
    // The entry names the suppression its record created, which the completion recognises.
    const suppression = await t.db.models.Suppression.findOne({ scope: 'all' })
      .where('generation')
      .equals(generation)
      .lean();
    expect(suppression).to.not.equal(null);
    await followUps().drain();
    const before = { events: await events(p.id), ledger: await ledger(p.id) };
    expect(before.events).to.have.length(1);
    expect(before.ledger.map((e) => String(e.listId)).sort()).to.deep.equal([news, offers].sort());
    expect((await t.db.models.Subscriber.findById(p.id).lean())!.status).to.equal('unsubscribed');
    // The same page again, as if the process died before deleting it.
    await t.db.models.UnsubscribeFollowUp.create(page!);
    await followUps().drain();
    expect(await events(p.id)).to.deep.equal(before.events);
    expect(await ledger(p.id)).to.deep.equal(before.ledger);
    // A repeat of the same opt-out rests on the same suppression: no second event.
    expect(
      await followUps().record({ subscriberId: p.id, scope: { all: true }, channel: 'email' }),
    ).to.include({ changed: false });
    await followUps().drain();
    expect(await events(p.id)).to.deep.equal(before.events);
  });

  it('the page shows the opt-out at once: it completes the person’s to-dos before reading', async () => {
    const p = await makePerson(t, [news, offers], { locale: 'en' });
    await oneClick(p.id, news);
    expect(await pagesOf(p.id)).to.have.length(1);
    const page = await t.http
      .get(`/u/${t.services.tokens.sign('preferences', { subscriberId: p.id })}`)
      .expect(200);
    const ticked = [...page.text.matchAll(/value="([0-9a-f]{24})"\s*checked/g)].map((m) => m[1]);
    expect(ticked).to.deep.equal([offers]);
    expect(await membership(p.id, news)).to.equal('unsubscribed');
    expect(await events(p.id)).to.have.length(1);
    expect(await pagesOf(p.id)).to.have.length(0);
  });

  it('lifting a suppression first completes the opt-out, so a late follow-up cannot undo a resubscribe', async () => {
    const p = await makePerson(t, [news]);
    await oneClick(p.id, news);
    await t.services.suppressions.lift(p.email, [news], ['unsubscribe']);
    expect(await pagesOf(p.id)).to.have.length(0);
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
    await followUps().drain();
    const hash = t.services.suppressions.hash(p.email);
    const doc = await t.db.models.Suppression.findById(suppressionId(hash, news)).lean();
    expect(doc).to.include({ emailHash: hash, scope: news, reason: 'unsubscribe' });
    expect(doc!.generation).to.be.instanceOf(Types.ObjectId);
  });

  it('one event and one withdrawal per list when the person also leaves on the page before the step runs', async () => {
    const p = await makePerson(t, [news, offers]);
    t.clock.advance(1000);
    await t.http
      .post(`/u/${t.services.tokens.sign('unsubscribe', { subscriberId: p.id })}`)
      .type('form')
      .send(ONE_CLICK)
      .expect(200);
    t.clock.advance(1000);
    // The page's own button: the whole opt-out at once, resting on the one-click's suppression.
    await t.services.unsubscribe.unsubscribe({
      subscriberId: p.id,
      scope: { all: true },
      channel: 'link',
    });
    await followUps().drain();
    // The click completed the one-click first (settle), so it was a repeat of it.
    const [ev, ...more] = await events(p.id);
    expect(more).to.have.length(0);
    expect(ev!.channel).to.equal('one-click');
    expect(ev!.listIds.map(String).sort()).to.deep.equal([news, offers].sort());
    expect((await ledger(p.id)).map((l) => String(l.listId)).sort()).to.deep.equal(
      [news, offers].sort(),
    );
  });

  it('two opt-outs resting on one suppression, completed in one step, write one event', async () => {
    const p = await makePerson(t, [news, offers]);
    const entry = (at: Date) => ({
      subscriberId: p.id,
      allLists: true,
      listIds: [],
      reason: 'unsubscribe',
      channel: 'one-click',
      at,
    });
    // Two pages, one each (the later one a retry by the sender); no suppression written yet.
    await t.db.models.UnsubscribeFollowUp.create({ entries: [entry(t.clock.now())] });
    t.clock.advance(1000);
    await t.db.models.UnsubscribeFollowUp.create({ entries: [entry(t.clock.now())] });
    await followUps().drain();
    expect(await events(p.id)).to.have.length(1);
    expect(await ledger(p.id)).to.have.length(2);
  });

  it('an opt-out of all lists leaves every list, and a removed list leaves no membership behind', async () => {
    const gone = await makeList(t, 'Poistuva');
    const p = await makePerson(t, [news, gone]);
    await t.http
      .delete(`/api/v1/lists/${gone}`)
      .set({ Authorization: `Bearer ${t.adminToken}` })
      .expect(204);
    expect(await t.db.models.Membership.countDocuments({ listId: gone })).to.equal(0);
    await t.services.unsubscribe.unsubscribe({
      subscriberId: p.id,
      scope: { all: true },
      channel: 'link',
    });
    expect(await membership(p.id, news)).to.equal('unsubscribed');
    const [ev] = await events(p.id);
    expect(ev!.listIds.map(String)).to.deep.equal([news]);
  });

  it('a valid link of someone unknown (erased) answers 200; the background drops the entry', async () => {
    const ghost = String(new Types.ObjectId());
    const before = {
      suppressions: await t.db.models.Suppression.countDocuments(),
      events: await t.db.models.UnsubscribeEvent.countDocuments(),
      ledger: await t.db.models.ConsentEvent.countDocuments(),
    };
    await oneClick(ghost, news);
    expect(await pagesOf(ghost)).to.have.length(1);
    await followUps().drain();
    expect(await pagesOf(ghost)).to.have.length(0);
    expect({
      suppressions: await t.db.models.Suppression.countDocuments(),
      events: await t.db.models.UnsubscribeEvent.countDocuments(),
      ledger: await t.db.models.ConsentEvent.countDocuments(),
    }).to.deep.equal(before);
  });
});

describe('one-click before the background step: already honoured', () => {
  let sink: SmtpSink;
  let t: TestApp;
  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: { SEND_BATCH_SIZE: '4', SEND_RATE_PER_SECOND: '10000' },
    });
  });
  after(async () => {
    await t.close();
    await sink.stop();
  });

  it('a campaign sent right after the POSTs (follow-ups stopped) mails neither person', async () => {
    const list = await seedList(t.db.models, 6);
    const [before, after, ...others] = list.subscribers;
    const oneClick = (subscriberId: string) =>
      t.http
        .post(`/u/${t.services.tokens.sign('unsubscribe', { subscriberId, listId: list.listId })}`)
        .type('form')
        .send(ONE_CLICK)
        .expect(200);
    const auth = { Authorization: `Bearer ${t.adminToken}` };
    const created = await t.http
      .post('/api/v1/campaigns')
      .set(auth)
      .send({
        name: 'Syksy',
        subject: 'Tarjous',
        mjml: '<mj-section><mj-column><mj-text>Hei</mj-text></mj-column></mj-section>',
        lists: [list.slug],
      })
      .expect(201);
    const id = created.body.id as string;

    // One opts out before the campaign starts, one after its recipients were taken; the
    // background step never runs (it is not started in tests): each has only the suppression
    // written before its answer, and memberships that still say subscribed.
    await oneClick(before!.id);
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth).expect(202);
    await t.services.sendWorker.tick(); // the snapshot
    await oneClick(after!.id);
    await drain(t.services.sendWorker);

    expect(await t.db.models.Suppression.countDocuments()).to.equal(2);
    expect(
      await t.db.models.Membership.countDocuments({ listId: list.listId, status: 'subscribed' }),
    ).to.equal(6);
    expect(sink.messages.map((m) => m.rcptTo[0]).sort()).to.deep.equal(
      others.map((p) => p.email).sort(),
    );
    const skipped = await t.db.models.CampaignRecipient.find({ status: 'skipped' }).lean();
    expect(skipped.map((r) => [String(r.subscriberId), r.skipReason]).sort()).to.deep.equal(
      [
        [before!.id, 'suppressed'],
        [after!.id, 'suppressed'],
      ].sort(),
    );
    await t.services.unsubscribeFollowUps.drain();
    expect(await t.db.models.Suppression.countDocuments()).to.equal(2);
  });

  it('a subscribe form sees a one-click still in flight: the opt-out is done first, then a confirmation is asked for', async () => {
    const list = await t.db.models.List.create({
      name: 'Avoin',
      slug: `avoin-${new Types.ObjectId().toHexString().slice(-6)}`,
      public: true,
      doubleOptIn: false,
    });
    const listId = String(list._id);
    const person = await t.db.models.Subscriber.create({
      email: `back.${new Types.ObjectId().toHexString().slice(-6)}@example.com`,
      source: 'test',
      status: 'subscribed',
    });
    await t.db.models.Membership.create({ subscriberId: person._id, listId, status: 'subscribed' });
    await t.http
      .post(
        `/u/${t.services.tokens.sign('unsubscribe', { subscriberId: String(person._id), listId })}`,
      )
      .type('form')
      .send(ONE_CLICK)
      .expect(200);
    sink.messages.length = 0;
    await t.http
      .post('/subscribe')
      .type('form')
      .send({ email: person.email, list: list.slug, consent: 'on' })
      .expect((res) => expect(res.status).to.be.lessThan(400));
    await t.services.subscribe.drain();
    // The form saw the opt-out (completed first), so the way back is a confirmed opt-in: without
    // that it would have found them still subscribed, done nothing, and the late completion
    // would have left them out with no mail to come back through.
    expect(sink.to(person.email)).to.have.length(1);
    expect(
      (await t.db.models.Membership.findOne({ subscriberId: person._id, listId }).lean())!.status,
    ).to.equal('unsubscribed');
    expect(await t.services.suppressions.isSuppressed(person.email, listId)).to.equal(true);
  });
});
