import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { Types } from 'mongoose';
import { membershipId } from '../../../src/db/models/membership.js';
import type { AuditContext } from '../../../src/privacy/audit.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { staffToken } from '../../helpers/factories.js';
import { brokenEvery20Lines } from '../../fixtures/csv/generate.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/csv/${name}`, import.meta.url), 'utf8');
/** Every row is in exactly one of these. */
const accounted = (c: Record<string, number>) =>
  c.created! +
  c.updated! +
  c.unchanged! +
  c.invalid! +
  c.duplicates! +
  c.skippedSuppressed! +
  c.skippedUnsubscribed!;

describe('CSV import', () => {
  let t: TestApp;
  let listId: Types.ObjectId;
  const ids: Record<string, Types.ObjectId> = {};
  const auth = () => ({ Authorization: `Bearer ${t.adminToken}` });
  const postCsv = (query: string, csv: string) =>
    t.http.post(`/api/v1/imports${query}`).set(auth()).set('Content-Type', 'text/csv').send(csv);

  before(async () => {
    t = await bootApp();
    const { Subscriber, List, Membership } = t.db.models;
    listId = (await List.create({ name: 'News', slug: 'news' }))._id;
    const existing: Array<[string, string]> = [
      ['u1', 'unsubscribed'],
      ['c1', 'complained'],
      ['m1', 'subscribed'],
      ['p3', 'subscribed'],
      ['e1', 'subscribed'],
      ['e2', 'unconfirmed'],
    ];
    for (const [who, status] of existing) {
      const s = await Subscriber.create({
        email: `${who}@example.com`,
        name: `Old ${who}`,
        source: 'api',
        status,
      });
      ids[who] = s._id;
    }
    await Membership.create({ subscriberId: ids.m1, listId, status: 'unsubscribed' });
    await Membership.create({ subscriberId: ids.p3, listId, status: 'subscribed' });
    // An erased person (only the suppression remains), a list-scoped suppression, and someone
    // who unsubscribed through the one unsubscribe service.
    await t.services.suppressions.suppress('p1@example.com', 'all', 'unsubscribe');
    await t.services.suppressions.suppress('p2@example.com', String(listId), 'unsubscribe');
    await t.services.unsubscribe.unsubscribe({
      subscriberId: String(ids.p3),
      scope: { all: true },
      channel: 'staff',
    });
  });
  after(async () => t.close());

  it('counts every row exactly, reports bad rows by line, and never resubscribes', async () => {
    const csv = [
      'email,name,locale,attributes.tier', // 1
      'n1@example.com,Uusi Yksi,fi,gold', // 2
      'n2@example.com,Uusi Kaksi,en,', // 3
      'not-an-email,Bad,fi,', // 4 invalid
      'N1@EXAMPLE.com,Dup,fi,', // 5 duplicate of line 2
      'u1@example.com,U,fi,', // 6 unsubscribed
      'c1@example.com,C,fi,', // 7 complained
      'm1@example.com,M,fi,', // 8 unsubscribed from the list
      'p1@example.com,P,fi,', // 9 suppressed (all)
      'p2@example.com,P2,fi,', // 10 suppressed (this list)
      'p3@example.com,P3,fi,', // 11 suppressed (unsubscribed)
      'e1@example.com,E1 new name,fi,', // 12 existing: unchanged in add mode, joins the list
      'e2@example.com,,,', // 13 existing unconfirmed: joins unconfirmed
      'n3@example.com,Kolme,de,', // 14 invalid locale
      ',empty,fi,', // 15 invalid email
      'n4@example.com,"Multi', // 16
      'line name",sv,silver', // 17
      'e1@example.com,again,fi,', // 18 duplicate
      'n5@example.com,too,many,columns,here', // 19 malformed
      '', // 20 empty, ignored
      'n6@example.com,"=HYPERLINK(""http://x"")",fi,', // 21
    ].join('\r\n');
    const res = await postCsv('?list=news&mode=add', csv);
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    expect(res.headers.location).to.equal(`/api/v1/imports/${res.body.id}`);
    expect(res.body.status).to.equal('completed');
    expect(res.body.counts).to.deep.equal({
      total: 18,
      created: 4,
      updated: 0,
      unchanged: 2,
      skippedSuppressed: 3,
      skippedUnsubscribed: 3,
      duplicates: 2,
      invalid: 4,
      addedToList: 6,
    });
    const errors = [...res.body.errors].sort(
      (a: { line: number }, b: { line: number }) => a.line - b.line,
    );
    expect(errors.map((e: { line: number }) => e.line)).to.deep.equal([4, 14, 15, 19]);
    expect(errors[1].message).to.match(/^locale/);
    expect(res.body.errorCount).to.equal(4);

    const { Subscriber, Membership } = t.db.models;
    const status = async (who: string) =>
      (await Subscriber.findOne({ email: `${who}@example.com` }).lean())?.status;
    expect(await status('u1')).to.equal('unsubscribed');
    expect(await status('c1')).to.equal('complained');
    expect(await status('p3')).to.equal('unsubscribed');
    expect(await status('p1')).to.equal(undefined);
    expect(await status('p2')).to.equal(undefined);
    expect(await status('n5')).to.equal(undefined);
    const memberships = await Membership.find({ listId }).lean();
    const listStatus = new Map(memberships.map((m) => [String(m.subscriberId), m.status]));
    expect(listStatus.get(String(ids.m1))).to.equal('unsubscribed');
    expect(listStatus.get(String(ids.p3))).to.equal('unsubscribed');
    expect(listStatus.get(String(ids.e1))).to.equal('subscribed');
    expect(listStatus.get(String(ids.e2))).to.equal('unconfirmed');
    expect(listStatus.has(String(ids.u1))).to.equal(false);

    const n1 = await Subscriber.findOne({ email: 'n1@example.com' }).lean();
    expect(n1).to.include({ name: 'Uusi Yksi', locale: 'fi', status: 'subscribed' });
    expect(n1!.source).to.equal(`import:${res.body.id}`);
    expect(n1!.attributes).to.deep.equal({ tier: 'gold' });
    expect(listStatus.get(String(n1!._id))).to.equal('subscribed');
    // Known addresses kept their subscriber: one record per address.
    expect(await Subscriber.countDocuments({ email: 'u1@example.com' })).to.equal(1);
    expect(await Subscriber.countDocuments({ email: 'e1@example.com' })).to.equal(1);
    expect((await Membership.findById(membershipId(n1!._id, listId)).lean())?.status).to.equal(
      'subscribed',
    );
    const n4 = await Subscriber.findOne({ email: 'n4@example.com' }).lean();
    expect(n4).to.include({ name: 'Multi\nline name', locale: 'sv' });
    expect((await Subscriber.findById(ids.e1).lean())!.name).to.equal('Old e1');

    const again = await t.http.get(`/api/v1/imports/${res.body.id}`).set(auth()).expect(200);
    expect(again.body.counts).to.deep.equal(res.body.counts);
    const audits = await t.db.models.AuditEntry.find({ action: 'subscribers.import' }).lean();
    expect(
      audits.filter((a) => (a.details as { jobId: string }).jobId === res.body.id),
    ).to.have.length(1);
  });

  it('reads a semicolon-separated file when told its delimiter', async () => {
    const csv =
      'Sähköposti;Nimi;Kaupunki\nsemi1@example.com;Sanna;Oulu\nsemi2@example.com;Sami;Turku\n';
    const res = await t.http
      .post('/api/v1/imports')
      .set(auth())
      .field(
        'mapping',
        JSON.stringify({ Sähköposti: 'email', Nimi: 'name', Kaupunki: 'attributes.city' }),
      )
      .field('delimiter', ';')
      .attach('file', Buffer.from(csv), { filename: 'semi.csv', contentType: 'text/csv' });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    expect(res.body.counts).to.include({ total: 2, created: 2 });
    const sanna = await t.http
      .get('/api/v1/subscribers')
      .query({ email: 'semi1@example.com' })
      .set(auth())
      .expect(200);
    expect(sanna.body.items[0]).to.deep.include({ name: 'Sanna', attributes: { city: 'Oulu' } });
  });

  it('multipart with a column mapping updates in upsert mode, still skipping the unsubscribed', async () => {
    const csv =
      'Sähköposti;Nimi;Taso;Muuta\ne1@example.com;Eeva Uusi;gold;x\nu1@example.com;Not me;;\nn7@example.com;Seitsemän;silver;\n';
    const res = await t.http
      .post('/api/v1/imports')
      .set(auth())
      .field(
        'mapping',
        JSON.stringify({ Sähköposti: 'email', Nimi: 'name', Taso: 'attributes.tier' }),
      )
      .field('mode', 'upsert')
      .field('delimiter', '|')
      .attach('file', Buffer.from(csv.replaceAll(';', ',')), {
        filename: 'people.csv',
        contentType: 'text/csv',
      });
    expect(res.status, JSON.stringify(res.body)).to.equal(400);
    expect(res.body.error.message).to.match(/delimiter/);

    const ok = await t.http
      .post('/api/v1/imports')
      .set(auth())
      .field(
        'mapping',
        JSON.stringify({ Sähköposti: 'email', Nimi: 'name', Taso: 'attributes.tier' }),
      )
      .field('mode', 'upsert')
      .attach('file', Buffer.from(csv.replaceAll(';', ',')), {
        filename: 'people.csv',
        contentType: 'text/csv',
      });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(202);
    expect(ok.body.counts).to.include({
      total: 3,
      created: 1,
      updated: 1,
      skippedUnsubscribed: 1,
      addedToList: 0,
    });
    const { Subscriber } = t.db.models;
    const e1 = await Subscriber.findById(ids.e1).lean();
    expect(e1).to.include({ name: 'Eeva Uusi', status: 'subscribed' });
    expect(e1!.attributes).to.deep.equal({ tier: 'gold' });
    expect(await Subscriber.findById(ids.u1).lean()).to.include({
      name: 'Old u1',
      status: 'unsubscribed',
    });
  });

  it('a list removed after the import started: the job fails and leaves no membership on it', async () => {
    const gone = await t.db.models.List.create({ name: 'Gone', slug: 'gone-during-import' });
    const ctx: AuditContext = { actor: { type: 'system', name: 'test' } };
    const job = await t.services.imports.start(ctx, { mode: 'add', list: String(gone._id) });
    await t.http
      .delete(`/api/v1/lists/${String(gone._id)}`)
      .set(auth())
      .expect(204);
    const csv = Readable.from(['email\n', 'late1@example.com\n', 'late2@example.com\n']);
    const err = await t.services.imports.run(ctx, job, csv).catch((e: Error) => e);
    expect((err as Error).message).to.equal('the list was removed during the import');
    expect(await t.db.models.Membership.countDocuments({ listId: gone._id })).to.equal(0);
    const view = await t.services.imports.get(String(job.id));
    expect(view).to.include({
      status: 'failed',
      failure: 'the list was removed during the import',
    });
  });

  it('a few thousand rows in batches: duplicates across batches merged, counts exact', async () => {
    const lines = ['email,name'];
    for (let i = 0; i < 3500; i++) {
      lines.push(i % 500 === 7 ? `invalid-${i},Bad` : `bulk${i % 3000}@example.com,Bulk ${i}`);
    }
    const res = await postCsv('?mode=add', lines.join('\n'));
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    expect(res.body.counts).to.deep.equal({
      total: 3500,
      created: 2994,
      updated: 0,
      unchanged: 0,
      skippedSuppressed: 0,
      skippedUnsubscribed: 0,
      duplicates: 499,
      invalid: 7,
      addedToList: 0,
    });
    expect(
      await t.db.models.Subscriber.countDocuments({ source: `import:${res.body.id}` }),
    ).to.equal(2994);
    // The first occurrence wins.
    expect(
      (await t.db.models.Subscriber.findOne({ email: 'bulk1@example.com' }).lean())!.name,
    ).to.equal('Bulk 1');
  });

  describe('malformed records', () => {
    it('an unclosed quote on line 102 of 10,000 rows: reported there, every other row imported', async () => {
      const res = await postCsv('?mode=add', fixture('10000-rows-unclosed-quote-line-102.csv'));
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      expect(res.body.status).to.equal('completed');
      expect(res.body.counts).to.include({ total: 10_000, created: 9_999, invalid: 1 });
      expect(accounted(res.body.counts)).to.equal(10_000);
      expect(res.body.errors).to.have.length(1);
      expect(res.body.errors[0].line).to.equal(102);
      expect(res.body.errors[0].message).to.match(/quote/);
      expect(
        await t.db.models.Subscriber.countDocuments({ source: `import:${res.body.id}` }),
      ).to.equal(9_999);
      for (const line of [101, 103, 10_001])
        expect(
          await t.db.models.Subscriber.exists({ email: `q${line}@example.com` }),
          `line ${line}`,
        ).to.not.equal(null);
      expect(await t.db.models.Subscriber.exists({ email: 'x@example.com' })).to.equal(null);
    });

    it('a broken row every 20 lines: each reported at its own line, the rows between imported', async () => {
      const res = await postCsv('?mode=add', fixture('broken-row-every-20-lines.csv'));
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      expect(res.body.status).to.equal('completed');
      // Lines 2..2001; the broken ones are 20, 40, ..., 2000.
      expect(res.body.counts).to.include({ total: 2_000, created: 1_900, invalid: 100 });
      const lines = res.body.errors
        .map((e: { line: number }) => e.line)
        .sort((a: number, b: number) => a - b);
      expect(lines).to.deep.equal(Array.from({ length: 100 }, (_, i) => (i + 1) * 20));
      expect(await t.db.models.Subscriber.exists({ email: 'b21@example.com' })).to.not.equal(null);
    });

    it('200,000 rows with a broken row every 20 lines are all read and accounted for', async () => {
      // The good rows repeat 1,000 addresses (950 of them not on a broken line's number).
      const csv = brokenEvery20Lines(200_000, 'big.example.com', 1_000);
      const res = await postCsv('?mode=add', csv);
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      expect(res.body.status).to.equal('completed');
      expect(res.body.counts).to.include({
        total: 200_000,
        invalid: 10_000,
        created: 950,
        duplicates: 189_050,
      });
      expect(accounted(res.body.counts)).to.equal(200_000);
      expect(res.body.errorCount).to.equal(10_000);
    }).timeout(120_000);

    it('a stray quote inside a field is text, counted once; text after a closing quote is one bad row', async () => {
      const csv = [
        'email,name',
        'stray1@example.com,O"Brien', // 2
        'stray2@example.com,"Closed" trailing', // 3
        'stray3@example.com,Jo"hn "Q" Public', // 4
        'stray4@example.com,"a ""quoted"" word"', // 5
      ].join('\n');
      const res = await postCsv('?mode=add', csv);
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      expect(res.body.counts).to.include({ total: 4, created: 3, invalid: 1 });
      expect(res.body.errors).to.deep.equal([
        {
          line: 3,
          message: 'not a well-formed CSV record: text after the closing quote of a field',
        },
      ]);
      const name = async (email: string) =>
        (await t.db.models.Subscriber.findOne({ email }).lean())?.name;
      expect(await name('stray1@example.com')).to.equal('O"Brien');
      expect(await name('stray3@example.com')).to.equal('Jo"hn "Q" Public');
      expect(await name('stray4@example.com')).to.equal('a "quoted" word');
    });

    it('an upload that breaks off: the job fails naming the last line read, never completed', async () => {
      const ctx: AuditContext = { actor: { type: 'system', name: 'test' } };
      const job = await t.services.imports.start(ctx, { mode: 'add' });
      const input = new Readable({ read() {} });
      input.push('email,name\nbreak1@example.com,One\nbreak2@example.com,Two\n');
      setImmediate(() => input.destroy(new Error('connection reset')));
      const failure = await t.services.imports.run(ctx, job, input).catch((e: Error) => e);
      expect(failure).to.be.instanceOf(Error);
      const view = await t.services.imports.get(String(job.id));
      expect(view.status).to.equal('failed');
      expect(view.failure).to.match(/after line 3; the rest of the file was not read/);
    });
  });

  describe('refuses', () => {
    it('an unknown list, a bad mode, a mapping without email, bad mapping JSON', async () => {
      for (const q of [
        '?list=nope',
        '?mode=replace',
        '?mapping=%7B%22a%22%3A%22name%22%7D',
        '?mapping=%7Bx',
        '?mapping=%7B%22a%22%3A%22hetu%22%7D',
      ]) {
        const res = await postCsv(q, 'email\nx@example.com\n');
        expect(res.status, q).to.equal(400);
      }
    });

    it('a CSV without an email column: 400 and the job is marked failed', async () => {
      const res = await postCsv('', 'name,phone\nMatti,040\n');
      expect(res.status).to.equal(400);
      expect(res.body.error.message).to.match(/email/);
      const job = await t.db.models.ImportJob.findOne().sort({ _id: -1 }).lean();
      expect(job).to.include({ status: 'failed' });
    });

    it('an empty body, a non-CSV media type, multipart without a file', async () => {
      expect((await postCsv('', '')).status).to.equal(400);
      await t.http.post('/api/v1/imports').set(auth()).send({ email: 'x@example.com' }).expect(415);
      await t.http.post('/api/v1/imports').set(auth()).field('mode', 'add').expect(400);
    });

    it('roles without subscribers.import', async () => {
      const sales = await staffToken(t.services, 'sales');
      await t.http
        .post('/api/v1/imports')
        .set({ Authorization: `Bearer ${sales.token}`, 'Content-Type': 'text/csv' })
        .send('email\nx@example.com\n')
        .expect(403);
      await t.http.get('/api/v1/imports/000000000000000000000000').set(auth()).expect(404);
    });
  });
});
