import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { expectPagingRefusals, readAllPages } from '../../helpers/api.js';
import { email, staffToken } from '../../helpers/factories.js';

describe('privacy: audit trail API and the request register', () => {
  let t: TestApp;
  let auditor: string;
  let marketing: string;
  let sales: string;
  before(async () => {
    t = await bootApp();
    auditor = (await staffToken(t.services, 'auditor')).token;
    marketing = (await staffToken(t.services, 'marketing')).token;
    sales = (await staffToken(t.services, 'sales')).token;
  });
  after(async () => t.close());
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  describe('GET /api/v1/audit', () => {
    const subject = '0123456789abcdef01234567';
    before(async () => {
      for (let i = 0; i < 5; i += 1) {
        t.clock.set(`2026-01-0${i + 1}T12:00:00Z`);
        await t.services.audit.record(
          { actor: { type: 'system', name: 'test' } },
          `test.${i}`,
          subject,
        );
      }
      t.clock.set('2026-01-15T10:00:00Z');
    });

    it('lets auditors and admins read, pages by cursor without repeats, filters by time', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: { items: Array<{ action: string }>; nextCursor: string | null } } =
          await t.http
            .get('/api/v1/audit')
            .query({ subject, limit: 2, ...(cursor ? { cursor } : {}) })
            .set(auth(auditor))
            .expect(200);
        seen.push(...res.body.items.map((i: { action: string }) => i.action));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).to.deep.equal(['test.4', 'test.3', 'test.2', 'test.1', 'test.0']);

      const window = await t.http
        .get('/api/v1/audit')
        .query({ subject, from: '2026-01-02T00:00:00Z', to: '2026-01-04T00:00:00Z' })
        .set(auth(t.adminToken))
        .expect(200);
      expect(window.body.items.map((i: { action: string }) => i.action)).to.deep.equal([
        'test.2',
        'test.1',
      ]);
    });

    it('filters by actor', async () => {
      const res = await t.http
        .get('/api/v1/audit')
        .query({ actor: 'test', limit: 1 })
        .set(auth(auditor))
        .expect(200);
      expect(res.body.items[0].actorId).to.equal('test');
    });

    it('refuses roles without audit.read and bad input', async () => {
      await t.http.get('/api/v1/audit').set(auth(marketing)).expect(403);
      await t.http.get('/api/v1/audit').set(auth(sales)).expect(403);
      const bad = await t.http
        .get('/api/v1/audit')
        .query({ cursor: 'nonsense!' })
        .set(auth(auditor))
        .expect(400);
      expect(bad.body.error.code).to.equal('bad_request');
      await t.http.get('/api/v1/audit').query({ from: 'yesterday' }).set(auth(auditor)).expect(400);
    });

    it('has no route that changes or deletes the trail', async () => {
      const [entry] = (await t.http.get('/api/v1/audit').query({ subject }).set(auth(t.adminToken)))
        .body.items;
      for (const [method, path] of [
        ['put', `/api/v1/audit/${entry.id}`],
        ['patch', `/api/v1/audit/${entry.id}`],
        ['delete', `/api/v1/audit/${entry.id}`],
        ['delete', '/api/v1/audit'],
        ['post', '/api/v1/audit'],
      ] as const) {
        const res = await t.http[method](path).set(auth(t.adminToken)).send({});
        expect(res.status, `${method} ${path}`).to.be.oneOf([404, 405]);
      }
      expect(await t.db.models.AuditEntry.countDocuments({ subjectId: subject })).to.equal(5);
    });
  });

  describe('/api/v1/privacy/requests', () => {
    it('is due one calendar month after receipt: 31 January -> 28 February', async () => {
      t.clock.set('2026-01-31T09:00:00Z');
      const res = await t.http
        .post('/api/v1/privacy/requests')
        .set(auth(sales))
        .send({ type: 'access', email: email('req'), channel: 'email' })
        .expect(201);
      expect(res.body.dueDate).to.equal('2026-02-28');
      expect(res.body.status).to.equal('open');
      expect(res.body.overdue).to.equal(false);
      const leap = await t.http
        .post('/api/v1/privacy/requests')
        .set(auth(sales))
        .send({
          type: 'erasure',
          email: email('req'),
          channel: 'letter',
          receivedAt: '2024-01-31T12:00:00+02:00',
        })
        .expect(201);
      expect(leap.body.dueDate).to.equal('2024-02-29');
      await t.http
        .patch(`/api/v1/privacy/requests/${leap.body.id}`)
        .set(auth(sales))
        .send({ status: 'done' })
        .expect(200);
    });

    it('lists open requests in the order registered and flags the overdue ones by the clock', async () => {
      t.clock.set('2026-02-20T09:00:00Z');
      const late = await t.http
        .post('/api/v1/privacy/requests')
        .set(auth(t.adminToken))
        .send({
          type: 'rectification',
          email: email('late'),
          channel: 'phone',
          receivedAt: '2026-01-10T09:00:00Z',
          notes: 'called',
        })
        .expect(201);
      const res = await t.http.get('/api/v1/privacy/requests').set(auth(sales)).expect(200);
      const items = res.body.items as Array<{ id: string; dueDate: string; overdue: boolean }>;
      expect(res.body.nextCursor).to.equal(null);
      expect(items.map((i) => i.id)).to.deep.equal([...items.map((i) => i.id)].sort());
      expect(items.at(-1)!.id).to.equal(late.body.id);
      expect(items.at(-1)!.overdue).to.equal(true);
      expect(items.find((i) => i.dueDate === '2026-02-28')!.overdue).to.equal(false);
      const overdue = await t.http
        .get('/api/v1/privacy/requests')
        .query({ overdue: 'true' })
        .set(auth(sales))
        .expect(200);
      expect(overdue.body.items.map((i: { id: string }) => i.id)).to.deep.equal([late.body.id]);
      const counts = await t.http.get('/api/v1/privacy/requests/counts').set(auth(sales));
      expect(counts.body).to.deep.equal({ open: items.length, overdue: 1 });

      const patched = await t.http
        .patch(`/api/v1/privacy/requests/${late.body.id}`)
        .set(auth(sales))
        .send({ status: 'done', notes: 'address corrected' })
        .expect(200);
      expect(patched.body.handledBy).to.be.a('string');
      expect(patched.body.closedAt).to.be.a('string');
      expect(patched.body.overdue).to.equal(false);
      const after = await t.http.get('/api/v1/privacy/requests').set(auth(sales)).expect(200);
      expect(after.body.items.map((i: { id: string }) => i.id)).not.to.include(late.body.id);
      const countsAfter = await t.http.get('/api/v1/privacy/requests/counts').set(auth(sales));
      expect(countsAfter.body).to.deep.equal({ open: items.length - 1, overdue: 0 });
      const audited = await t.db.models.AuditEntry.find({
        action: 'privacy.request.update',
      }).lean();
      expect(
        audited.some((a) => (a.details as { requestId?: string }).requestId === late.body.id),
      ).to.equal(true);
    });

    it('pages the register by cursor: every open request once, bad paging refused', async () => {
      for (let i = 0; i < 4; i += 1)
        await t.http
          .post('/api/v1/privacy/requests')
          .set(auth(sales))
          .send({ type: 'objection', email: email('paged'), channel: 'web' })
          .expect(201);
      const all = await t.http
        .get('/api/v1/privacy/requests')
        .query({ limit: '200' })
        .set(auth(sales))
        .expect(200);
      const walked = await readAllPages(t, '/api/v1/privacy/requests', sales, {}, 2);
      expect(walked.ids).to.deep.equal(all.body.items.map((i: { id: string }) => i.id));
      expect(walked.pages).to.equal(Math.ceil(walked.ids.length / 2));
      expect(walked.ids.length).to.be.at.least(4);
      await expectPagingRefusals(t, '/api/v1/privacy/requests', sales);
      await t.http
        .get('/api/v1/privacy/requests')
        .query({ overdue: 'yes' })
        .set(auth(sales))
        .expect(400);
    });

    it('refuses bad input with a 400 naming the field, and roles without privacy rights', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ type: 'forget', email: email(), channel: 'email' }, 'type'],
        [{ type: 'access', email: 'not-an-address', channel: 'email' }, 'email'],
        [{ type: 'access', email: email(), channel: 'pigeon' }, 'channel'],
        [
          { type: 'access', email: email(), channel: 'email', receivedAt: '2099-01-01T00:00:00Z' },
          'receivedAt',
        ],
        [{ type: 'access', email: { $ne: 1 }, channel: 'email' }, '$'],
      ];
      for (const [body, field] of cases) {
        const res = await t.http
          .post('/api/v1/privacy/requests')
          .set(auth(sales))
          .send(body)
          .expect(400);
        expect(res.body.error.message, JSON.stringify(body)).to.include(field);
      }
      await t.http
        .patch('/api/v1/privacy/requests/0123456789abcdef01234567')
        .set(auth(sales))
        .send({ status: 'done' })
        .expect(404);
      await t.http
        .patch('/api/v1/privacy/requests/x')
        .set(auth(sales))
        .send({ status: 'done' })
        .expect(400);
      await t.http
        .post('/api/v1/privacy/requests')
        .set(auth(marketing))
        .send({ type: 'access', email: email(), channel: 'email' })
        .expect(403);
      await t.http.get('/api/v1/privacy/requests').set(auth(auditor)).expect(403);
      await t.http.get('/api/v1/privacy/requests/counts').set(auth(auditor)).expect(403);
      await t.http.get('/api/v1/privacy/requests/counts').set(auth(marketing)).expect(403);
    });

    it('PrivacyRequestService.open serves inbound mail: one message opens one erasure request', async () => {
      const who = email('inbound');
      const a = await t.services.privacyRequests.open({
        type: 'erasure',
        email: who,
        channel: 'email',
        inboundMessageId: 'msg-1',
      });
      const b = await t.services.privacyRequests.open({
        type: 'erasure',
        email: who,
        channel: 'email',
        inboundMessageId: 'msg-1',
      });
      expect(b.id).to.equal(a.id);
      expect(
        await t.db.models.PrivacyRequest.countDocuments({ inboundMessageId: 'msg-1' }),
      ).to.equal(1);
    });
  });
});
