import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect } from 'chai';
import { Types } from 'mongoose';
import { ALL_LISTS, suppressionId } from '../../../src/db/models/suppression.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { drain, seedList } from '../../helpers/audience.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { makeList, makePerson } from './fixtures.js';
import { recipientOutcomes } from '../../helpers/send-records.js';

const ONE_CLICK = 'List-Unsubscribe=One-Click';

/** The one opt-out path (src/unsubscribe/service.ts): whole before the answer, never undone. */
describe('one opt-out path', () => {
  let t: TestApp;
  let news: string;
  let offers: string;
  before(async () => {
    t = await bootApp();
    news = await makeList(t, 'Uutiskirje', { public: true });
    offers = await makeList(t, 'Tarjoukset', { public: true });
  });
  after(async () => t.close());

  const oneClick = (subscriberId: string, listId?: string) =>
    t.http
      .post(
        `/u/${t.services.tokens.sign('unsubscribe', { subscriberId, ...(listId ? { listId } : {}) })}`,
      )
      .type('form')
      .send(ONE_CLICK)
      .expect(200);
  const membership = async (subscriberId: string, listId: string) =>
    (await t.db.models.Membership.findOne({ subscriberId, listId }).lean())?.status;
  const ledger = (subscriberId: string) => t.db.models.ConsentEvent.find({ subscriberId }).lean();
  const events = (subscriberId: string) =>
    t.db.models.UnsubscribeEvent.find({ subscriberId }).lean();

  it('suppressions are keyed by address hash and scope, and stamped with the opt-out time', async () => {
    const p = await makePerson(t, [news]);
    t.clock.advance(1000);
    await oneClick(p.id, news);
    const hash = t.services.suppressions.hash(p.email);
    const doc = await t.db.models.Suppression.findById(suppressionId(hash, news)).lean();
    expect(doc).to.include({ emailHash: hash, scope: news, reason: 'unsubscribe' });
    expect(doc!.generation).to.be.instanceOf(Types.ObjectId);
    const stamp = await t.db.models.SuppressionStamp.findById(suppressionId(hash, news)).lean();
    expect(stamp!.at.getTime()).to.equal(t.clock.now().getTime());
  });

  it('one-click, then the page button for everything: two events, one withdrawal per list left', async () => {
    const p = await makePerson(t, [news, offers]);
    t.clock.advance(1000);
    await oneClick(p.id, news);
    // Complete before the answer: nothing left for the page's click to finish.
    expect(await membership(p.id, news)).to.equal('unsubscribed');
    expect(await membership(p.id, offers)).to.equal('subscribed');
    t.clock.advance(1000);
    const res = await t.services.unsubscribe.unsubscribe({
      subscriberId: p.id,
      scope: { all: true },
      channel: 'link',
    });
    expect(res).to.include({ changed: true, found: true });
    const evs = await events(p.id);
    expect(evs.map((e) => [e.channel, e.allLists])).to.have.deep.members([
      ['one-click', false],
      ['link', true],
    ]);
    expect((await ledger(p.id)).map((l) => String(l.listId)).sort()).to.deep.equal(
      [news, offers].sort(),
    );
    expect((await t.db.models.Subscriber.findById(p.id).lean())!.status).to.equal('unsubscribed');
  });

  it('two opt-outs of one person sent together rest on one suppression and write one event', async () => {
    const p = await makePerson(t, [news, offers]);
    const results = await Promise.all(
      ['one-click', 'email'].map((channel) =>
        t.services.unsubscribe.unsubscribe({
          subscriberId: p.id,
          scope: { all: true },
          channel: channel as 'one-click' | 'email',
        }),
      ),
    );
    expect(results.filter((r) => r.changed)).to.have.length(1);
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

  it('a valid link of someone unknown (erased) answers 200 and writes nothing', async () => {
    const ghost = String(new Types.ObjectId());
    const count = async () => ({
      suppressions: await t.db.models.Suppression.countDocuments(),
      events: await t.db.models.UnsubscribeEvent.countDocuments(),
      ledger: await t.db.models.ConsentEvent.countDocuments(),
    });
    const before = await count();
    await oneClick(ghost, news);
    expect(await count()).to.deep.equal(before);
  });

  it('refuses an opt-out that names something other than ids, before writing anything', async () => {
    const p = await makePerson(t, [news]);
    for (const listIds of [[], ['not-an-id']]) {
      const err = await t.services.unsubscribe
        .unsubscribe({ subscriberId: p.id, scope: { all: false, listIds }, channel: 'staff' })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).to.have.property('code', 'validation_failed');
    }
    expect(await events(p.id)).to.have.length(0);
  });

  describe('a resubscribe decided before a later opt-out', () => {
    /** A person who left `news` earlier and whose resubscribe is decided now (before `later`). */
    async function leftEarlier() {
      const p = await makePerson(t, [news]);
      await t.services.unsubscribe.unsubscribe({
        subscriberId: p.id,
        scope: { all: false, listIds: [news] },
        channel: 'link',
      });
      t.clock.advance(1000);
      const decidedAt = t.clock.now();
      t.clock.advance(1000);
      return { p, decidedAt };
    }
    const stamped = (p: { email: string }) =>
      t.db.models.SuppressionStamp.findById(
        suppressionId(t.services.suppressions.hash(p.email), news),
      ).lean();

    it('keeps the suppression of a one-click that came after the decision', async () => {
      const { p, decidedAt } = await leftEarlier();
      await oneClick(p.id, news);
      await t.services.suppressions.lift(p.email, [news], decidedAt, ['unsubscribe']);
      expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(true);
      // A resubscribe decided after the one-click lifts it.
      await t.services.suppressions.lift(p.email, [news], t.clock.now(), ['unsubscribe']);
      expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(false);
      expect((await stamped(p))!.at.getTime()).to.be.greaterThan(decidedAt.getTime());
    });

    it('keeps it whichever way the lift and the opt-out interleave', async function () {
      this.timeout(60_000);
      const rounds = await Promise.all(Array.from({ length: 12 }, () => leftEarlier()));
      // Each round starts the two at a different offset, so the lift's delete lands before, between
      // and after the opt-out's stamp and insert.
      await Promise.all(
        rounds.map(async ({ p, decidedAt }, i) => {
          const lift = async () => {
            for (let k = 0; k < i % 4; k++) await nextTurn();
            await t.services.suppressions.lift(p.email, [news], decidedAt, ['unsubscribe']);
          };
          const optOut = async () => {
            for (let k = 0; k < Math.floor(i / 4); k++) await nextTurn();
            await t.services.unsubscribe.unsubscribe({
              subscriberId: p.id,
              scope: { all: false, listIds: [news] },
              channel: 'one-click',
            });
          };
          await Promise.all([lift(), optOut()]);
        }),
      );
      const hashes = rounds.map(({ p }) => t.services.suppressions.hash(p.email));
      expect((await t.services.suppressions.suppressedHashes(hashes, news)).size).to.equal(12);
    });

    it('the preference centre still lifts the person’s own earlier opt-out', async () => {
      const p = await makePerson(t, [news, offers]);
      await oneClick(p.id);
      t.clock.advance(1000);
      const outcome = await t.services.preferences.apply(
        p.id,
        { name: 'Reader', locale: 'fi', listIds: [news] },
        { actor: { type: 'subject' }, requestId: 'test' },
      );
      expect(outcome.joined).to.deep.equal([news]);
      expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(false);
      const hash = t.services.suppressions.hash(p.email);
      expect(await t.db.models.Suppression.findById(suppressionId(hash, ALL_LISTS))).to.equal(null);
    });
  });
});

describe('one-click: honoured by the very next send and form', () => {
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

  it('a campaign sent right after the POSTs mails neither person', async () => {
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

    // One opts out before the campaign starts, one after its recipients were taken.
    await oneClick(before!.id);
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth).expect(202);
    await t.services.sendWorker.tick(); // the snapshot
    await oneClick(after!.id);
    await drain(t.services.sendWorker);

    expect(await t.db.models.Suppression.countDocuments()).to.equal(2);
    expect(
      await t.db.models.Membership.countDocuments({ listId: list.listId, status: 'subscribed' }),
    ).to.equal(4);
    expect(sink.messages.map((m) => m.rcptTo[0]).sort()).to.deep.equal(
      others.map((p) => p.email).sort(),
    );
    const outcomes = await recipientOutcomes(t.db.models, id);
    const skipped = [...outcomes].filter(([, o]) => o.status === 'skipped');
    expect(skipped.map(([subscriberId, o]) => [subscriberId, o.detail]).sort()).to.deep.equal(
      [
        // Left the list before the snapshot; suppressed after it.
        [before!.id, 'unsubscribed'],
        [after!.id, 'suppressed'],
      ].sort(),
    );
  });
  it('a subscribe form right after a one-click asks for a confirmation', async () => {
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
    // The form sees the whole opt-out, so the way back is a confirmed opt-in.
    expect(sink.to(person.email)).to.have.length(1);
    expect(
      (await t.db.models.Membership.findOne({ subscriberId: person._id, listId }).lean())!.status,
    ).to.equal('unsubscribed');
    expect(await t.services.suppressions.isSuppressed(person.email, listId)).to.equal(true);
  });
});
