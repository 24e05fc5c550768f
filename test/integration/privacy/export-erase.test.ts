import { expect } from 'chai';
import type { Types } from 'mongoose';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { email, staffToken } from '../../helpers/factories.js';

const HETU = '131052-308T';

/**
 * A person with a record of every kind the register holds. main has no subscriber, campaign,
 * inbound or form routes yet, so the person is built through the services that exist (consent
 * ledger, unsubscribe service, privacy requests API) and, for collections other capabilities
 * own, documents of the shape the personal-data registry expects.
 */
async function richPerson(t: TestApp, who: string, name: string, phone: string) {
  const { models } = t.db;
  const news = await models.List.create({
    name: 'Uutiskirje',
    slug: `news-${Date.now()}-${Math.random()}`,
  });
  const offers = await models.List.create({
    name: 'Tarjoukset',
    slug: `offers-${Date.now()}-${Math.random()}`,
  });
  const sub = await models.Subscriber.create({
    email: who,
    name,
    phone,
    address: { street: 'Mannerheimintie 1', postalCode: '00100', city: 'Helsinki', country: 'FI' },
    source: 'web-form:news',
    status: 'subscribed',
    customerSegment: 'studio',
    hetuSealed: t.services.protector.encrypt(HETU),
    attributes: { favourite: 'monitors' },
  });
  const id = String(sub._id);
  for (const list of [news, offers]) {
    await models.Membership.create({
      subscriberId: sub._id,
      listId: list._id,
      status: 'subscribed',
      subscribedAt: t.clock.now(),
    });
    await t.services.consent.record({
      subscriberId: id,
      listId: String(list._id),
      kind: 'subscribe',
      source: 'web-form:news',
      locale: 'fi',
      text: { body: `Haluan ${list.name} -viestit`, version: 'v1', locale: 'fi' },
      ip: '198.51.100.23',
      userAgent: 'Mozilla/5.0 TestBrowser',
    });
  }
  await t.services.unsubscribe.unsubscribe({
    subscriberId: id,
    scope: { all: false, listIds: [String(offers._id)] },
    channel: 'link',
  });
  await models.Order.create({
    externalId: `o-${id}`,
    subscriberId: sub._id,
    orderedAt: t.clock.now(),
    totalCents: 129900,
    currency: 'EUR',
    categories: ['monitors'],
  });
  // Collections of capabilities not on main yet, in the shapes their branches write
  // (campaign_recipients: issue 4, inbound_messages and bounce_counts: issue 6).
  await t.db.connection.collection('campaign_recipients').insertOne({
    campaignId: news._id,
    subscriberId: sub._id,
    listId: news._id,
    status: 'sent',
    batchNo: 0,
    attempts: 1,
    smtpResponse: `250 2.0.0 OK queued for <${who}>`,
    sentAt: t.clock.now(),
  });
  const raw = `From: ${name} <${who}>\r\nSubject: poista tietoni\r\n\r\nHei, poistakaa tietoni. T. ${name}, ${phone}\r\n`;
  await t.db.connection.collection('inbound_messages').insertOne({
    receivedAt: t.clock.now(),
    via: 'smtp',
    messageId: `<${id}@mail.example.com>`,
    digest: id,
    mailFrom: who,
    rcptTo: ['privacy@news.example.com'],
    from: `${name} <${who.toUpperCase()}>`,
    subject: 'poista tietoni',
    raw: Buffer.from(raw),
    rawSize: raw.length,
    status: 'done',
    classification: 'privacy_request',
  });
  await t.db.connection
    .collection('bounce_counts')
    .insertOne({ subscriberId: sub._id, hard: 0, soft: 1, lastAt: t.clock.now() });
  return { id, sub: sub._id as Types.ObjectId, news, offers };
}

describe('privacy: access export and erasure', () => {
  let t: TestApp;
  let sales: string;
  let marketing: string;
  let auditor: string;
  before(async () => {
    t = await bootApp();
    sales = (await staffToken(t.services, 'sales')).token;
    marketing = (await staffToken(t.services, 'marketing')).token;
    auditor = (await staffToken(t.services, 'auditor')).token;
  });
  after(async () => t.close());
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('exports every kind of record held about a person, audited, identity number per permission', async () => {
    const who = email('maija');
    const p = await richPerson(t, who, 'Maija Meikäläinen', '+358 40 123 4567');
    await t.http
      .post('/api/v1/privacy/requests')
      .set(auth(sales))
      .send({ type: 'access', email: who, channel: 'email' })
      .expect(201);
    await t.http.get(`/api/v1/subscribers/${p.id}/hetu`).set(auth(sales)).expect(200);

    const res = await t.http
      .get('/api/v1/privacy/subjects/export')
      .query({ email: who.toUpperCase() })
      .set(auth(sales))
      .expect(200);
    expect(res.headers['cache-control']).to.equal('no-store');
    const sections = Object.fromEntries(
      (res.body.sections as Array<{ key: string; records: Array<Record<string, unknown>> }>).map(
        (s) => [s.key, s.records],
      ),
    );
    for (const key of [
      'subscribers',
      'memberships',
      'lists',
      'consentEvents',
      'consentTexts',
      'unsubscribeEvents',
      'suppressions',
      'orders',
      'deliveries',
      'inboundMessages',
      'bounceCounts',
      'auditEntries',
      'privacyRequests',
    ]) {
      expect(sections[key], key).to.be.an('array').with.length.greaterThan(0);
    }
    const contact = sections.subscribers![0]!;
    expect(contact.email).to.equal(who);
    expect(contact.phone).to.equal('+358 40 123 4567');
    expect(contact.hetu).to.equal(HETU);
    expect(contact).not.to.have.property('hetuSealed');
    expect(sections.memberships).to.have.length(2);
    expect(sections.consentEvents!.map((e) => e.kind)).to.include.members([
      'subscribe',
      'unsubscribe',
    ]);
    expect(sections.consentTexts!.map((c) => c.text)).to.include('Haluan Uutiskirje -viestit');
    expect(sections.suppressions![0]!.scope).to.equal(String(p.offers._id));
    expect(sections.orders![0]!.totalCents).to.equal(129900);
    expect(sections.auditEntries!.map((a) => a.action)).to.include('subscriber.hetu.reveal');
    expect(res.body.hetuRevealed).to.equal(true);

    const audit = await t.db.models.AuditEntry.findOne({
      action: 'privacy.export',
      subjectId: p.id,
    }).lean();
    expect(audit, 'the sales read is audited').to.not.equal(null);
    expect(audit!.actorType).to.equal('staff');
    expect(JSON.stringify(audit)).not.to.include(who);

    const html = await t.http
      .get('/api/v1/privacy/subjects/export')
      .query({ email: who, format: 'html' })
      .set(auth(t.adminToken))
      .expect(200);
    expect(html.headers['content-type']).to.match(/text\/html/);
    expect(html.text).to.include('Maija Meikäläinen');
    expect(html.text).to.include('Haluan Uutiskirje -viestit');
    expect(html.text).to.include('poista tietoni');
  });

  it('shows the masked identity number without pii.hetu.read; a reveal without it is refused and audited', async () => {
    const who = email('matti');
    const p = await richPerson(t, who, 'Matti Mallikas', '+358 50 765 4321');
    const sealed = (await t.db.models.Subscriber.findById(p.sub).lean())!.hetuSealed;
    expect(t.services.subjectData.hetuFor('marketing', sealed, true)).to.equal('******-***T');
    expect(t.services.subjectData.hetuFor('sales', sealed, false)).to.equal('******-***T');
    expect(t.services.subjectData.hetuFor('sales', sealed, true)).to.equal(HETU);

    const denied = await t.http
      .get(`/api/v1/subscribers/${p.id}/hetu`)
      .set(auth(marketing))
      .expect(403);
    expect(denied.body.error.code).to.equal('forbidden');
    expect(JSON.stringify(denied.body)).not.to.include(HETU);
    const entry = await t.db.models.AuditEntry.findOne({
      action: 'subscriber.hetu.reveal_denied',
      subjectId: p.id,
    }).lean();
    expect(entry, 'the refused reveal is audited').to.not.equal(null);

    const ok = await t.http.get(`/api/v1/subscribers/${p.id}/hetu`).set(auth(sales)).expect(200);
    expect(ok.body.hetu).to.equal(HETU);
    await t.http.get(`/api/v1/subscribers/${p.id}/hetu`).set(auth(auditor)).expect(403);
    await t.http
      .get('/api/v1/subscribers/0123456789abcdef01234567/hetu')
      .set(auth(sales))
      .expect(404);
    await t.http
      .get('/api/v1/privacy/subjects/export')
      .query({ email: who })
      .set(auth(marketing))
      .expect(403);
    await t.http
      .get('/api/v1/privacy/subjects/export')
      .query({ email: 'nope' })
      .set(auth(sales))
      .expect(400);
  });

  it('erases a person from every collection, keeps only the keyed suppression, and records it without personal data', async () => {
    const who = email('liisa');
    const name = 'Liisa Läntinen';
    const phone = '+358 44 555 0101';
    const p = await richPerson(t, who, name, phone);
    const request = await t.http
      .post('/api/v1/privacy/requests')
      .set(auth(sales))
      .send({ type: 'erasure', email: who, channel: 'email' })
      .expect(201);
    await t.http
      .get('/api/v1/privacy/subjects/export')
      .query({ email: who })
      .set(auth(sales))
      .expect(200);
    // Another capability's audit entry that named the person in its details.
    await t.services.audit.record(
      { actor: { type: 'system', name: 'import' } },
      'subscriber.import',
      p.id,
      { email: who, row: 3 },
    );

    const res = await t.http
      .post('/api/v1/privacy/subjects/erase')
      .set(auth(sales))
      .send({ email: who, requestId: request.body.id })
      .expect(200);
    expect(res.body.status).to.equal('done');
    expect(res.body.stepsDone[0]).to.equal('suppress');
    expect(res.body.counts.subscribers).to.equal(1);

    const needles = [who, name, phone, HETU].map((n) => n.toLowerCase());
    const found: string[] = [];
    for (const info of await t.db.connection.db!.listCollections().toArray()) {
      for (const doc of await t.db.connection.db!.collection(info.name).find().toArray()) {
        const text = JSON.stringify(doc).toLowerCase();
        for (const n of needles) if (text.includes(n)) found.push(`${info.name}: ${n}`);
      }
    }
    expect(found).to.deep.equal([]);

    expect(await t.services.suppressions.isSuppressed(who)).to.equal(true);
    const supp = await t.db.models.Suppression.findOne({
      emailHash: t.services.protector.emailHash(who),
      scope: 'all',
    }).lean();
    expect(supp!.reason).to.equal('erasure');
    // Consent ledger stays as proof, without IP address and user agent.
    const ledger = await t.db.models.ConsentEvent.find({ subscriberId: p.sub }).lean();
    expect(ledger.length).to.be.greaterThan(0);
    expect(ledger.every((e) => !e.ip && !e.userAgent)).to.equal(true);
    const erased = await t.db.models.AuditEntry.findOne({
      action: 'privacy.erase',
      subjectId: p.id,
    }).lean();
    expect((erased!.details as { emailHash: string }).emailHash).to.equal(
      t.services.protector.emailHash(who),
    );
    const reqAfter = await t.http
      .get(`/api/v1/privacy/requests/${request.body.id}`)
      .set(auth(sales))
      .expect(200);
    expect(reqAfter.body).to.include({ status: 'done', email: null });
    expect(reqAfter.body.emailMasked).to.match(/\*\*\*@example\.com$/);

    // Re-adding the address: the unsubscribe core and every sender check this suppression first.
    expect(
      await t.services.suppressions.suppressedHashes([t.services.protector.emailHash(who)]),
    ).to.have.property('size', 1);
    // A form post of the same address, even to a list without double opt-in, subscribes nobody.
    const open = await t.db.models.List.create({
      name: 'Avoin',
      slug: `open-${p.id}`,
      public: true,
      doubleOptIn: false,
    });
    await t.http
      .post('/subscribe')
      .send({ email: who, list: open.slug, consent: true })
      .expect(202);
    const back = await t.db.models.Subscriber.findOne({ email: who }).lean();
    expect(back?.status ?? 'absent').not.to.equal('subscribed');
    expect(
      await t.db.models.Membership.countDocuments({ listId: open._id, status: 'subscribed' }),
    ).to.equal(0);

    const again = await t.http
      .post('/api/v1/privacy/subjects/erase')
      .set(auth(sales))
      .send({ email: who })
      .expect(200);
    expect(again.body.counts.suppress).to.equal(0);
  });

  it('resumes an erasure a crash interrupted, without repeating finished steps', async () => {
    const who = email('keskeytys');
    const p = await richPerson(t, who, 'Kalle Keskeytys', '+358 45 000 1111');
    const erasure = t.services.erasure as unknown as {
      apply: (...args: unknown[]) => Promise<number>;
    };
    const real = erasure.apply;
    // Simulated crash between two steps: the process dies while erasing order facts.
    erasure.apply = async function (this: unknown, ...args: unknown[]) {
      if ((args[0] as { key: string }).key === 'orders') throw new Error('simulated crash');
      return real.apply(this, args);
    };
    try {
      await t.services.erasure.erase({ actor: { type: 'system', name: 'test' } }, who).then(
        () => expect.fail('the simulated crash should have stopped the erasure'),
        (err: Error) => expect(err.message).to.equal('simulated crash'),
      );
    } finally {
      erasure.apply = real;
    }
    const job = await t.db.models.ErasureJob.findOne({ status: 'running' }).lean();
    expect(job!.stepsDone).to.include.members([
      'suppress',
      'auditEntries',
      'deliveries',
      'inboundMessages',
      'consentEvents',
    ]);
    expect(job!.stepsDone).not.to.include('orders');
    expect(await t.services.suppressions.isSuppressed(who)).to.equal(true);
    expect(await t.db.models.Subscriber.exists({ _id: p.sub })).to.not.equal(null);

    const resumed = await t.services.erasure.resumeAll({
      actor: { type: 'system', name: 'startup' },
    });
    expect(resumed).to.equal(1);
    const done = await t.db.models.ErasureJob.findById(job!._id).lean();
    expect(done!.status).to.equal('done');
    expect(done).not.to.have.property('identifiersSealed');
    expect(await t.db.models.Subscriber.exists({ _id: p.sub })).to.equal(null);
    expect(await t.db.models.Order.countDocuments({ subscriberId: p.sub })).to.equal(0);
    expect(
      await t.db.models.AuditEntry.countDocuments({ action: 'privacy.erase', subjectId: p.id }),
    ).to.equal(1);
  });
});
