import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { expect } from 'chai';
import { adminRoutes } from '../../../src/http/admin-routes.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList } from '../../helpers/api.js';
import { email } from '../../helpers/factories.js';

// ajv-formats is CommonJS; under ESM its function arrives as the default export's default.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default;

interface OpenApiDoc {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        'x-permission': string;
        responses: Record<string, { content?: { 'application/json': { schema: object } } }>;
      }
    >
  >;
  components: { schemas: Record<string, object> };
}

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: OpenApiDoc;
  let ajv: Ajv2020;
  before(async () => {
    t = await bootApp();
    doc = (await t.http.get('/api/v1/openapi.json').expect(200)).body as OpenApiDoc;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ components: doc.components }, 'doc');
  });
  after(async () => t.close());

  /** Validates a real answer against the documented schema of that operation and status. */
  function check(path: string, method: string, status: number, body: unknown): void {
    const op = doc.paths[path]?.[method];
    expect(op, `${method} ${path} documented`).to.not.equal(undefined);
    const schema = op!.responses[String(status)]?.content?.['application/json'].schema;
    expect(schema, `${method} ${path} ${status} schema`).to.not.equal(undefined);
    const validate = ajv.compile(
      JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')),
    );
    expect(validate(body), JSON.stringify(validate.errors)).to.equal(true);
  }

  it('is OpenAPI 3.1 and documents every admin route with its permission, without auth', () => {
    expect(doc.openapi).to.equal('3.1.0');
    for (const route of adminRoutes({} as never)) {
      const path = `/api/v1${route.path.replace(/:(\w+)/g, '{$1}')}`;
      expect(doc.paths[path]?.[route.method]?.['x-permission'], path).to.equal(route.permission);
    }
  });

  it('validates with an independent OpenAPI validator, every $ref resolving', async () => {
    // validate() dereferences in place; it gets its own copy.
    const copy = JSON.parse(JSON.stringify(doc)) as Parameters<typeof SwaggerParser.validate>[0];
    await SwaggerParser.validate(copy);
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.some((r) => r.startsWith('#/components/schemas/Shared'))).to.equal(true);
    expect(refs.filter((r) => !r.startsWith('#/components/schemas/'))).to.deep.equal([]);
  });

  it('matches real answers of lists, subscribers, orders, users and errors', async () => {
    const auth = { type: 'bearer' as const };
    const list = await createList(t, { thankYouUrl: 'https://shop.example.com/kiitos' });
    const lists = await t.http.get('/api/v1/lists').auth(t.adminToken, auth).expect(200);
    check('/api/v1/lists', 'get', 200, lists.body);

    const created = await t.http
      .post('/api/v1/subscribers')
      .auth(t.adminToken, auth)
      .send({
        email: email(),
        name: 'Testi',
        lists: [list.slug],
        attributes: { a: 1, b: 'x', c: false },
        address: { city: 'Oulu' },
        hetu: '010594Y9021',
        status: 'subscribed',
      })
      .expect(201);
    check('/api/v1/subscribers', 'post', 201, created.body);
    const one = await t.http
      .get(`/api/v1/subscribers/${created.body.id}`)
      .auth(t.adminToken, auth)
      .expect(200);
    check('/api/v1/subscribers/{id}', 'get', 200, one.body);
    const found = await t.http
      .get('/api/v1/subscribers')
      .query({ limit: '1' })
      .auth(t.adminToken, auth)
      .expect(200);
    check('/api/v1/subscribers', 'get', 200, found.body);

    const orders = await t.http
      .post('/api/v1/orders')
      .auth(t.adminToken, auth)
      .send({
        externalId: 'oa-1',
        email: created.body.email,
        orderedAt: '2026-01-01T10:00:00Z',
        total: '10.00',
        currency: 'EUR',
      })
      .expect(200);
    check('/api/v1/orders', 'post', 200, orders.body);

    const users = await t.http.get('/api/v1/users').auth(t.adminToken, auth).expect(200);
    check('/api/v1/users', 'get', 200, users.body);

    await t.services.unsubscribe.unsubscribe({
      subscriberId: created.body.id,
      scope: { all: true },
      channel: 'staff',
      reason: 'staff',
    });
    const optOuts = await t.http
      .get(`/api/v1/subscribers/${created.body.id}/opt-outs`)
      .auth(t.adminToken, auth)
      .expect(200);
    expect(optOuts.body.items).to.have.length(1);
    check('/api/v1/subscribers/{id}/opt-outs', 'get', 200, optOuts.body);
    await t.http
      .post('/api/v1/privacy/requests')
      .auth(t.adminToken, auth)
      .send({ type: 'access', email: created.body.email, channel: 'email' })
      .expect(201);
    const requests = await t.http
      .get('/api/v1/privacy/requests')
      .auth(t.adminToken, auth)
      .expect(200);
    check('/api/v1/privacy/requests', 'get', 200, requests.body);
    const counts = await t.http
      .get('/api/v1/privacy/requests/counts')
      .auth(t.adminToken, auth)
      .expect(200);
    check('/api/v1/privacy/requests/counts', 'get', 200, counts.body);

    const conflict = await t.http
      .post('/api/v1/subscribers')
      .auth(t.adminToken, auth)
      .send({ email: created.body.email })
      .expect(409);
    check('/api/v1/subscribers', 'post', 409, conflict.body);
  });

  it('rejects an answer that does not match (the check can fail)', () => {
    expect(() => check('/api/v1/lists', 'get', 200, { items: [{ id: 'nope' }] })).to.throw();
  });
});
