import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import type { Types } from 'mongoose';
import { neutralise } from '../../../src/subscribers/csv-export.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { staffToken } from '../../helpers/factories.js';

describe('CSV export', () => {
  let t: TestApp;
  let listId: Types.ObjectId;
  const auth = () => ({ Authorization: `Bearer ${t.adminToken}` });
  const csvOf = async (query: string) => {
    const res = await t.http.get(`/api/v1/exports${query}`).set(auth()).buffer(true);
    expect(res.status, res.text).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/csv/);
    return parse(res.text, { columns: true }) as Array<Record<string, string>>;
  };

  before(async () => {
    t = await bootApp();
    const { Subscriber, List, Membership } = t.db.models;
    listId = (await List.create({ name: 'News', slug: 'news' }))._id;
    const people = [
      {
        email: 'evil@example.com',
        name: '=HYPERLINK("http://x")',
        attributes: { note: '@SUM(A1)', n: -3 },
      },
      {
        email: 'plain@example.com',
        name: 'Matti Meikäläinen',
        phone: '+358401234567',
        attributes: { note: 'ok' },
      },
      { email: 'tab@example.com', name: '\tcmd', customerSegment: '-vip' },
      { email: 'gone@example.com', name: 'Gone' },
    ];
    for (const p of people) {
      const s = await Subscriber.create({
        ...p,
        source: 'api',
        status: 'subscribed',
        hetuSealed: 'v1.SECRET-SEALED-HETU.x.y',
      });
      await Membership.create({
        subscriberId: s._id,
        listId,
        status: p.name === 'Gone' ? 'unsubscribed' : 'subscribed',
      });
    }
    await Subscriber.create({ email: 'other@example.com', source: 'api', status: 'subscribed' });
  });
  after(async () => t.close());

  it('neutralises formula cells and never exports the identity number', async () => {
    const res = await t.http.get('/api/v1/exports?list=news').set(auth()).buffer(true).expect(200);
    expect(res.text).not.to.include('SECRET-SEALED-HETU');
    expect(res.text).not.to.match(/hetu/i);
    const rows = parse(res.text, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0]!)).to.deep.equal([
      'email',
      'name',
      'phone',
      'locale',
      'status',
      'customerSegment',
      'source',
      'createdAt',
      'attributes',
    ]);
    const evil = rows.find((r) => r.email === 'evil@example.com')!;
    expect(evil.name).to.equal(`'=HYPERLINK("http://x")`);
    const plain = rows.find((r) => r.email === 'plain@example.com')!;
    expect(plain.phone).to.equal(`'+358401234567`);
    expect(plain.name).to.equal('Matti Meikäläinen');
    const tab = rows.find((r) => r.email === 'tab@example.com')!;
    expect(tab.name).to.equal(`'\tcmd`);
    expect(tab.customerSegment).to.equal(`'-vip`);
    expect(rows.map((r) => r.email)).to.have.members([
      'evil@example.com',
      'plain@example.com',
      'tab@example.com',
      'gone@example.com',
    ]);
  });

  it('attribute columns, membership status filter, segments', async () => {
    const rows = await csvOf('?list=news&status=subscribed&attributes=note,n');
    expect(rows.map((r) => r.email)).to.have.members([
      'evil@example.com',
      'plain@example.com',
      'tab@example.com',
    ]);
    const evil = rows.find((r) => r.email === 'evil@example.com')!;
    expect(evil['attributes.note']).to.equal(`'@SUM(A1)`);
    expect(evil['attributes.n']).to.equal(`'-3`);

    const seg = await t.http
      .post('/api/v1/segments')
      .set(auth())
      .send({ name: 'has phone', rules: { field: 'email', op: 'startsWith', value: 'o' } })
      .expect(201);
    const bySegment = await csvOf(`?segment=${seg.body.id}`);
    expect(bySegment.map((r) => r.email)).to.deep.equal(['other@example.com']);
    const both = await csvOf(`?segment=${seg.body.id}&list=${String(listId)}`);
    expect(both).to.deep.equal([]);
  });

  it('exports a list of several pages whole: every member once, the header once', async () => {
    const { Subscriber, List, Membership } = t.db.models;
    const big = await List.create({ name: 'Big', slug: 'big' });
    const members = 1234;
    const people = await Subscriber.insertMany(
      Array.from({ length: members }, (_v, i) => ({
        email: `page-${i}@example.com`,
        name: `Sivu ${i}`,
        source: 'api',
        status: 'subscribed',
      })),
    );
    await Membership.insertMany(
      people.map((person) => ({ subscriberId: person._id, listId: big._id, status: 'subscribed' })),
    );
    const rows = await csvOf('?list=big');
    expect(rows).to.have.length(members);
    expect(new Set(rows.map((row) => row.email)).size).to.equal(members);
    expect(rows.find((row) => row.email === 'page-777@example.com')?.name).to.equal('Sivu 777');
  });

  it('is audited once per export', async () => {
    const before = await t.db.models.AuditEntry.countDocuments({ action: 'subscribers.export' });
    await csvOf('?list=news');
    const entries = await t.db.models.AuditEntry.find({ action: 'subscribers.export' })
      .sort({ _id: -1 })
      .lean();
    expect(entries).to.have.length(before + 1);
    expect(entries[0]!.details).to.include({ list: 'news', rows: 4, complete: true });
  });

  it('refuses bad queries and roles without subscribers.export', async () => {
    await t.http.get('/api/v1/exports').set(auth()).expect(400);
    await t.http.get('/api/v1/exports?list=nope').set(auth()).expect(400);
    await t.http.get('/api/v1/exports?list=news&attributes=a.b').set(auth()).expect(400);
    await t.http.get('/api/v1/exports?segment=000000000000000000000000').set(auth()).expect(404);
    const sales = await staffToken(t.services, 'sales');
    await t.http
      .get('/api/v1/exports?list=news')
      .set({ Authorization: `Bearer ${sales.token}` })
      .expect(403);
  });

  it('neutralise() covers every formula prefix', () => {
    for (const c of ['=1', '+1', '-1', '@x', '\tx', '\rx']) expect(neutralise(c)).to.equal(`'${c}`);
    expect(neutralise('a=1')).to.equal('a=1');
  });
});
