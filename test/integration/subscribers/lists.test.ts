import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList, createSubscriber } from '../../helpers/api.js';

describe('lists API', () => {
  let t: TestApp;
  before(async () => {
    t = await bootApp();
  });
  after(async () => t.close());
  const as = (req: ReturnType<TestApp['http']['get']>) =>
    req.auth(t.adminToken, { type: 'bearer' });

  it('creates a list with the contract fields and defaults', async () => {
    const res = await as(t.http.post('/api/v1/lists'))
      .send({ name: 'Uutiskirje', slug: 'uutiskirje', doubleOptIn: true })
      .expect(201);
    expect(res.body).to.include({
      name: 'Uutiskirje',
      slug: 'uutiskirje',
      doubleOptIn: true,
      lawfulBasis: 'consent',
      public: false,
      thankYouUrl: null,
    });
    expect(res.body.id).to.match(/^[0-9a-f]{24}$/);
    expect(res.body.counts).to.deep.equal({ unconfirmed: 0, subscribed: 0, unsubscribed: 0 });
  });

  it('pages lists by cursor in the order they were made, each once', async () => {
    for (const n of [1, 2, 3, 4, 5]) await createList(t, { slug: `sivu-${n}` });
    const slugs: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { items: Array<{ slug: string }>; nextCursor: string | null } } = await as(
        t.http.get('/api/v1/lists'),
      )
        .query({ limit: '2', ...(cursor ? { cursor } : {}) })
        .expect(200);
      expect(res.body.items.length).to.be.at.most(2);
      slugs.push(...res.body.items.map((l: { slug: string }) => l.slug));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(slugs.filter((s) => s.startsWith('sivu-'))).to.deep.equal([
      'sivu-1',
      'sivu-2',
      'sivu-3',
      'sivu-4',
      'sivu-5',
    ]);
    expect(pages).to.be.at.least(3);
    expect(new Set(slugs).size).to.equal(slugs.length);
    await as(t.http.get('/api/v1/lists')).query({ limit: '201' }).expect(400);
    await as(t.http.get('/api/v1/lists')).query({ cursor: 'x' }).expect(400);
    await as(t.http.get('/api/v1/lists')).query({ extra: '1' }).expect(400);
  });

  it('refuses a duplicate slug with 409 and a bad slug or basis with 400', async () => {
    await createList(t, { slug: 'dup-slug' });
    const dup = await as(t.http.post('/api/v1/lists'))
      .send({ name: 'x', slug: 'dup-slug', doubleOptIn: false })
      .expect(409);
    expect(dup.body.error.code).to.equal('conflict');
    const bad = await as(t.http.post('/api/v1/lists'))
      .send({ name: 'x', slug: 'Not A Slug', doubleOptIn: false })
      .expect(400);
    expect(bad.body.error.message).to.match(/^slug:/);
    await as(t.http.post('/api/v1/lists'))
      .send({ name: 'x', slug: 'ok-slug', doubleOptIn: false, lawfulBasis: 'whim' })
      .expect(400);
  });

  it('counts members by membership status, by id or slug', async () => {
    const list = await createList(t);
    await createSubscriber(t, { lists: [list.slug], status: 'subscribed' });
    await createSubscriber(t, { lists: [list.id], status: 'subscribed' });
    await createSubscriber(t, { lists: [list.slug], status: 'unconfirmed' });
    const gone = await createSubscriber(t, { lists: [list.slug], status: 'subscribed' });
    await as(t.http.delete(`/api/v1/subscribers/${gone.id}`)).expect(204);

    const expected = { subscribed: 2, unconfirmed: 1, unsubscribed: 1 };
    const bySlug = await as(t.http.get(`/api/v1/lists/${list.slug}`)).expect(200);
    expect(bySlug.body.counts).to.deep.equal(expected);
    const byId = await as(t.http.get(`/api/v1/lists/${list.id}`)).expect(200);
    expect(byId.body.counts).to.deep.equal(expected);
    const all = await as(t.http.get('/api/v1/lists')).expect(200);
    const item = all.body.items.find((l: { id: string }) => l.id === list.id);
    expect(item.counts).to.deep.equal(expected);
  });

  it('updates fields and answers 404 for an unknown list', async () => {
    const list = await createList(t);
    const res = await as(t.http.patch(`/api/v1/lists/${list.id}`))
      .send({
        description: 'Kuukausittain',
        lawfulBasis: 'customer_relationship',
        public: true,
        thankYouUrl: 'https://shop.example.com/kiitos',
      })
      .expect(200);
    expect(res.body).to.include({
      description: 'Kuukausittain',
      lawfulBasis: 'customer_relationship',
      public: true,
      thankYouUrl: 'https://shop.example.com/kiitos',
    });
    await as(t.http.patch(`/api/v1/lists/${list.id}`))
      .send({ thankYouUrl: 'javascript:alert(1)' })
      .expect(400);
    await as(t.http.get('/api/v1/lists/no-such-list')).expect(404);
    await as(t.http.get('/api/v1/lists/0123456789abcdef01234567')).expect(404);
  });

  it('refuses to delete a list a running campaign uses, and deletes it otherwise', async () => {
    const list = await createList(t);
    const sub = await createSubscriber(t, { lists: [list.id] });
    const campaigns = t.db.connection.collection('campaigns');
    const { insertedId } = await campaigns.insertOne({ status: 'running', listIds: [list.id] });
    const refused = await as(t.http.delete(`/api/v1/lists/${list.id}`)).expect(409);
    expect(refused.body.error.code).to.equal('invalid_state');

    await campaigns.updateOne({ _id: insertedId }, { $set: { status: 'finished' } });
    await as(t.http.delete(`/api/v1/lists/${list.slug}`)).expect(204);
    await as(t.http.get(`/api/v1/lists/${list.id}`)).expect(404);
    const after = await as(t.http.get(`/api/v1/subscribers/${sub.id}`)).expect(200);
    expect(after.body.lists).to.deep.equal([]);
  });
});
