import { expect } from 'chai';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { makeCampaign, makeList, makePeople, makePerson, snapshot } from './fixtures.js';

const ONE_CLICK = 'List-Unsubscribe=One-Click';

function expectPageHeaders(res: { headers: Record<string, string> }) {
  expect(res.headers['cache-control']).to.equal('no-store');
  expect(res.headers['referrer-policy']).to.equal('no-referrer');
  expect(res.headers['x-robots-tag']).to.match(/noindex/);
  const csp = res.headers['content-security-policy']!;
  expect(csp).to.match(/default-src 'none'/);
  expect(csp).to.match(/form-action 'self'/);
  expect(csp).to.not.match(/script-src|unsafe-inline|unsafe-eval/);
  expect(res.headers['set-cookie']).to.equal(undefined);
}

describe('/u/:token: unsubscribe page and RFC 8058 one-click', () => {
  let t: TestApp;
  let news: string;
  let offers: string;
  let events: string;
  before(async () => {
    t = await bootApp();
    news = await makeList(t, 'Uutiskirje', { public: true });
    offers = await makeList(t, 'Tarjoukset', { public: true });
    events = await makeList(t, 'VIP-tapahtumat');
  });
  after(async () => t.close());

  const sign = (subscriberId: string, extra: { campaignId?: string; listId?: string } = {}) =>
    t.services.tokens.sign('unsubscribe', { subscriberId, ...extra });
  const eventsOf = (subscriberId: string) =>
    t.db.models.UnsubscribeEvent.find({ subscriberId }).lean();
  const membership = async (subscriberId: string, listId: string) =>
    (await t.db.models.Membership.findOne({ subscriberId, listId }).lean())?.status;
  /** Whether mail to the person (on this list) is stopped, as the send worker decides. */
  const stopped = (p: { id: string; email: string }, listId?: string) =>
    t.services.suppressions.isSuppressed(p.email, listId);

  describe('GET', () => {
    it('shows the lists, a masked address and the three choices, in the subscriber language', async () => {
      const p = await makePerson(t, [news, events], { locale: 'fi' });
      const campaign = await makeCampaign(t, [news]);
      const res = await t.http.get(`/u/${sign(p.id, { campaignId: campaign })}`).expect(200);
      expect(res.headers['content-type']).to.match(/text\/html/);
      expectPageHeaders(res);
      expect(res.text).to.include('lang="fi"');
      expect(res.text).to.include(`${p.email.slice(0, 2)}***@example.com`);
      expect(res.text).to.not.include(p.email);
      expect(res.text).to.include('Uutiskirje').and.include('VIP-tapahtumat');
      expect(res.text).to.include('Peru tilaus: Uutiskirje');
      expect(res.text).to.include('Peru kaikki tilaukset');
      expect(res.text).to.include('name="action" value="preferences"');
      expect(res.text).to.not.match(/<script/i);
      // the non-public list the person is on can be left, the public one they are not on joined
      expect(res.text).to.include(`value="${offers}"`).and.include(`value="${events}"`);
    });

    it('speaks English for an English subscriber, and follows Accept-Language for others', async () => {
      const en = await makePerson(t, [news], { locale: 'en' });
      const res = await t.http.get(`/u/${sign(en.id)}`).expect(200);
      expect(res.text).to.include('lang="en"').and.include('Unsubscribe from everything');
      const sv = await makePerson(t, [news], { locale: 'sv' });
      const res2 = await t.http
        .get(`/u/${sign(sv.id)}`)
        .set('Accept-Language', 'sv;q=1, en;q=0.8, fi;q=0.5')
        .expect(200);
      expect(res2.text).to.include('lang="en"');
    });

    it('GET five times changes nothing at all', async () => {
      const p = await makePerson(t, [news, offers]);
      const campaign = await makeCampaign(t, [news, offers]);
      const token = sign(p.id, { campaignId: campaign });
      const before = await snapshot(t);
      for (let i = 0; i < 5; i++) await t.http.get(`/u/${token}`).expect(200);
      await t.http.head(`/u/${token}`).expect(200);
      expect(await snapshot(t)).to.deep.equal(before);
      expect(before.memberships!.length).to.be.greaterThan(0);
    });

    it('an invalid token is a 400 HTML page that leaks nothing', async () => {
      const p = await makePerson(t, [news]);
      const good = sign(p.id);
      for (const bad of [
        'not-a-token',
        good.slice(0, -3) + (good.endsWith('AAA') ? 'BBB' : 'AAA'),
        'x'.repeat(10_240),
        t.services.tokens.sign('subscribe-confirm', { subscriberId: p.id }),
      ]) {
        const res = await t.http.get(`/u/${bad}`).set('Accept-Language', 'en').expect(400);
        expect(res.headers['content-type']).to.match(/text\/html/);
        expectPageHeaders(res);
        expect(res.text).to.include('This link or form is not valid');
        expect(res.text).to.not.match(/AppError|at \w+ \(|jsonwebtoken|signature|stack/i);
      }
      const post = await t.http.post('/u/not-a-token').type('form').send(ONE_CLICK).expect(400);
      expect(post.text).to.include('Linkki tai lomake ei ole kelvollinen');
    });

    it('shows a neutral page for an erased person', async () => {
      const p = await makePerson(t, [news]);
      await t.db.models.Subscriber.deleteOne({ _id: p.id });
      const res = await t.http.get(`/u/${sign(p.id)}`).expect(200);
      expect(res.text).to.include('Tähän linkkiin ei enää liity tilausta');
      await t.http
        .post(`/u/${sign(p.id)}`)
        .type('form')
        .send(ONE_CLICK)
        .expect(200);
    });
  });

  describe('POST one-click (RFC 8058)', () => {
    it('urlencoded: leaves the campaign lists the person is on, at once, 200 and no redirect', async () => {
      const p = await makePerson(t, [news, events]);
      const campaign = await makeCampaign(t, [news, offers]);
      const res = await t.http
        .post(`/u/${sign(p.id, { campaignId: campaign })}`)
        .type('form')
        .send(ONE_CLICK)
        .expect(200);
      expect(res.headers.location).to.equal(undefined);
      expectPageHeaders(res);
      // A short page: RFC 8058 senders read none, so no list is looked up for it.
      expect(res.text).to.include('Tilaus on peruttu').and.not.include('Uutiskirje');
      expect(await stopped(p, news)).to.equal(true);
      expect(await stopped(p, offers)).to.equal(false);
      expect(await stopped(p, events)).to.equal(false);
      // The whole opt-out is durable before the answer.
      expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(true);
      expect(await t.services.suppressions.isSuppressed(p.email, offers)).to.equal(false);
      expect(await t.services.suppressions.isSuppressed(p.email, events)).to.equal(false);
      expect(await membership(p.id, news)).to.equal('unsubscribed');
      expect(await membership(p.id, events)).to.equal('subscribed');
      const [ev, ...more] = await eventsOf(p.id);
      expect(more).to.have.length(0);
      expect(ev).to.include({ channel: 'one-click', allLists: false });
      expect(String(ev!.campaignId)).to.equal(campaign);
      expect(ev!.listIds.map(String)).to.deep.equal([news]);
      const ledger = await t.db.models.ConsentEvent.find({ subscriberId: p.id }).lean();
      expect(ledger.map((e) => [e.kind, String(e.listId), e.source])).to.deep.equal([
        ['unsubscribe', news, 'one-click'],
      ]);
    });

    it('multipart/form-data: unsubscribes from the token list', async () => {
      const p = await makePerson(t, [news, offers]);
      await t.http
        .post(`/u/${sign(p.id, { listId: offers })}`)
        .field('List-Unsubscribe', 'One-Click')
        .expect(200);
      expect(await stopped(p, offers)).to.equal(true);
      expect(await t.services.suppressions.isSuppressed(p.email, offers)).to.equal(true);
      expect(await membership(p.id, offers)).to.equal('unsubscribed');
      expect(await membership(p.id, news)).to.equal('subscribed');
    });

    it('text/plain and a missing content type are read too', async () => {
      const a = await makePerson(t, [news]);
      await t.http
        .post(`/u/${sign(a.id, { listId: news })}`)
        .type('text')
        .send(ONE_CLICK)
        .expect(200);
      expect(await stopped(a, news)).to.equal(true);
      expect(await t.services.suppressions.isSuppressed(a.email, news)).to.equal(true);
    });

    it('a link naming no list or campaign (or an unknown campaign) leaves everything', async () => {
      const p = await makePerson(t, [news, offers]);
      await t.http
        .post(`/u/${sign(p.id)}`)
        .type('form')
        .send(ONE_CLICK)
        .expect(200);
      expect(await stopped(p)).to.equal(true);
      const q = await makePerson(t, [news]);
      await t.http
        .post(`/u/${sign(q.id, { campaignId: '65a1b2c3d4e5f60718293a4c' })}`)
        .type('form')
        .send(ONE_CLICK)
        .expect(200);
      expect(await stopped(q)).to.equal(true);
      expect(await t.services.suppressions.isSuppressed(p.email)).to.equal(true);
      expect(await t.services.suppressions.isSuppressed(q.email)).to.equal(true);
      const s = await t.db.models.Subscriber.findById(q.id).lean();
      expect(s!.status).to.equal('unsubscribed');
    });

    it('a repeat answers 200 and writes no second event', async () => {
      const p = await makePerson(t, [news]);
      const token = sign(p.id, { listId: news });
      for (let i = 0; i < 3; i++) {
        await t.http.post(`/u/${token}`).type('form').send(ONE_CLICK).expect(200);
      }
      await t.http.post(`/u/${token}`).field('List-Unsubscribe', 'One-Click').expect(200);
      await t.http.post(`/u/${token}`).type('form').send(ONE_CLICK).expect(200);
      expect(await eventsOf(p.id)).to.have.length(1);
      expect(await t.db.models.ConsentEvent.countDocuments({ subscriberId: p.id })).to.equal(1);
      expect(
        await t.db.models.Suppression.countDocuments({
          emailHash: t.services.suppressions.hash(p.email),
        }),
      ).to.equal(1);
    });

    it('200 concurrent one-click POSTs for different people: 200 suppressions, none lost', async function () {
      this.timeout(180_000);
      const people = await makePeople(t, 200, [news]);
      const server: Server = await new Promise((resolve) => {
        const s = t.app.listen(0, '127.0.0.1', () => resolve(s));
      });
      try {
        const { port } = server.address() as AddressInfo;
        const statuses = await Promise.all(
          people.map(async (p) => {
            const res = await fetch(`http://127.0.0.1:${port}/u/${sign(p.id, { listId: news })}`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: ONE_CLICK,
            });
            await res.text();
            return res.status;
          }),
        );
        expect(
          statuses.filter((s) => s !== 200),
          String(statuses.filter((s) => s !== 200)),
        ).to.have.length(0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
      // Every opt-out durable before its 200, none lost.
      const hashes = people.map((p) => t.services.suppressions.hash(p.email));
      expect((await t.services.suppressions.suppressedHashes(hashes, news)).size).to.equal(200);
      expect(
        await t.db.models.UnsubscribeEvent.countDocuments({
          subscriberId: { $in: people.map((p) => p.id) },
        }),
      ).to.equal(200);
    });

    it('refuses a body that is neither one-click nor our form, and oversized bodies', async () => {
      const p = await makePerson(t, [news]);
      const token = sign(p.id);
      await t.http.post(`/u/${token}`).type('form').send('hello=world').expect(400);
      await t.http
        .post(`/u/${token}`)
        .type('form')
        .send('action=unsubscribe&scope=some')
        .expect(400);
      await t.http.post(`/u/${token}`).expect(400);
      await t.http
        .post(`/u/${token}`)
        .type('form')
        .send(`${ONE_CLICK}&pad=${'x'.repeat(20_000)}`)
        .expect(413);
      await t.http
        .post(`/u/${token}`)
        .field('List-Unsubscribe', 'One-Click')
        .field('pad', 'x'.repeat(20_000))
        .expect(413);
      await t.http
        .post(`/u/${token}`)
        .set('content-type', 'multipart/form-data; boundary=zzz')
        .send('--zzz\r\nbroken')
        .expect(400);
      expect(await stopped(p)).to.equal(false);
      expect(await eventsOf(p.id)).to.have.length(0);
    });
  });

  describe('POST from the page form', () => {
    it('scope=all: channel "link", every list, status unsubscribed', async () => {
      const p = await makePerson(t, [news, events]);
      const res = await t.http
        .post(`/u/${sign(p.id)}`)
        .type('form')
        .send({ action: 'unsubscribe', scope: 'all' })
        .expect(200);
      expect(res.text).to.include('kaikki postituslistamme');
      expect(await t.services.suppressions.isSuppressed(p.email)).to.equal(true);
      expect(await membership(p.id, news)).to.equal('unsubscribed');
      expect(await membership(p.id, events)).to.equal('unsubscribed');
      const [ev] = await eventsOf(p.id);
      expect(ev).to.include({ channel: 'link', allLists: true });
      expect(ev!.listIds.map(String).sort()).to.deep.equal([news, events].sort());
    });

    it('scope=list leaves the token list; refused for a link that names no list', async () => {
      const p = await makePerson(t, [news, events]);
      await t.http
        .post(`/u/${sign(p.id, { listId: events })}`)
        .type('form')
        .send({ action: 'unsubscribe', scope: 'list' })
        .expect(200);
      expect(await membership(p.id, events)).to.equal('unsubscribed');
      expect(await membership(p.id, news)).to.equal('subscribed');
      await t.http
        .post(`/u/${sign(p.id)}`)
        .type('form')
        .send({ action: 'unsubscribe', scope: 'list' })
        .expect(400);
    });
  });

  describe('preference centre', () => {
    const prefs = (token: string, body: { name: string; locale: string; lists: string[] }) =>
      t.http
        .post(`/u/${token}`)
        .type('form')
        .send(
          new URLSearchParams([
            ['action', 'preferences'] as [string, string],
            ['name', body.name] as [string, string],
            ['locale', body.locale] as [string, string],
            ...body.lists.map((id): [string, string] => ['lists', id]),
          ]).toString(),
        );

    it('leaves, joins public lists, changes name and language; audited, consent recorded', async () => {
      const p = await makePerson(t, [news, events], { name: 'Old Name' });
      const token = t.services.tokens.sign('preferences', { subscriberId: p.id });
      const res = await prefs(token, {
        name: 'New Name',
        locale: 'en',
        lists: [offers, events],
      }).expect(200);
      expect(res.text).to.include('Your preferences have been saved.');
      expect(res.text).to.include('lang="en"');
      expect(await membership(p.id, news)).to.equal('unsubscribed');
      expect(await membership(p.id, offers)).to.equal('subscribed');
      expect(await membership(p.id, events)).to.equal('subscribed');
      expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(true);
      const s = await t.db.models.Subscriber.findById(p.id).lean();
      expect(s).to.include({ name: 'New Name', locale: 'en' });
      const ledger = await t.db.models.ConsentEvent.find({ subscriberId: p.id }).lean();
      expect(ledger.map((e) => [e.kind, String(e.listId), e.source]).sort()).to.deep.equal(
        [
          ['subscribe', offers, 'preferences'],
          ['unsubscribe', news, 'preferences'],
        ].sort(),
      );
      const [ev] = await eventsOf(p.id);
      expect(ev).to.include({ channel: 'preferences' });
      const audit = await t.db.models.AuditEntry.find({ subjectId: p.id }).lean();
      expect(audit.map((a) => [a.action, a.actorType])).to.deep.equal([
        ['subscriber.preferences.update', 'subject'],
      ]);
      expect(JSON.stringify(audit)).to.not.include('New Name');
    });

    it('rejoining a list the person left is a resubscribe: ledger entry, suppression lifted', async () => {
      const p = await makePerson(t, [news, offers]);
      await t.http
        .post(`/u/${sign(p.id, { listId: news })}`)
        .type('form')
        .send(ONE_CLICK)
        .expect(200);
      expect(await stopped(p, news)).to.equal(true);
      t.clock.advance(1000);
      // The one-click was complete at its 200; the preference centre rejoins on top of it.
      await prefs(sign(p.id), { name: 'Reader', locale: 'fi', lists: [news, offers] }).expect(200);
      expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(false);
      expect(await membership(p.id, news)).to.equal('subscribed');
      const kinds = (
        await t.db.models.ConsentEvent.find({ subscriberId: p.id }).sort({ at: 1 }).lean()
      ).map((e) => e.kind);
      expect(kinds).to.deep.equal(['unsubscribe', 'resubscribe']);
      // leaving again is a new opt-out, so a new event
      await t.http
        .post(`/u/${sign(p.id, { listId: news })}`)
        .type('form')
        .send(ONE_CLICK)
        .expect(200);
      expect(await eventsOf(p.id)).to.have.length(2);
    });

    it('after "unsubscribe from everything" the person may rejoin a list (their own opt-out)', async () => {
      const p = await makePerson(t, [news, offers]);
      await t.http
        .post(`/u/${sign(p.id)}`)
        .type('form')
        .send({ action: 'unsubscribe', scope: 'all' });
      await prefs(sign(p.id), { name: 'Reader', locale: 'fi', lists: [offers] }).expect(200);
      expect(await t.services.suppressions.isSuppressed(p.email, offers)).to.equal(false);
      expect(await membership(p.id, offers)).to.equal('subscribed');
      expect(await membership(p.id, news)).to.equal('unsubscribed');
      expect((await t.db.models.Subscriber.findById(p.id).lean())!.status).to.equal('subscribed');
    });

    it('never lifts a complaint suppression: the list is refused and the page says why', async () => {
      const p = await makePerson(t, [news]);
      await t.services.unsubscribe.unsubscribe({
        subscriberId: p.id,
        scope: { all: true },
        channel: 'complaint',
        reason: 'complaint',
      });
      const res = await prefs(sign(p.id), { name: 'Reader', locale: 'en', lists: [news] }).expect(
        200,
      );
      expect(res.text).to.include('earlier complaint').and.include('Uutiskirje');
      expect(await t.services.suppressions.isSuppressed(p.email, news)).to.equal(true);
      expect(await membership(p.id, news)).to.equal('unsubscribed');
      expect((await t.db.models.Subscriber.findById(p.id).lean())!.status).to.equal('complained');
      expect(
        await t.db.models.ConsentEvent.countDocuments({
          subscriberId: p.id,
          kind: { $ne: 'unsubscribe' },
        }),
      ).to.equal(0);
    });

    it('refuses a non-public list the person is not on, and bad fields', async () => {
      const p = await makePerson(t, [news]);
      await prefs(sign(p.id), { name: 'Reader', locale: 'fi', lists: [events] }).expect(400);
      await prefs(sign(p.id), { name: 'Reader', locale: 'de', lists: [] }).expect(400);
      await prefs(sign(p.id), { name: 'x'.repeat(300), locale: 'fi', lists: [] }).expect(400);
      await prefs(sign(p.id), { name: 'Reader', locale: 'fi', lists: ['$ne'] }).expect(400);
      expect(await membership(p.id, events)).to.equal(undefined);
      expect(await membership(p.id, news)).to.equal('subscribed');
    });
  });

  describe('campaign stats', () => {
    it('counts opt-outs per campaign from the link, repeats and other channels not double counted', async () => {
      const campaign = await makeCampaign(t, [news]);
      const other = await makeCampaign(t, [news]);
      const people = await Promise.all([1, 2, 3].map(() => makePerson(t, [news])));
      for (const p of people) {
        const token = sign(p.id, { campaignId: campaign });
        await t.http.post(`/u/${token}`).type('form').send(ONE_CLICK).expect(200);
        await t.http.post(`/u/${token}`).type('form').send(ONE_CLICK).expect(200);
      }
      // someone already out clicking in a later campaign's mail changes nothing
      await t.http
        .post(`/u/${sign(people[0]!.id, { campaignId: other })}`)
        .type('form')
        .send(ONE_CLICK)
        .expect(200);
      const counts = await t.services.unsubscribe.countByCampaign([campaign, other, 'junk']);
      expect(Object.fromEntries(counts)).to.deep.equal({ [campaign]: 3, [other]: 0 });
    });
  });
});

describe('/u/:token: confirmation mail', () => {
  let sink: SmtpSink;
  before(async () => {
    sink = await new SmtpSink().start();
  });
  after(async () => sink.stop());

  it('is off by default', async () => {
    const t = await bootApp({ smtpUrl: sink.url });
    try {
      const list = await makeList(t, 'Uutiskirje');
      const p = await makePerson(t, [list]);
      const token = t.services.tokens.sign('unsubscribe', { subscriberId: p.id });
      await t.http.post(`/u/${token}`).type('form').send(ONE_CLICK).expect(200);
      // A marker mail sent afterwards arrives alone: nothing was queued before it.
      await t.mailer.send({ from: 'news@example.com', to: 'marker@example.com', text: 'marker' });
      await sink.waitFor(1);
      expect(sink.messages.map((m) => m.rcptTo[0])).to.deep.equal(['marker@example.com']);
    } finally {
      await t.close();
      sink.messages.length = 0;
    }
  });

  it('when on, mails the person once in their language with a link back', async () => {
    const t = await bootApp({ smtpUrl: sink.url, env: { UNSUBSCRIBE_CONFIRMATION_MAIL: 'true' } });
    try {
      const list = await makeList(t, 'Newsletter');
      const p = await makePerson(t, [list], { locale: 'en' });
      const token = t.services.tokens.sign('unsubscribe', { subscriberId: p.id, listId: list });
      await t.http.post(`/u/${token}`).type('form').send(ONE_CLICK).expect(200);
      await t.http.post(`/u/${token}`).type('form').send(ONE_CLICK).expect(200);
      // Mailed once: the repeat writes no new event.
      await sink.waitFor(1);
      await t.mailer.send({ from: 'news@example.com', to: 'marker@example.com', text: 'marker' });
      const [mail] = await sink.waitFor(2);
      expect(sink.messages).to.have.length(2);
      expect(mail!.rcptTo).to.deep.equal([p.email]);
      expect(mail!.parsed.subject).to.equal('You have been unsubscribed');
      expect(mail!.parsed.text)
        .to.include('Newsletter')
        .and.include(`https://news.example.com/u/${token}`);
      expect(String(mail!.parsed.html)).to.include('Newsletter').and.include('Testikauppa Oy');
      expect(mail!.parsed.headers.get('auto-submitted')).to.equal('auto-generated');
    } finally {
      await t.close();
      sink.messages.length = 0;
    }
  });
});
