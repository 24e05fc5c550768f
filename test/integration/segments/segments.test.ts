import { expect } from 'chai';
import { Types } from 'mongoose';
import { parseRules, type Rule } from '../../../src/segments/rules.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { expectPagingRefusals, readAllPages } from '../../helpers/api.js';
import { staffToken } from '../../helpers/factories.js';
import { loadOrderFixture } from './fixture.js';

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => `s${String(from + k).padStart(2, '0')}`);

describe('segments', () => {
  let t: TestApp;
  let names: Record<string, string>;
  let listId: string;
  const auth = () => ({ Authorization: `Bearer ${t.adminToken}` });

  before(async () => {
    t = await bootApp();
    ({ names, listId } = await loadOrderFixture(t.db.models, t.clock));
  });
  after(async () => t.close());

  async function expectMatch(rules: unknown, expected: string[]) {
    const res = await t.http.post('/api/v1/segments/preview').set(auth()).send({ rules });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.count).to.equal(expected.length);
    expect(res.body.sample.map((s: { name: string }) => s.name)).to.deep.equal(
      expected.slice(0, 10),
    );
    const all: string[] = [];
    for await (const page of t.services.segments.matching(parseRules(rules), 4)) {
      all.push(...page.map((s) => names[String(s._id)]!));
    }
    expect(all).to.deep.equal(expected);
  }

  describe('preview against the hand-counted order fixture', () => {
    it('ordered a category within N days', () =>
      expectMatch({ orders: 'category', category: 'shoes', withinDays: 30 }, [
        's01',
        's06',
        's17',
      ]));

    it('total spent over an amount, all time and within N days, per currency', async () => {
      const over100 = { orders: 'totalSpent', op: 'gt', amount: 100, currency: 'EUR' };
      await expectMatch(over100, ['s01', 's03', 's08', 's17']);
      await expectMatch({ ...over100, withinDays: 90 }, ['s01', 's08', 's17']);
      await expectMatch({ ...over100, currency: 'SEK' }, ['s07']);
    });

    it('total spent below an amount includes those who never ordered', () =>
      expectMatch({ orders: 'totalSpent', op: 'lt', amount: 50, currency: 'EUR' }, [
        's02',
        's07',
        ...range(9, 16),
        's18',
        's19',
        's20',
      ]));

    it('order count', async () => {
      await expectMatch({ orders: 'count', op: 'gte', value: 3 }, ['s04']);
      await expectMatch({ orders: 'count', op: 'gte', value: 2 }, ['s01', 's04', 's08']);
      await expectMatch({ orders: 'count', op: 'eq', value: 1, withinDays: 30 }, [
        's01',
        's06',
        's07',
        's17',
        's19',
      ]);
    });

    it('no order since N days (never-ordered included)', () =>
      expectMatch({ orders: 'noneSince', days: 30 }, [
        's02',
        's03',
        's05',
        ...range(8, 16),
        's18',
        's20',
      ]));

    it('all/any nesting with status, categories and counts', () =>
      expectMatch(
        {
          all: [
            { field: 'status', op: 'eq', value: 'subscribed' },
            {
              any: [
                { orders: 'category', category: 'shoes', withinDays: 30 },
                { orders: 'count', op: 'gte', value: 3 },
              ],
            },
          ],
        },
        ['s01', 's04', 's06'],
      ));

    it('any of two all-groups mixing list membership, spend, customer segment and recency', () =>
      expectMatch(
        {
          any: [
            {
              all: [
                { list: 'news' },
                { orders: 'totalSpent', op: 'gt', amount: 100, currency: 'EUR' },
              ],
            },
            {
              all: [
                { field: 'customerSegment', op: 'eq', value: 'vip' },
                { orders: 'noneSince', days: 3 },
              ],
            },
          ],
        },
        ['s01', 's03', 's04', 's08'],
      ));

    it('attributes and list non-membership (by id)', async () => {
      await expectMatch(
        {
          all: [
            { attribute: 'tier', op: 'in', value: ['gold', 'silver'] },
            { list: listId, member: false },
          ],
        },
        ['s11'],
      );
      await expectMatch({ attribute: 'age', op: 'gt', value: 40 }, ['s02', 's03']);
      await expectMatch({ list: 'news', status: ['unsubscribed', 'unconfirmed'] }, ['s11', 's12']);
    });

    it('field conditions: exists, contains, locale, four levels deep', async () => {
      await expectMatch(
        { field: 'customerSegment', op: 'exists', value: false },
        range(1, 20).filter((n) => !['s01', 's04', 's07', 's10', 's11'].includes(n)),
      );
      await expectMatch({ field: 'email', op: 'contains', value: 'S1' }, range(10, 19));
      await expectMatch(
        { all: [{ any: [{ all: [{ any: [{ field: 'locale', op: 'eq', value: 'sv' }] }] }] }] },
        ['s05'],
      );
    });

    it('not: the complement of a plain condition, of a fact, and of a nested group', async () => {
      const everyone = range(1, 20);
      await expectMatch(
        { not: { field: 'email', op: 'contains', value: 'S1' } },
        everyone.filter((n) => !range(10, 19).includes(n)),
      );
      await expectMatch(
        { not: { orders: 'category', category: 'shoes', withinDays: 30 } },
        everyone.filter((n) => !['s01', 's06', 's17'].includes(n)),
      );
      // Subscribed, and not (shoes lately or three orders): the nesting test's group, negated.
      const subscribed = await t.http
        .post('/api/v1/segments/preview')
        .set(auth())
        .send({ rules: { field: 'status', op: 'eq', value: 'subscribed' } });
      expect(subscribed.status).to.equal(200);
      const res = await t.http
        .post('/api/v1/segments/preview')
        .set(auth())
        .send({
          rules: {
            all: [
              { field: 'status', op: 'eq', value: 'subscribed' },
              {
                not: {
                  any: [
                    { orders: 'category', category: 'shoes', withinDays: 30 },
                    { orders: 'count', op: 'gte', value: 3 },
                  ],
                },
              },
            ],
          },
        });
      expect(res.status).to.equal(200);
      expect(res.body.count).to.equal(subscribed.body.count - 3);
      await expectMatch({ not: { not: { field: 'locale', op: 'eq', value: 'sv' } } }, ['s05']);
    });

    it('a value that looks like an operator is only ever a literal', () =>
      expectMatch({ field: 'name', op: 'eq', value: '$where' }, []));

    it('counts by set algebra exactly what the database counts with the compiled filter', async () => {
      // An order of a subscriber who is gone: named by the facts, counted by neither.
      await t.db.models.Order.create({
        externalId: `gone-${Date.now()}`,
        subscriberId: new Types.ObjectId(),
        orderedAt: t.clock.now(),
        totalCents: 99_900,
        currency: 'EUR',
        categories: ['shoes'],
      });
      const shoes = { orders: 'category', category: 'shoes' };
      const recent = { orders: 'noneSince', days: 30 };
      const rich = { orders: 'totalSpent', op: 'gt', amount: 100, currency: 'EUR' };
      const poor = { orders: 'totalSpent', op: 'lt', amount: 50, currency: 'EUR' };
      const vip = { field: 'customerSegment', op: 'eq', value: 'vip' };
      const sv = { field: 'locale', op: 'eq', value: 'sv' };
      const rules: unknown[] = [
        shoes,
        rich,
        recent,
        poor,
        { list: 'news', member: false },
        { all: [recent, poor] },
        { any: [recent, poor] },
        { any: [recent, vip] },
        { any: [shoes, { all: [recent, { list: 'news' }] }] },
        { all: [{ any: [vip, sv] }, { any: [recent, rich] }] },
        { any: [{ all: [vip, recent] }, { all: [sv, { any: [shoes, poor] }] }] },
        { all: [{ field: 'status', op: 'neq', value: 'subscribed' }, { any: [poor, shoes] }] },
        { not: { any: [recent, poor] } },
        { all: [vip, { not: { all: [sv, shoes] } }] },
      ];
      for (const raw of rules) {
        const parsed = parseRules(raw);
        const byDatabase = await t.db.models.Subscriber.countDocuments(
          await t.services.segments.compile(parsed),
        );
        expect(await t.services.segments.count(parsed), JSON.stringify(raw)).to.equal(byDatabase);
      }
    });

    it('sample emails are masked', async () => {
      const res = await t.http
        .post('/api/v1/segments/preview')
        .set(auth())
        .send({ rules: { field: 'name', op: 'eq', value: 's01' } })
        .expect(200);
      expect(res.body.sample).to.deep.equal([
        {
          id: res.body.sample[0].id,
          name: 's01',
          email: 's0***@example.com',
          status: 'subscribed',
        },
      ]);
    });
  });

  describe('refuses what is not in the language', () => {
    const bad: Array<[string, unknown]> = [
      ['an operator object as a value', { field: 'status', op: 'eq', value: { $gt: '' } }],
      ['$where', { $where: 'sleep(1000)' }],
      ['$expr inside a group', { all: [{ $expr: { $eq: [1, 1] } }] }],
      ['$nor', { $nor: [{ field: 'status', op: 'eq', value: 'subscribed' }] }],
      ['$or spelled by hand', { any: [{ $or: [] }] }],
      ['the identity number', { field: 'hetuSealed', op: 'exists', value: true }],
      ['an unknown field', { field: 'password', op: 'eq', value: 'x' }],
      ['an unknown operator', { field: 'name', op: 'regex', value: '.*' }],
      ['a dotted attribute key', { attribute: 'a.b', op: 'eq', value: 1 }],
      ['an extra key', { field: 'name', op: 'eq', value: 'x', $options: 'i' }],
      ['an extra plain key', { field: 'name', op: 'eq', value: 'x', path: 'hetuSealed' }],
      ['a status outside the enum', { field: 'status', op: 'eq', value: 'anything' }],
      ['an unknown list', { list: 'nope' }],
      ['an empty group', { all: [] }],
      [
        'five levels of groups',
        {
          all: [
            { any: [{ all: [{ any: [{ all: [{ field: 'locale', op: 'eq', value: 'fi' }] }] }] }] },
          ],
        },
      ],
      [
        'more than 50 conditions',
        {
          any: Array.from({ length: 6 }, () => ({
            all: Array.from({ length: 9 }, () => ({ field: 'locale', op: 'eq', value: 'fi' })),
          })),
        },
      ],
    ];
    for (const [what, rules] of bad) {
      it(`400 for ${what}`, async () => {
        const res = await t.http.post('/api/v1/segments/preview').set(auth()).send({ rules });
        expect(res.status, JSON.stringify(res.body)).to.equal(400);
        expect(res.body.error.code).to.be.oneOf(['bad_request', 'validation_failed']);
      });
    }

    it('400 (not 500) for hostile nesting thousands deep', async () => {
      let rules: unknown = { field: 'locale', op: 'eq', value: 'fi' };
      for (let i = 0; i < 3000; i++) rules = { all: [rules] };
      const res = await t.http.post('/api/v1/segments/preview').set(auth()).send({ rules });
      expect(res.status).to.equal(400);
    });

    it('the validator alone refuses operator objects (without the JSON body guard)', () => {
      const attempts: unknown[] = [
        { field: 'status', op: 'eq', value: { $gt: '' } },
        { $where: '1' },
        { all: [{ field: 'status', op: 'in', value: [{ $ne: null }] }] },
        { attribute: '$where', op: 'exists', value: true },
      ];
      for (const rules of attempts) expect(() => parseRules(rules as Rule)).to.throw(/rules/);
    });
  });

  describe('saved segments', () => {
    it('create, read, list, count, update, delete', async () => {
      const rules = { orders: 'count', op: 'gte', value: 2 };
      const created = await t.http
        .post('/api/v1/segments')
        .set(auth())
        .send({ name: 'Repeat buyers', rules })
        .expect(201);
      const id = created.body.id as string;
      expect(created.body).to.include({ name: 'Repeat buyers', description: '' });
      const got = await t.http.get(`/api/v1/segments/${id}`).set(auth()).expect(200);
      expect(got.body.rules).to.deep.equal(rules);
      const list = await t.http.get('/api/v1/segments').set(auth()).expect(200);
      expect(list.body.items.map((s: { id: string }) => s.id)).to.include(id);
      const count = await t.http.get(`/api/v1/segments/${id}/count`).set(auth()).expect(200);
      expect(count.body).to.deep.equal({ id, count: 3 });
      await t.http
        .patch(`/api/v1/segments/${id}`)
        .set(auth())
        .send({ rules: { orders: 'count', op: 'gte', value: 3 } })
        .expect(200);
      const after = await t.http.get(`/api/v1/segments/${id}/count`).set(auth()).expect(200);
      expect(after.body.count).to.equal(1);
      await t.http
        .patch(`/api/v1/segments/${id}`)
        .set(auth())
        .send({ rules: { $where: '1' } })
        .expect(400);
      await t.http.delete(`/api/v1/segments/${id}`).set(auth()).expect(204);
      await t.http.get(`/api/v1/segments/${id}`).set(auth()).expect(404);
      await t.http.get('/api/v1/segments/not-an-id').set(auth()).expect(404);
    });

    it('lists saved segments paged by cursor, oldest first; bad paging refused', async () => {
      for (const name of ['Paged A', 'Paged B', 'Paged C'])
        await t.http
          .post('/api/v1/segments')
          .set(auth())
          .send({ name, rules: { field: 'locale', op: 'eq', value: 'fi' } })
          .expect(201);
      const all = await t.http.get('/api/v1/segments').query({ limit: '200' }).set(auth());
      const ids = all.body.items.map((s: { id: string }) => s.id) as string[];
      expect(ids).to.deep.equal([...ids].sort());
      const walked = await readAllPages(t, '/api/v1/segments', t.adminToken, {}, 2);
      expect(walked.ids).to.deep.equal(ids);
      expect(walked.pages).to.equal(Math.ceil(ids.length / 2));
      await expectPagingRefusals(t, '/api/v1/segments', t.adminToken);
      const auditor = await staffToken(t.services, 'auditor');
      await t.http.get('/api/v1/segments').auth(auditor.token, { type: 'bearer' }).expect(403);
    });

    it('needs segments.write to save and segments.read to preview', async () => {
      const sales = await staffToken(t.services, 'sales');
      const auditor = await staffToken(t.services, 'auditor');
      await t.http
        .post('/api/v1/segments')
        .set({ Authorization: `Bearer ${sales.token}` })
        .send({ name: 'x', rules: { field: 'locale', op: 'eq', value: 'fi' } })
        .expect(403);
      await t.http
        .post('/api/v1/segments/preview')
        .set({ Authorization: `Bearer ${auditor.token}` })
        .send({ rules: { field: 'locale', op: 'eq', value: 'fi' } })
        .expect(403);
      await t.http.get('/api/v1/segments').expect(401);
    });
  });
});
