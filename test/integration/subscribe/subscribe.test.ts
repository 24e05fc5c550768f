import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { email, staffToken } from '../../helpers/factories.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { confirmLink, makeList, stored } from './helpers.js';

describe('subscribe: public form, double opt-in, consent ledger', () => {
  let t: TestApp;
  let sink: SmtpSink;

  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: {
        SUBSCRIBE_IP_LIMIT_PER_HOUR: '1000',
        SUBSCRIBE_CORS_ORIGINS: 'https://shop.example.com',
      },
    });
  });
  after(async () => {
    await t.close();
    await sink.stop();
  });

  const post = (fields: Record<string, string | string[]>) =>
    t.http.post('/subscribe').type('form').send(fields);
  const mailsTo = async (address: string) => {
    await t.services.subscribe.drain();
    return sink.to(address);
  };

  describe('hosted form page', () => {
    it('renders an accessible form in Finnish by default and in English on request', async () => {
      const list = await makeList(t, { name: 'Kevään uutiset' });
      const fi = await t.http.get(`/subscribe/${list.slug}`).expect(200);
      expect(fi.type).to.equal('text/html');
      expect(fi.text).to.contain('<html lang="fi">');
      expect(fi.text).to.contain('Sähköpostiosoite');
      expect(fi.text).to.match(/<label for="kirje-email-news-\d+">/);
      expect(fi.text).to.contain('name="website"');
      expect(fi.text).to.contain('Testikauppa Oy lähettää minulle uutiskirjettä ”Kevään uutiset”');
      const en = await t.http.get(`/subscribe/${list.slug}?lang=en`).expect(200);
      expect(en.text).to.contain('<html lang="en">').and.contain('Email address');
      const accept = await t.http
        .get(`/subscribe/${list.slug}`)
        .set('Accept-Language', 'de;q=0.9, en-GB;q=0.8, fi;q=0.1')
        .expect(200);
      expect(accept.text).to.contain('<html lang="en">');
    });

    it('answers 404 for a list that is not public', async () => {
      const list = await makeList(t, { public: false });
      const res = await t.http.get(`/subscribe/${list.slug}`).expect(404);
      expect(res.type).to.equal('text/html');
    });
  });

  describe('double opt-in', () => {
    it('subscribes only after the POST on the confirmation page; GET changes nothing', async () => {
      const list = await makeList(t);
      const address = email('doi');
      const res = await post({
        email: address,
        name: 'Maija',
        list: list.slug,
        consent: 'yes',
        locale: 'fi',
      }).expect(200);
      expect(res.text).to.contain('Lähetimme sähköpostiisi vahvistuslinkin');

      const sub = await t.db.models.Subscriber.findOne({ email: address }).lean();
      expect(sub).to.include({
        status: 'unconfirmed',
        source: `web-form:${list.slug}`,
        name: 'Maija',
        locale: 'fi',
      });
      const membership = await t.db.models.Membership.findOne({ subscriberId: sub!._id }).lean();
      expect(membership?.status).to.equal('unconfirmed');

      const [mail] = await mailsTo(address);
      expect(mail, 'confirmation mail').to.not.equal(undefined);
      expect(mail!.parsed.subject).to.equal(`Vahvista tilauksesi: ${list.name}`);
      expect(mail!.parsed.html).to.contain(list.name);
      expect(mail!.parsed.text).to.not.contain(address);
      const link = confirmLink(mail!);

      const before = await stored(t);
      for (let i = 0; i < 3; i++) {
        const page = await t.http.get(link.path).expect(200);
        expect(page.text).to.contain('<form method="post"').and.contain('Vahvista tilaus');
      }
      expect(await stored(t)).to.deep.equal(before);
      expect((await t.db.models.Subscriber.findById(sub!._id).lean())?.status).to.equal(
        'unconfirmed',
      );
      expect((await t.db.models.Membership.findById(membership!._id).lean())?.status).to.equal(
        'unconfirmed',
      );

      const done = await t.http.post(link.path).type('form').send('').expect(200);
      expect(done.text).to.contain('Tilaus vahvistettu');
      expect((await t.db.models.Subscriber.findById(sub!._id).lean())?.status).to.equal(
        'subscribed',
      );
      expect((await t.db.models.Membership.findById(membership!._id).lean())?.status).to.equal(
        'subscribed',
      );

      const events = await t.db.models.ConsentEvent.find({ subscriberId: sub!._id })
        .sort({ at: 1 })
        .lean();
      expect(events.map((e) => e.kind)).to.deep.equal(['subscribe', 'confirm']);
      const [subscribe, confirm] = events;
      expect(subscribe).to.include({
        source: `web-form:${list.slug}`,
        locale: 'fi',
        textVersion: '2026-01',
      });
      expect(subscribe!.textHash).to.match(/^[0-9a-f]{64}$/);
      expect(confirm!.textHash).to.equal(subscribe!.textHash);
      expect(subscribe!.ip, 'IP kept only when CONSENT_RECORD_IP=true').to.equal(undefined);
      const text = await t.db.models.ConsentText.findOne({ hash: subscribe!.textHash }).lean();
      expect(text?.text).to.contain(list.name);

      // A second POST is idempotent: no second confirm event.
      await t.http.post(link.path).type('form').send('').expect(200);
      expect(await t.db.models.ConsentEvent.countDocuments({ subscriberId: sub!._id })).to.equal(2);
    });

    it('shows a clear page for an expired link and a generic one for an altered link', async () => {
      const list = await makeList(t);
      const address = email('expired');
      await post({ email: address, list: list.slug, consent: 'on' }).expect(200);
      const link = confirmLink((await mailsTo(address))[0]!);
      t.clock.advance(169 * 3_600_000);
      try {
        const res = await t.http.get(link.path).expect(400);
        expect(res.text).to.contain('Linkki on vanhentunut');
        const posted = await t.http.post(link.path).type('form').send('').expect(400);
        expect(posted.text).to.contain('Linkki on vanhentunut');
        const sub = await t.db.models.Subscriber.findOne({ email: address }).lean();
        expect(sub?.status).to.equal('unconfirmed');
      } finally {
        t.clock.advance(-169 * 3_600_000);
      }
      const altered = await t.http.get(link.path.replace(/\?.*$/, '') + 'x').expect(400);
      expect(altered.type).to.equal('text/html');
      expect(altered.text).to.not.contain('vanhentunut');
    });

    it('sends at most one confirmation mail per address per interval', async () => {
      const list = await makeList(t);
      const address = email('interval');
      await post({ email: address, list: list.slug, consent: 'yes' }).expect(200);
      await post({ email: address, list: list.slug, consent: 'yes' }).expect(200);
      expect(await mailsTo(address)).to.have.length(1);
      t.clock.advance(11 * 60_000);
      await post({ email: address, list: list.slug, consent: 'yes' }).expect(200);
      expect(await mailsTo(address)).to.have.length(2);
    });
  });

  describe('single opt-in', () => {
    it('subscribes a new address at once, without mail', async () => {
      const list = await makeList(t, { doubleOptIn: false });
      const address = email('single');
      await post({ email: address, list: list.slug, consent: 'yes' }).expect(200);
      const sub = await t.db.models.Subscriber.findOne({ email: address }).lean();
      expect(sub?.status).to.equal('subscribed');
      const m = await t.db.models.Membership.findOne({ subscriberId: sub!._id }).lean();
      expect(m?.status).to.equal('subscribed');
      expect(await mailsTo(address)).to.have.length(0);
    });

    it('redirects with 303 to the list thank-you URL', async () => {
      const list = await makeList(t, {
        doubleOptIn: false,
        thankYouUrl: 'https://shop.example.com/kiitos',
      });
      const res = await post({ email: email('thanks'), list: list.slug, consent: 'yes' }).expect(
        303,
      );
      expect(res.headers.location).to.equal('https://shop.example.com/kiitos');
      const page = await t.http.get(`/subscribe/${list.slug}`).expect(200);
      expect(page.headers['content-security-policy']).to.contain(
        "form-action 'self' https://shop.example.com",
      );
    });
  });

  describe('opted-out addresses come back only through a confirmation', () => {
    async function subscribedThenUnsubscribed(doubleOptIn: boolean) {
      const list = await makeList(t, { doubleOptIn });
      const address = email('optout');
      const sub = await t.db.models.Subscriber.create({
        email: address,
        source: 'api',
        status: 'subscribed',
      });
      await t.db.models.Membership.create({
        subscriberId: sub._id,
        listId: list.id,
        status: 'subscribed',
      });
      await t.services.unsubscribe.unsubscribe({
        subscriberId: String(sub._id),
        scope: { all: true },
        channel: 'link',
      });
      return { list, address, id: sub._id };
    }

    for (const doubleOptIn of [false, true]) {
      it(`stays unsubscribed after a form post until they confirm (doubleOptIn: ${doubleOptIn})`, async () => {
        const { list, address, id } = await subscribedThenUnsubscribed(doubleOptIn);
        await post({ email: address, list: list.slug, consent: 'yes' }).expect(200);
        await post({
          email: address,
          list: list.slug,
          consent: 'yes',
          status: 'subscribed',
        }).expect(200);
        expect((await t.db.models.Subscriber.findById(id).lean())?.status).to.equal('unsubscribed');
        expect(
          (await t.db.models.Membership.findOne({ subscriberId: id }).lean())?.status,
        ).to.equal('unsubscribed');
        expect(await t.services.suppressions.isSuppressed(address)).to.equal(true);

        const mails = await mailsTo(address);
        expect(mails).to.have.length(1);
        await t.http.post(confirmLink(mails[0]!).path).type('form').send('').expect(200);
        expect((await t.db.models.Subscriber.findById(id).lean())?.status).to.equal('subscribed');
        expect(
          (await t.db.models.Membership.findOne({ subscriberId: id }).lean())?.status,
        ).to.equal('subscribed');
        expect(await t.services.suppressions.isSuppressed(address, list.id)).to.equal(false);
        const kinds = (
          await t.db.models.ConsentEvent.find({ subscriberId: id }).sort({ at: 1 }).lean()
        ).map((e) => e.kind);
        expect(kinds).to.deep.equal(['unsubscribe', 'subscribe', 'subscribe', 'resubscribe']);
      });
    }

    it('never mails or subscribes a complained address; its old link answers "blocked"', async () => {
      const list = await makeList(t);
      const address = email('complaint');
      await post({ email: address, list: list.slug, consent: 'yes' }).expect(200);
      const link = confirmLink((await mailsTo(address))[0]!);
      const sub = await t.db.models.Subscriber.findOne({ email: address }).lean();
      await t.services.unsubscribe.unsubscribe({
        subscriberId: String(sub!._id),
        scope: { all: true },
        channel: 'complaint',
        reason: 'complaint',
      });
      t.clock.advance(11 * 60_000);
      await post({ email: address, list: list.slug, consent: 'yes' }).expect(200);
      expect(await mailsTo(address)).to.have.length(1);
      const res = await t.http.post(link.path).type('form').send('').expect(200);
      expect(res.text).to.contain('Tilausta ei voitu vahvistaa');
      expect((await t.db.models.Subscriber.findById(sub!._id).lean())?.status).to.equal(
        'complained',
      );
      expect(await t.services.suppressions.isSuppressed(address)).to.equal(true);
    });
  });

  describe('no enumeration', () => {
    it('gives known, unknown, suppressed and complained addresses byte-identical answers', async () => {
      const list = await makeList(t);
      const known = email('known');
      const suppressed = email('suppressed');
      const complained = email('complained');
      const s1 = await t.db.models.Subscriber.create({
        email: known,
        source: 'api',
        status: 'subscribed',
      });
      await t.db.models.Membership.create({
        subscriberId: s1._id,
        listId: list.id,
        status: 'subscribed',
      });
      await t.services.suppressions.suppress(suppressed, 'all', 'unsubscribe');
      await t.services.suppressions.suppress(complained, 'all', 'complaint');
      const addresses = [known, email('unknown'), suppressed, complained];

      const forms = await Promise.all(
        addresses.map((a) => post({ email: a, list: list.slug, consent: 'yes' })),
      );
      const jsons = await Promise.all(
        addresses.map((a) =>
          t.http.post('/subscribe').send({ email: a, list: list.slug, consent: true }),
        ),
      );
      for (const set of [forms, jsons]) {
        const first = set[0]!;
        for (const res of set) {
          expect(res.status).to.equal(first.status);
          expect(res.text).to.equal(first.text);
          expect(res.headers['content-type']).to.equal(first.headers['content-type']);
        }
      }
      expect(forms[0]!.status).to.equal(200);
      expect(jsons[0]!.status).to.equal(202);
      expect(jsons[0]!.body.status).to.equal('accepted');
    });
  });

  describe('abuse and bad input', () => {
    it('pretends success when the honeypot is filled and stores nothing', async () => {
      const list = await makeList(t);
      const before = await stored(t);
      const address = email('bot');
      const bot = await post({
        email: address,
        list: list.slug,
        consent: 'yes',
        website: 'http://spam.example',
      }).expect(200);
      const human = await post({ email: email('human'), list: list.slug, consent: 'yes' }).expect(
        200,
      );
      expect(bot.text).to.equal(human.text);
      expect(await t.db.models.Subscriber.countDocuments({ email: address })).to.equal(0);
      expect((await stored(t)).subscribers).to.equal(before.subscribers + 1);
      expect(await mailsTo(address)).to.have.length(0);
    });

    it('ignores status, role and other unknown fields (no mass assignment)', async () => {
      const list = await makeList(t);
      const address = email('inject');
      await post({
        email: address,
        list: list.slug,
        consent: 'yes',
        status: 'subscribed',
        role: 'admin',
        source: 'import:x',
        attributes: 'x',
      }).expect(200);
      const json = email('injectjson');
      await t.http
        .post('/subscribe')
        .send({
          email: json,
          list: list.slug,
          consent: true,
          status: 'subscribed',
          role: 'admin',
          hetuSealed: 'x',
        })
        .expect(202);
      for (const a of [address, json]) {
        const sub = await t.db.models.Subscriber.findOne({ email: a }).lean();
        expect(sub).to.include({ status: 'unconfirmed', source: `web-form:${list.slug}` });
        expect(sub).to.not.have.property('role');
        expect(sub).to.not.have.property('hetuSealed');
        expect(
          (await t.db.models.Membership.findOne({ subscriberId: sub!._id }).lean())?.status,
        ).to.equal('unconfirmed');
      }
    });

    it('refuses {"$gt": ""} as email with 400 and stores nothing', async () => {
      const list = await makeList(t);
      const before = await stored(t);
      const res = await t.http
        .post('/subscribe')
        .send({ email: { $gt: '' }, list: list.slug, consent: true })
        .expect(400);
      expect(res.body.error.code).to.equal('bad_request');
      const nested = await t.http
        .post('/subscribe')
        .send({ email: { gt: '' }, list: list.slug, consent: true })
        .expect(400);
      expect(nested.body.error.code).to.equal('validation_failed');
      const form = await t.http
        .post('/subscribe')
        .type('form')
        .send(`email[$gt]=&list=${list.slug}&consent=yes`)
        .expect(400);
      expect(form.type).to.equal('text/html');
      expect(await stored(t)).to.deep.equal(before);
    });

    it('answers 413 to an oversize body and stores nothing', async () => {
      const list = await makeList(t);
      const before = await stored(t);
      const big = 'x'.repeat(20 * 1024);
      const form = await post({
        email: email('big'),
        list: list.slug,
        consent: 'yes',
        name: big,
      }).expect(413);
      expect(form.type).to.equal('text/html');
      const json = await t.http
        .post('/subscribe')
        .send({ email: email('big'), list: list.slug, consent: true, name: big })
        .expect(413);
      expect(json.body.error.code).to.equal('payload_too_large');
      expect(await stored(t)).to.deep.equal(before);
    });

    it('shows an invalid email on the form page with 400; JSON names the field', async () => {
      const list = await makeList(t);
      const before = await stored(t);
      const res = await post({
        email: 'not an address',
        list: list.slug,
        consent: 'yes',
        locale: 'en',
      }).expect(400);
      expect(res.type).to.equal('text/html');
      expect(res.text)
        .to.contain('Please check the email address')
        .and.contain('aria-invalid="true"');
      expect(res.text).to.contain('value="not an address"');
      for (const bad of [
        'a@b',
        'x'.repeat(65) + '@example.com',
        `a@${'l'.repeat(250)}.com`,
        '"q"@example.com',
        'a@-x.com',
      ]) {
        const json = await t.http
          .post('/subscribe')
          .send({ email: bad, list: list.slug, consent: true })
          .expect(400);
        expect(json.body.error).to.include({ code: 'validation_failed' });
        expect(json.body.error.message).to.match(/^email:/);
      }
      expect(await stored(t)).to.deep.equal(before);
    });

    it('accepts an internationalised domain and stores it as punycode', async () => {
      const list = await makeList(t);
      await t.http
        .post('/subscribe')
        .send({ email: 'Matti@Bücher.Example', list: list.slug, consent: true })
        .expect(202);
      expect(
        await t.db.models.Subscriber.countDocuments({ email: 'matti@xn--bcher-kva.example' }),
      ).to.equal(1);
    });

    it('requires consent', async () => {
      const list = await makeList(t);
      const before = await stored(t);
      const res = await post({ email: email('noconsent'), list: list.slug }).expect(400);
      expect(res.text).to.contain('Anna suostumuksesi');
      await t.http
        .post('/subscribe')
        .send({ email: email('noconsent'), list: list.slug, consent: 'no' })
        .expect(400);
      expect(await stored(t)).to.deep.equal(before);
    });

    it('refuses a list that is not public (alone or among public ones) and stores nothing', async () => {
      const open = await makeList(t);
      const closed = await makeList(t, { public: false });
      const before = await stored(t);
      await post({ email: email('private'), list: closed.slug, consent: 'yes' }).expect(404);
      await post({
        email: email('private'),
        list: [open.slug, closed.slug],
        consent: 'yes',
      }).expect(404);
      const json = await t.http
        .post('/subscribe')
        .send({ email: email('private'), list: closed.slug, consent: true })
        .expect(404);
      expect(json.body.error.code).to.equal('not_found');
      expect(await stored(t)).to.deep.equal(before);
    });

    it('joins several public lists in one post', async () => {
      const a = await makeList(t);
      const b = await makeList(t, { doubleOptIn: false });
      const address = email('multi');
      await post({ email: address, list: [a.slug, b.slug], consent: 'yes' }).expect(200);
      const sub = await t.db.models.Subscriber.findOne({ email: address }).lean();
      const ms = await t.db.models.Membership.find({ subscriberId: sub!._id }).lean();
      expect(Object.fromEntries(ms.map((m) => [String(m.listId), m.status]))).to.deep.equal({
        [a.id]: 'unconfirmed',
        [b.id]: 'subscribed',
      });
      expect(await mailsTo(address)).to.have.length(1);
    });

    it('refuses other content types with 415', async () => {
      const list = await makeList(t);
      await t.http
        .post('/subscribe')
        .type('text/plain')
        .send(`email=${email()}&list=${list.slug}`)
        .expect(415);
    });
  });

  describe('CORS', () => {
    it('answers the preflight of a configured origin and no other', async () => {
      const ok = await t.http
        .options('/subscribe')
        .set('Origin', 'https://shop.example.com')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type')
        .expect(204);
      expect(ok.headers['access-control-allow-origin']).to.equal('https://shop.example.com');
      expect(ok.headers['access-control-allow-methods']).to.equal('POST');
      expect(ok.headers['access-control-allow-headers']).to.equal('Content-Type');
      const other = await t.http
        .options('/subscribe')
        .set('Origin', 'https://evil.example')
        .expect(204);
      expect(other.headers).to.not.have.property('access-control-allow-origin');
      expect(other.headers).to.not.have.property('access-control-allow-methods');
    });

    it('marks JSON answers readable only by a configured origin', async () => {
      const list = await makeList(t);
      const ok = await t.http
        .post('/subscribe')
        .set('Origin', 'https://shop.example.com')
        .send({ email: email('cors'), list: list.slug, consent: true })
        .expect(202);
      expect(ok.headers['access-control-allow-origin']).to.equal('https://shop.example.com');
      const other = await t.http
        .post('/subscribe')
        .set('Origin', 'https://evil.example')
        .send({ email: email('cors'), list: list.slug, consent: true });
      expect(other.headers).to.not.have.property('access-control-allow-origin');
    });
  });

  describe('staff API', () => {
    it('hands out an embeddable form for a public list (lists.read)', async () => {
      const list = await makeList(t);
      const res = await t.http
        .get(`/api/v1/lists/${list.id}/embed?lang=en`)
        .set('Authorization', `Bearer ${t.adminToken}`)
        .expect(200);
      expect(res.body).to.include({ listId: list.id, slug: list.slug, locale: 'en' });
      expect(res.body.html).to.contain('action="https://news.example.com/subscribe"');
      expect(res.body.html)
        .to.contain(`name="list" value="${list.slug}"`)
        .and.contain('name="website"');
      expect(res.body.hostedUrl).to.equal(
        `https://news.example.com/subscribe/${list.slug}?lang=en`,
      );

      const closed = await makeList(t, { public: false });
      await t.http
        .get(`/api/v1/lists/${closed.id}/embed`)
        .set('Authorization', `Bearer ${t.adminToken}`)
        .expect(409);
      await t.http
        .get('/api/v1/lists/nope/embed')
        .set('Authorization', `Bearer ${t.adminToken}`)
        .expect(400);
      const auditor = await staffToken(t.services, 'auditor');
      await t.http
        .get(`/api/v1/lists/${list.id}/embed`)
        .set('Authorization', `Bearer ${auditor.token}`)
        .expect(403);
    });

    it('shows a subscriber’s consents with the texts, and audits the read', async () => {
      const list = await makeList(t);
      const address = email('ledger');
      await post({ email: address, list: list.slug, consent: 'yes', locale: 'en' }).expect(200);
      const sub = await t.db.models.Subscriber.findOne({ email: address }).lean();
      const id = String(sub!._id);
      const sales = await staffToken(t.services, 'sales');
      const res = await t.http
        .get(`/api/v1/subscribers/${id}/consents`)
        .set('Authorization', `Bearer ${sales.token}`)
        .expect(200);
      expect(res.body.items).to.have.length(1);
      expect(res.body.items[0]).to.include({
        kind: 'subscribe',
        listId: list.id,
        source: `web-form:${list.slug}`,
        locale: 'en',
      });
      expect(res.body.texts[0].hash).to.equal(res.body.items[0].textHash);
      expect(res.body.texts[0].text).to.contain('I agree that Testikauppa Oy');
      const audit = await t.db.models.AuditEntry.findOne({
        action: 'subscriber.consents.read',
        subjectId: id,
      }).lean();
      expect(audit?.actorId).to.equal(sales.userId);

      const auditor = await staffToken(t.services, 'auditor');
      await t.http
        .get(`/api/v1/subscribers/${id}/consents`)
        .set('Authorization', `Bearer ${auditor.token}`)
        .expect(403);
      await t.http
        .get('/api/v1/subscribers/0123456789abcdef01234567/consents')
        .set('Authorization', `Bearer ${t.adminToken}`)
        .expect(404);
    });
  });

  describe('retention helper', () => {
    it('finds unconfirmed entries older than UNCONFIRMED_RETENTION_DAYS', async () => {
      const list = await makeList(t);
      const address = email('stale');
      await post({ email: address, list: list.slug, consent: 'yes' }).expect(200);
      const sub = await t.db.models.Subscriber.findOne({ email: address }).lean();
      expect((await t.services.subscribe.staleUnconfirmed()).subscriberIds).to.not.include(
        String(sub!._id),
      );
      t.clock.advanceDays(31);
      try {
        const stale = await t.services.subscribe.staleUnconfirmed();
        expect(stale.subscriberIds).to.include(String(sub!._id));
        const m = await t.db.models.Membership.findOne({ subscriberId: sub!._id }).lean();
        expect(stale.membershipIds).to.include(String(m!._id));
      } finally {
        t.clock.advanceDays(-31);
      }
    });
  });
});

describe('subscribe: limits and IP recording', () => {
  let t: TestApp;
  let sink: SmtpSink;
  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: { SUBSCRIBE_IP_LIMIT_PER_HOUR: '3', CONSENT_RECORD_IP: 'true' },
    });
  });
  after(async () => {
    await t.close();
    await sink.stop();
  });

  it('answers 429 past the per-IP limit, stores nothing, and lets the next hour through', async () => {
    const list = await makeList(t);
    const ok = [email('ip'), email('ip'), email('ip')];
    for (const a of ok) {
      await t.http
        .post('/subscribe')
        .set('User-Agent', 'TestBrowser/1.0')
        .type('form')
        .send({ email: a, list: list.slug, consent: 'yes' })
        .expect(200);
    }
    const before = await stored(t);
    const refused = email('ip');
    const res = await t.http
      .post('/subscribe')
      .type('form')
      .send({ email: refused, list: list.slug, consent: 'yes' })
      .expect(429);
    expect(res.text).to.contain('Liian monta yritystä');
    await t.http
      .post('/subscribe')
      .send({ email: refused, list: list.slug, consent: true })
      .expect(429);
    expect(await stored(t)).to.deep.equal(before);

    const event = await t.db.models.ConsentEvent.findOne({ kind: 'subscribe' }).lean();
    expect(event?.ip).to.match(/127\.0\.0\.1/);
    expect(event?.userAgent).to.equal('TestBrowser/1.0');

    t.clock.advance(3_600_000);
    await t.http
      .post('/subscribe')
      .type('form')
      .send({ email: refused, list: list.slug, consent: 'yes' })
      .expect(200);
  });
});
