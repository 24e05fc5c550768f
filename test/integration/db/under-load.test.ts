import { expect } from 'chai';
import { Types } from 'mongoose';
import { createList, createSubscriber } from '../../helpers/api.js';
import { bootApp, type TestApp } from '../../helpers/app.js';

/** Subscribers stored before the load starts; the scale bench runs the same at 100,000. */
const STORED = Number(process.env.KIRJE_TEST_LOAD_SUBSCRIBERS ?? 20_000);
const IMPORT_ROWS = 1000;
const ONE_CLICKS = 40;

/**
 * Bulk work beside the requests a recipient waits for: imports must not take the database's
 * capacity from opt-outs and pages, and /healthz must tell when the database stops answering.
 */
describe('the service under mixed load on a stored audience', function () {
  this.timeout(600_000);
  let t: TestApp;

  before(async () => {
    t = await bootApp();
    const { Subscriber } = t.db.models;
    for (let start = 0; start < STORED; start += 2000) {
      const people = Array.from({ length: Math.min(2000, STORED - start) }, (_, i) => ({
        _id: new Types.ObjectId(),
        email: `stored-${start + i}@example.com`,
        status: 'subscribed',
        source: 'import',
        locale: 'fi',
      }));
      await Subscriber.insertMany(people, { lean: true });
    }
  });
  after(async () => t.close());

  const csv = (prefix: string) =>
    'email,name\n' +
    Array.from({ length: IMPORT_ROWS }, (_, i) => `${prefix}-${i}@example.com,Person ${i}`).join(
      '\n',
    );

  it('three imports at once, one-clicks and unsubscribe pages alongside: every opt-out answered and durable, every import complete', async () => {
    const news = await createList(t);
    const offers = await createList(t);
    const people = [];
    for (let i = 0; i < ONE_CLICKS; i++)
      people.push(await createSubscriber(t, { lists: [news.id] }));
    const sign = (subscriberId: string) =>
      t.services.tokens.sign('unsubscribe', { subscriberId, listId: news.id });

    const imports = [news, news, offers].map((list, i) =>
      t.http
        .post(`/api/v1/imports?list=${list.slug}`)
        .auth(t.adminToken, { type: 'bearer' })
        .set('Content-Type', 'text/csv')
        .send(csv(`import${i}`)),
    );
    const oneClicks = people.map((p) =>
      t.http
        .post(`/u/${sign(p.id)}`)
        .type('form')
        .send('List-Unsubscribe=One-Click'),
    );
    const pages = people.slice(0, 10).map((p) => t.http.get(`/u/${sign(p.id)}`));
    const [imported, clicked, seen] = await Promise.all([
      Promise.all(imports),
      Promise.all(oneClicks),
      Promise.all(pages),
    ]);

    for (const res of clicked) expect(res.status, res.text).to.equal(200);
    for (const res of seen) expect(res.status, res.text).to.equal(200);
    for (const p of people)
      expect(await t.services.suppressions.isSuppressed(p.email, news.id), p.email).to.equal(true);
    for (const res of imported) {
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      expect(res.body.status).to.equal('completed');
      expect(res.body.counts.created).to.equal(IMPORT_ROWS);
    }
    expect(
      await t.db.models.Membership.countDocuments({ listId: new Types.ObjectId(news.id) }),
    ).to.equal(2 * IMPORT_ROWS + ONE_CLICKS);
  });

  it('/healthz answers 503 while the database cannot answer a query, and ok once it can', async function () {
    // Told by the test harness: it started the embedded database and knows its process.
    const pid = Number(process.env.KIRJE_TEST_FERRETDB_PID);
    if (!pid) this.skip();
    await t.http.get('/healthz').expect(200);
    process.kill(pid, 'SIGSTOP');
    let res;
    try {
      // Asked until it answers 503 (a signal to a busy process lands when the kernel delivers
      // it), within a bound: a database that never stops would fail here.
      for (let tries = 0; tries < 10; tries++) {
        res = await t.http.get('/healthz');
        if (res.status === 503) break;
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(res?.status).to.equal(503);
    expect(res?.body).to.deep.include({ db: 'down' });
    await t.http.get('/healthz').expect(200);
  });
});
