import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList } from '../../helpers/api.js';
import { email, staffToken } from '../../helpers/factories.js';

const HETU = '131052-308T';
const NAME = 'Aino Rajapinta';
const PHONE = '+358 40 987 6543';

type Records = Array<Record<string, unknown>>;

/**
 * Issue 8, "Done when": a richly populated person built only through the public and admin HTTP
 * APIs (no model writes), exported, erased, and then re-added through an import and a form post.
 *
 * Campaign deliveries are not built here: the campaign engine's process tests are still being
 * fixed, so the `deliveries` section is only checked to be present, not populated.
 */
describe('privacy: access export and erasure of a person built through the APIs', () => {
  let t: TestApp;
  let marketing: string;
  before(async () => {
    t = await bootApp();
    marketing = (await staffToken(t.services, 'marketing')).token;
  });
  after(async () => t.close());
  const admin = () => ({ Authorization: `Bearer ${t.adminToken}` });

  it('exports every kind of record, then erases them all and the address stays unsubscribed', async () => {
    const who = email('aino');

    // 1. Admin API: two lists, the contact, an order, an audited read.
    const open = await createList(t, { public: true, doubleOptIn: false });
    const other = await createList(t);
    const created = await t.http
      .post('/api/v1/subscribers')
      .set(admin())
      .send({
        email: who,
        name: NAME,
        phone: PHONE,
        address: {
          street: 'Rajapintakatu 8',
          postalCode: '00100',
          city: 'Helsinki',
          country: 'FI',
        },
        attributes: { favourite: 'monitors', vip: true },
        customerSegment: 'studio',
        hetu: HETU,
        lists: [other.slug],
        status: 'subscribed',
      })
      .expect(201);
    const id = created.body.id as string;
    await t.http
      .post('/api/v1/orders')
      .set(admin())
      .send({
        externalId: `order-${id}`,
        email: who,
        orderedAt: t.clock.now().toISOString(),
        total: '1299.00',
        currency: 'EUR',
        categories: ['monitors'],
      })
      .expect(200);
    const read = await t.http.get(`/api/v1/subscribers/${id}`).set(admin()).expect(200);
    expect(read.body).to.include({ name: NAME, phone: PHONE });

    // 2. Public API: a form post with consent, then a one-click unsubscribe.
    await t.http
      .post('/subscribe')
      .send({ email: who, name: NAME, list: open.slug, consent: true })
      .expect(202);
    const token = t.services.tokens.sign('unsubscribe', { subscriberId: id, listId: open.id });
    await t.http.post(`/u/${token}`).type('form').send('List-Unsubscribe=One-Click').expect(200);

    // 3. Inbound: a message from the person.
    const raw =
      `From: ${NAME} <${who}>\r\nTo: privacy@news.example.com\r\n` +
      `Subject: kysymys\r\nMessage-ID: <${id}@mail.example.com>\r\n` +
      `Date: ${t.clock.now().toUTCString()}\r\n\r\n` +
      `Hei, mitä tietoja minusta on? T. ${NAME}, ${PHONE}\r\n`;
    await t.http
      .post('/api/v1/inbound')
      .set(admin())
      .set('Content-Type', 'message/rfc822')
      .send(raw)
      .expect(201);

    // 4. The access export, by a role with pii.hetu.read.
    const res = await t.http
      .get('/api/v1/privacy/subjects/export')
      .query({ email: who })
      .set(admin())
      .expect(200);
    const sections = Object.fromEntries(
      (res.body.sections as Array<{ key: string; records: Records }>).map((s) => [
        s.key,
        s.records,
      ]),
    ) as Record<string, Records>;
    for (const key of [
      'subscribers',
      'memberships',
      'lists',
      'consentEvents',
      'consentTexts',
      'unsubscribeEvents',
      'suppressions',
      'orders',
      'inboundMessages',
      'auditEntries',
    ]) {
      expect(sections[key], key).to.be.an('array').with.length.greaterThan(0);
    }
    expect(sections.deliveries, 'deliveries section (not populated here)').to.be.an('array');

    const contact = sections.subscribers![0]!;
    expect(contact).to.include({ email: who, name: NAME, phone: PHONE, hetu: HETU });
    expect(contact).not.to.have.property('hetuSealed');
    expect(res.body.hetuRevealed).to.equal(true);
    expect(sections.memberships!.map((m) => String(m.listId))).to.include.members([
      open.id,
      other.id,
    ]);
    expect(sections.consentEvents!.map((e) => e.kind)).to.include.members([
      'subscribe',
      'unsubscribe',
    ]);
    const texts = sections.consentTexts!.map((c) => String(c.text));
    expect(
      texts.some((x) => x.includes(`List ${open.slug}`)),
      'consent text shown',
    ).to.equal(true);
    expect(sections.unsubscribeEvents![0]).to.include({ channel: 'one-click', allLists: false });
    expect(sections.unsubscribeEvents![0]!.listIds).to.deep.equal([open.id]);
    expect(sections.suppressions!.map((s) => String(s.scope))).to.include(open.id);
    expect(sections.orders![0]).to.include({ externalId: `order-${id}`, totalCents: 129900 });
    expect(JSON.stringify(sections.inboundMessages)).to.include(who);
    const actions = sections.auditEntries!.map((a) => a.action);
    expect(actions, 'the full read by staff is audited').to.include.members([
      'subscriber.create',
      'subscriber.read',
    ]);

    // The marketing role has no privacy.read, so it may not export at all (and so cannot see the
    // identity number there); the masked view for marketing is covered in export-erase.test.ts.
    await t.http
      .get('/api/v1/privacy/subjects/export')
      .query({ email: who })
      .set({ Authorization: `Bearer ${marketing}` })
      .expect(403);

    // 5. Erasure, then a scan of every collection.
    const erased = await t.http
      .post('/api/v1/privacy/subjects/erase')
      .set(admin())
      .send({ email: who })
      .expect(200);
    expect(erased.body.status).to.equal('done');

    const needles = [who, NAME, PHONE, HETU].map((n) => n.toLowerCase());
    const found: string[] = [];
    for (const info of await t.db.connection.db!.listCollections().toArray()) {
      for (const doc of await t.db.connection.db!.collection(info.name).find().toArray()) {
        const text = JSON.stringify(doc).toLowerCase();
        for (const n of needles) if (text.includes(n)) found.push(`${info.name}: ${n}`);
      }
    }
    expect(found).to.deep.equal([]);

    // Re-adding the address through an import and a form post subscribes nobody.
    const imported = await t.http
      .post('/api/v1/imports')
      .query({ list: open.slug, mode: 'upsert' })
      .set(admin())
      .set('Content-Type', 'text/csv')
      .send(`email,name\n${who},X\n`)
      .expect(202);
    expect(imported.body.status).to.equal('completed');
    expect(imported.body.counts).to.include({ created: 0, skippedSuppressed: 1, addedToList: 0 });
    await t.http
      .post('/subscribe')
      .send({ email: who, list: open.slug, consent: true })
      .expect(202);
    const back = await t.http
      .get('/api/v1/subscribers')
      .query({ email: who })
      .set(admin())
      .expect(200);
    for (const s of back.body.items as Array<{
      status: string;
      lists: Array<{ status: string }>;
    }>) {
      expect(s.status).not.to.equal('subscribed');
      expect(s.lists.map((l) => l.status)).not.to.include('subscribed');
    }
    const list = await t.http.get(`/api/v1/lists/${open.id}`).set(admin()).expect(200);
    expect(list.body.counts.subscribed, 'nobody subscribed on the public list').to.equal(0);
  });
});
