import { expect } from 'chai';
import { ALL_LISTS } from '../../../src/db/models/suppression.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList, createSubscriber } from '../../helpers/api.js';
import { email, staffToken } from '../../helpers/factories.js';

const HETU = '131052-308T';

describe('subscribers API', () => {
  let t: TestApp;
  let marketing: string;
  let sales: string;
  before(async () => {
    t = await bootApp();
    marketing = (await staffToken(t.services, 'marketing')).token;
    sales = (await staffToken(t.services, 'sales')).token;
  });
  after(async () => t.close());
  const as = <R extends { auth: (token: string, o: { type: 'bearer' }) => R }>(
    req: R,
    token = t.adminToken,
  ) => req.auth(token, { type: 'bearer' });

  describe('create', () => {
    it('creates a subscriber per the contract, with list memberships by id or slug', async () => {
      const a = await createList(t);
      const b = await createList(t);
      const address = email('Create');
      const res = await as(t.http.post('/api/v1/subscribers'))
        .send({
          email: `  ${address.replace('@example.com', '@EXAMPLE.com')} `,
          name: 'Maija Meikäläinen',
          locale: 'fi',
          attributes: { city: 'Tampere', orders: 3, vip: true },
          segments: ['pro-audio'],
          lists: [a.slug, b.id],
          status: 'subscribed',
          source: 'phone',
        })
        .expect(201);
      expect(res.body.id).to.match(/^[0-9a-f]{24}$/);
      expect(res.body).to.include({
        email: address.toLowerCase(),
        name: 'Maija Meikäläinen',
        status: 'subscribed',
        source: 'phone',
        customerSegment: 'pro-audio',
      });
      expect(res.body.attributes).to.deep.equal({ city: 'Tampere', orders: 3, vip: true });
      expect(res.body.lists).to.have.deep.members([
        { id: a.id, slug: a.slug, status: 'subscribed' },
        { id: b.id, slug: b.slug, status: 'subscribed' },
      ]);
    });

    it('answers 409 with the existing id when the email is known, in any letter case', async () => {
      const first = await createSubscriber(t);
      const res = await as(t.http.post('/api/v1/subscribers'))
        .send({ email: first.email.toUpperCase(), status: 'subscribed' })
        .expect(409);
      expect(res.body.error).to.include({ code: 'conflict', id: first.id });
      expect(res.body.error.message).to.be.a('string');
    });

    it('stores international domains as punycode', async () => {
      const res = await as(t.http.post('/api/v1/subscribers'))
        .send({ email: `maija.${Date.now()}@pörssi.fi` })
        .expect(201);
      expect(res.body.email).to.match(/@xn--prssi-jua\.fi$/);
      expect(res.body.status).to.equal('unconfirmed');
    });

    it('refuses bad emails and attributes with a 400 naming the field', async () => {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ email: 'not-an-email' }, /^email:/],
        [{ email: 'a@b' }, /^email:/],
        [{ email: email(), attributes: { 'a.b': 1 } }, /^attributes/],
        [{ email: email(), attributes: { $where: 1 } }, /\$/],
        [{ email: email(), attributes: { nested: { x: 1 } } }, /^attributes\.nested/],
        [{ email: email(), attributes: { long: 'x'.repeat(1001) } }, /^attributes\.long/],
        [
          {
            email: email(),
            attributes: Object.fromEntries([...Array(51)].map((_, i) => [`k${i}`, i])),
          },
          /^attributes: at most 50/,
        ],
        [{ email: email(), status: 'unsubscribed' }, /^status:/],
        [{ email: email(), lists: ['no-such-list'] }, /^lists: no list no-such-list/],
        [{ email: email(), segments: ['a', 'b'] }, /^segments/],
        [{ email: email(), unknownField: 1 }, /unknownField|Unrecognized/],
        [{ email: email(), hetu: '131052-308U' }, /^hetu:/],
      ];
      for (const [body, message] of cases) {
        const res = await as(t.http.post('/api/v1/subscribers')).send(body);
        expect(res.status, JSON.stringify(body).slice(0, 80)).to.equal(400);
        expect(res.body.error.message, JSON.stringify(body).slice(0, 80)).to.match(message);
      }
    });
  });

  describe('suppressed addresses', () => {
    it('never become subscribed through the API, on any list or at all', async () => {
      const list = await createList(t);
      const address = email('suppressed');
      await t.db.models.Suppression.create({
        emailHash: t.services.protector.emailHash(address),
        scope: ALL_LISTS,
        reason: 'unsubscribe',
      });
      const res = await as(t.http.post('/api/v1/subscribers'))
        .send({ email: address, lists: [list.slug], status: 'subscribed' })
        .expect(201);
      expect(res.body.status).to.equal('unsubscribed');
      expect(res.body.lists).to.deep.equal([
        { id: list.id, slug: list.slug, status: 'unsubscribed' },
      ]);
    });

    it('stay off the one list they left, and join the others', async () => {
      const left = await createList(t);
      const other = await createList(t);
      const address = email('left-one');
      await t.db.models.Suppression.create({
        emailHash: t.services.protector.emailHash(address),
        scope: left.id,
        reason: 'unsubscribe',
      });
      const res = await as(t.http.post('/api/v1/subscribers'))
        .send({ email: address, lists: [left.id, other.id], status: 'subscribed' })
        .expect(201);
      expect(res.body.status).to.equal('subscribed');
      expect(res.body.lists).to.have.deep.members([
        { id: left.id, slug: left.slug, status: 'unsubscribed' },
        { id: other.id, slug: other.slug, status: 'subscribed' },
      ]);
    });
  });

  describe('identity number', () => {
    it('is sealed at rest and masked in answers, for roles that may see it', async () => {
      const created = await as(t.http.post('/api/v1/subscribers'))
        .send({ email: email('hetu'), hetu: HETU.toLowerCase() })
        .expect(201);
      expect(created.body.hetu).to.equal('******-***T');

      const raw = await t.db.connection
        .collection('subscribers')
        .findOne({ email: created.body.email });
      const stored = JSON.stringify(raw);
      expect(stored).to.not.include(HETU);
      expect(stored).to.not.include('131052');
      expect(raw!.hetuSealed).to.be.a('string');
      expect(t.services.protector.decrypt(raw!.hetuSealed as string)).to.equal(HETU);

      const read = await as(t.http.get(`/api/v1/subscribers/${created.body.id}`), sales).expect(
        200,
      );
      expect(read.body.hetu).to.equal('******-***T');
      const search = await as(
        t.http.get('/api/v1/subscribers').query({ email: created.body.email }),
      );
      expect(JSON.stringify(search.body)).to.not.include('308T');
    });

    it('is hidden from, and cannot be set by, roles without the permission', async () => {
      const created = await as(t.http.post('/api/v1/subscribers'))
        .send({ email: email('hetu2'), hetu: HETU })
        .expect(201);
      const read = await as(t.http.get(`/api/v1/subscribers/${created.body.id}`), marketing).expect(
        200,
      );
      expect(read.body).to.not.have.property('hetu');
      await as(t.http.patch(`/api/v1/subscribers/${created.body.id}`), marketing)
        .send({ hetu: HETU })
        .expect(403);
      await as(t.http.post('/api/v1/subscribers'), marketing)
        .send({ email: email(), hetu: HETU })
        .expect(403);
    });

    it('is not searchable', async () => {
      const res = await as(t.http.get('/api/v1/subscribers').query({ hetu: HETU })).expect(400);
      expect(res.body.error.message).to.match(/^hetu: unknown query parameter/);
      await as(t.http.get('/api/v1/subscribers').query({ 'attr.hetuSealed': 'x' })).expect(200);
    });
  });

  describe('search', () => {
    it('finds by exact email, email prefix, name, status, list and attribute', async () => {
      const tag = `t${Date.now().toString(36)}`;
      const list = await createList(t);
      const a = await createSubscriber(t, {
        email: `${tag}.anna@example.com`,
        name: 'Anna Virtanen',
        lists: [list.slug],
        attributes: { tier: 'gold', visits: 4 },
      });
      const b = await createSubscriber(t, {
        email: `${tag}.bertta@example.com`,
        name: 'Bertta Niemi',
        status: 'unconfirmed',
        attributes: { tier: 'silver', visits: 4 },
      });
      const ids = async (query: Record<string, string>) => {
        const res = await as(t.http.get('/api/v1/subscribers').query(query)).expect(200);
        return (res.body.items as Array<{ id: string }>).map((i) => i.id);
      };
      expect(await ids({ email: `${tag}.ANNA@example.com` })).to.deep.equal([a.id]);
      expect(await ids({ email: tag })).to.deep.equal([a.id, b.id]);
      expect(await ids({ email: tag, name: 'virtanen' })).to.deep.equal([a.id]);
      expect(await ids({ email: tag, status: 'unconfirmed' })).to.deep.equal([b.id]);
      expect(await ids({ list: list.slug })).to.deep.equal([a.id]);
      expect(await ids({ email: tag, 'attr.tier': 'silver' })).to.deep.equal([b.id]);
      expect(await ids({ email: tag, 'attr.visits': '4' })).to.deep.equal([a.id, b.id]);
      expect(await ids({ name: '.*' })).to.deep.equal([]);

      const res = await as(t.http.get('/api/v1/subscribers').query({ list: list.id })).expect(200);
      expect(res.body.items[0]).to.include({ id: a.id, email: a.email, status: 'subscribed' });
      expect(res.body.items[0].lists).to.deep.equal([
        { id: list.id, slug: list.slug, status: 'subscribed' },
      ]);
      expect(res.body.nextCursor).to.equal(null);
    });

    it('pages with an opaque cursor that stays stable while rows are inserted', async () => {
      const batch = `b${Date.now().toString(36)}`;
      const list = await createList(t);
      const first: string[] = [];
      for (let i = 0; i < 7; i++)
        first.push((await createSubscriber(t, { attributes: { batch }, lists: [list.id] })).id);

      for (const filter of [{ 'attr.batch': batch }, { list: list.slug }]) {
        const seen: string[] = [];
        let cursor: string | undefined;
        let round = 0;
        do {
          const res = await as(t.http.get('/api/v1/subscribers'))
            .query({ ...filter, limit: '3', ...(cursor ? { cursor } : {}) })
            .expect(200);
          seen.push(...res.body.items.map((i: { id: string }) => i.id));
          cursor = res.body.nextCursor ?? undefined;
          if (round++ === 0) await createSubscriber(t, { attributes: { batch }, lists: [list.id] });
        } while (cursor);
        expect(new Set(seen).size, 'no duplicates').to.equal(seen.length);
        // Everything that existed before, in order, then the row inserted mid-way (last).
        expect(seen.slice(0, first.length)).to.deep.equal(first);
        expect(seen).to.have.length(first.length + 1);
        first.push(seen[seen.length - 1]!);
      }
    });

    it('refuses a bad cursor, an oversized limit and unknown parameters with 400', async () => {
      for (const cursor of ['nonsense', 'djE6bm90LWFuLWlk', '!!!', 'a'.repeat(101)]) {
        const res = await as(t.http.get('/api/v1/subscribers').query({ cursor })).expect(400);
        expect(res.body.error.message).to.match(/^cursor:/);
      }
      await as(t.http.get('/api/v1/subscribers').query({ limit: '201' })).expect(400);
      await as(t.http.get('/api/v1/subscribers').query({ limit: 'x' })).expect(400);
      await as(t.http.get('/api/v1/subscribers').query({ 'attr.a.b': '1' })).expect(400);
      await as(t.http.get('/api/v1/subscribers?email=a&email=b')).expect(400);
    });
  });

  describe('read, change and remove', () => {
    const auditOf = (subjectId: string) =>
      t.db.models.AuditEntry.find({ subjectId }).sort({ _id: 1 }).lean();

    it('audits every full read with the reading staff user', async () => {
      const sub = await createSubscriber(t);
      const { userId, token } = await staffToken(t.services, 'sales');
      await as(t.http.get(`/api/v1/subscribers/${sub.id}`), token).expect(200);
      const reads = (await auditOf(sub.id)).filter((e) => e.action === 'subscriber.read');
      expect(reads).to.have.length(1);
      expect(reads[0]).to.include({ actorType: 'staff', actorId: userId });
      expect(reads[0]!.requestId).to.be.a('string');
      await as(t.http.get('/api/v1/subscribers/0123456789abcdef01234567')).expect(404);
      await as(t.http.get('/api/v1/subscribers/not-an-id')).expect(404);
    });

    it('changes details, clears with null, and audits field names without values', async () => {
      const sub = await createSubscriber(t, { phone: '+358 40 123 4567', name: 'Old' });
      const res = await as(t.http.patch(`/api/v1/subscribers/${sub.id}`))
        .send({
          name: 'Uusi Nimi',
          phone: null,
          address: { street: 'Testikatu 1', postalCode: '00100', city: 'Helsinki', country: 'FI' },
          attributes: { tier: 'gold' },
          hetu: HETU,
        })
        .expect(200);
      expect(res.body).to.include({ name: 'Uusi Nimi', phone: null, hetu: '******-***T' });
      expect(res.body.address).to.deep.equal({
        street: 'Testikatu 1',
        postalCode: '00100',
        city: 'Helsinki',
        country: 'FI',
      });
      const change = (await auditOf(sub.id)).find((e) => e.action === 'subscriber.update');
      expect(change?.details?.fields).to.have.members([
        'name',
        'phone',
        'address',
        'attributes',
        'hetu',
      ]);
      expect(JSON.stringify(change)).to.not.include('Testikatu').and.not.include('308T');

      const other = await createSubscriber(t);
      const dup = await as(t.http.patch(`/api/v1/subscribers/${sub.id}`))
        .send({ email: other.email })
        .expect(409);
      expect(dup.body.error.id).to.equal(other.id);
    });

    it('soft-deletes: unsubscribes everywhere, suppresses, audits, and cannot be undone by staff', async () => {
      const list = await createList(t);
      const sub = await createSubscriber(t, { lists: [list.id], status: 'subscribed' });
      await as(t.http.delete(`/api/v1/subscribers/${sub.id}`)).expect(204);

      const read = await as(t.http.get(`/api/v1/subscribers/${sub.id}`)).expect(200);
      expect(read.body.status).to.equal('unsubscribed');
      expect(read.body.lists).to.deep.equal([
        { id: list.id, slug: list.slug, status: 'unsubscribed' },
      ]);
      const suppression = await t.db.models.Suppression.findOne({
        emailHash: t.services.protector.emailHash(sub.email),
        scope: ALL_LISTS,
      }).lean();
      expect(suppression?.reason).to.equal('staff');
      expect((await auditOf(sub.id)).map((e) => e.action)).to.include('subscriber.delete');

      const again = await as(t.http.post('/api/v1/subscribers'))
        .send({ email: sub.email, status: 'subscribed' })
        .expect(409);
      expect(again.body.error.id).to.equal(sub.id);
      await as(t.http.delete(`/api/v1/subscribers/${sub.id}`)).expect(204);
    });
  });
});
