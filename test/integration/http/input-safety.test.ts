import { expect } from 'chai';
import { z } from 'zod';
import { adminRoutes } from '../../../src/http/admin-routes.js';
import { emptyBody } from '../../../src/http/schemas.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList, createSubscriber } from '../../helpers/api.js';

const OPERATORS: unknown[] = [
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(100)' },
  { $regex: '.*' },
];

/** Top-level field names a schema accepts (both arms of a union). */
function fieldsOf(schema: z.ZodType): string[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, unknown>;
    anyOf?: Array<{ properties?: Record<string, unknown> }>;
  };
  const arms = json.anyOf ?? [json];
  return [...new Set(arms.flatMap((a) => Object.keys(a.properties ?? {})))];
}

describe('admin API input safety', () => {
  let t: TestApp;
  let ids: Record<string, string>;
  before(async () => {
    t = await bootApp();
    const me = await t.http.get('/api/v1/me').auth(t.adminToken, { type: 'bearer' });
    ids = {
      lists: (await createList(t)).id,
      subscribers: (await createSubscriber(t)).id,
      users: me.body.id,
      tokens: '0123456789abcdef01234567',
    };
  });
  after(async () => t.close());

  const routes = adminRoutes({} as never);
  const pathOf = (path: string) =>
    `/api/v1${path.replace(
      /^\/(\w+)\/:id/,
      (_m, family: string) =>
        // Families other tests own get an unknown id: operator refusal comes before any lookup.
        `/${family}/${ids[family] ?? '0123456789abcdef01234567'}`,
    )}`;
  const send = (method: string, path: string) =>
    t.http[method as 'post'](pathOf(path)).auth(t.adminToken, { type: 'bearer' });

  for (const route of routes.filter((r) => r.body)) {
    it(`${route.method.toUpperCase()} ${route.path} refuses operator objects in every field`, async () => {
      const fields = fieldsOf(route.body!);
      // Only a body schema that is a strict empty object may list no field; it still gets the
      // top-level operator check below.
      if (route.body !== emptyBody) expect(fields.length).to.be.greaterThan(0);
      for (const field of fields) {
        for (const op of OPERATORS) {
          const res = await send(route.method, route.path).send({ [field]: op });
          expect(res.status, `${field}: ${JSON.stringify(op)}`).to.equal(400);
          expect(res.body.error.code).to.be.oneOf(['bad_request', 'validation_failed']);
        }
        const nested = await send(route.method, route.path).send({
          [field]: { inner: { $gt: '' } },
        });
        expect(nested.status, `${field} nested`).to.equal(400);
      }
      const topLevel = await send(route.method, route.path).send({ $where: '1' });
      expect(topLevel.status).to.equal(400);
    });
  }

  for (const route of routes.filter((r) => r.query)) {
    it(`${route.method.toUpperCase()} ${route.path} refuses operator syntax in every query parameter`, async () => {
      const json = z.toJSONSchema(route.query!, { io: 'input', unrepresentable: 'any' }) as {
        properties: Record<string, unknown>;
      };
      for (const field of [...Object.keys(json.properties), 'attr.city']) {
        for (const suffix of ['[$gt]=', '[$ne]=x', '[gt]=a', '.$where=1']) {
          const res = await send(route.method, route.path).query(`${field}${suffix}`);
          expect(res.status, `${field}${suffix}`).to.equal(400);
        }
      }
    });
  }

  it('refuses bodies over 1 MB with 413, on every family', async () => {
    const big = 'x'.repeat(1024 * 1024 + 10);
    for (const [path, body] of [
      ['/api/v1/subscribers', { email: 'a@example.com', name: big }],
      ['/api/v1/orders', { orders: [{ externalId: big }] }],
      ['/api/v1/lists', { name: big }],
      ['/api/v1/users', { email: big }],
    ] as const) {
      const res = await t.http.post(path).auth(t.adminToken, { type: 'bearer' }).send(body);
      expect(res.status, path).to.equal(413);
      expect(res.body.error.code).to.equal('payload_too_large');
    }
  });

  it('refuses malformed JSON and non-object bodies with 400, not 500', async () => {
    const res = await t.http
      .post('/api/v1/subscribers')
      .auth(t.adminToken, { type: 'bearer' })
      .set('Content-Type', 'application/json')
      .send('{"email":');
    expect(res.status).to.equal(400);
    for (const body of [[], ['a@example.com'], 'a@example.com']) {
      const r = await t.http
        .post('/api/v1/subscribers')
        .auth(t.adminToken, { type: 'bearer' })
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(body));
      expect(r.status, JSON.stringify(body)).to.equal(400);
    }
  });
});
