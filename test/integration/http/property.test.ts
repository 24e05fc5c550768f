import { expect } from 'chai';
import fc from 'fast-check';
import type { Express } from 'express';
import { z } from 'zod';
import { adminRoutes } from '../../../src/http/admin-routes.js';
import { bootApp, type TestApp } from '../../helpers/app.js';

/**
 * Hostile input to every route the app serves, public and admin, read from the app's own router
 * (so a new route is covered the day it is mounted): random bytes, random percent-encodings in
 * path parameters, random JSON shapes (also built from each body schema's own field names) and
 * random query strings. Whatever arrives, the answer is below 500, errors have their shape, and
 * the service keeps answering. KIRJE_PROPERTY_RUNS raises the runs per route.
 */
const RUNS = Number(process.env.KIRJE_PROPERTY_RUNS ?? 8);

interface Mounted {
  method: string;
  path: string;
}

/** Every route of the app with its full path: Express 5 keeps each mount path as `rawPath`. */
function mountedRoutes(app: Express): Mounted[] {
  type Layer = {
    route?: { path: string; methods: Record<string, boolean> };
    handle: { stack?: Layer[] };
    rawPath?: string;
  };
  const out: Mounted[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods))
          out.push({ method, path: prefix + layer.route.path });
      } else if (layer.handle.stack) {
        const mount =
          typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}

/** Top-level field names of a body schema (both arms of a union). */
function fieldsOf(schema: z.ZodType | undefined): string[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, unknown>;
    anyOf?: Array<{ properties?: Record<string, unknown> }>;
  };
  return [...new Set((json.anyOf ?? [json]).flatMap((a) => Object.keys(a.properties ?? {})))];
}

const hex = (b: number) => `%${b.toString(16).padStart(2, '0')}`;
/** A path segment: encoded text, raw bytes percent-encoded (often not UTF-8), or broken escapes. */
const segment = fc.oneof(
  fc.string({ maxLength: 30 }).map((s) => encodeURIComponent(s) || 'x'),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((bytes) => [...bytes].map(hex).join('')),
  fc.constantFrom('%', '%f', '%zz', '%ff', '%c0%af', '%ed%a0%80', '%2e%2e', '%00', 'a%'),
  fc.stringMatching(/^[0-9a-f]{24}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{10,80}\.[A-Za-z0-9_-]{10,40}$/),
);
const queryString = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('limit', 'cursor', 'email', 'name', 'list', 'lang', 'attr.x'),
        segment,
      ),
      fc.oneof(segment, fc.constantFrom('0x10', '-1', '1e3', '', '[]', '{}')),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
const contentType = fc.constantFrom(
  'application/json',
  'text/plain',
  'text/csv',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'multipart/form-data',
  'message/rfc822',
  'application/octet-stream',
  'application/json; charset=latin9',
);
type Body = { type: string; data: string | Buffer } | null;
const bodyFor = (fields: string[]): fc.Arbitrary<Body> =>
  fc.oneof(
    fc.constant(null),
    fc
      .jsonValue({ maxDepth: 4 })
      .map((v) => ({ type: 'application/json', data: JSON.stringify(v) })),
    fc
      .dictionary(
        fields.length ? fc.constantFrom(...fields) : fc.string(),
        fc.jsonValue({ maxDepth: 3 }),
        {
          maxKeys: 6,
        },
      )
      .map((v) => ({ type: 'application/json', data: JSON.stringify(v) })),
    fc.tuple(contentType, fc.uint8Array({ maxLength: 300 })).map(([type, bytes]) => ({
      type,
      data: Buffer.from(bytes),
    })),
    fc.tuple(contentType, fc.string({ maxLength: 200 })).map(([type, data]) => ({ type, data })),
  );

describe('property: hostile input to every route', function () {
  this.timeout(300_000);
  let t: TestApp;
  before(async () => {
    t = await bootApp();
  });
  after(async () => t.close());

  it('the route table is read from the app, public and admin routes alike', () => {
    const routes = mountedRoutes(t.app);
    const paths = routes.map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(paths).to.include.members([
      'GET /healthz',
      'POST /u/:token',
      'GET /subscribe/confirm/:token',
      'POST /subscribe',
      'GET /api/v1/lists',
      'PATCH /api/v1/users/:id',
    ]);
    expect(routes.filter((r) => r.path.startsWith('/api/v1/')).length).to.be.greaterThan(
      adminRoutes({} as never).length,
    );
  });

  it('no route answers 5xx or breaks the error shape, whatever it is sent', async () => {
    // Routes are read from the booted app: they exist only once it is built.
    const table = adminRoutes({} as never);
    for (const { method, path } of mountedRoutes(t.app)) {
      const admin = path.startsWith('/api/');
      const def = table.find((r) => r.method === method && `/api/v1${r.path}` === path);
      const params = path.match(/:\w+/g) ?? [];
      await fc.assert(
        fc.asyncProperty(
          fc.array(segment, { minLength: params.length, maxLength: params.length }),
          queryString,
          bodyFor(fieldsOf(def?.body)),
          fc.boolean(),
          async (values, query, body, withToken) => {
            let url = path;
            params.forEach((p, i) => (url = url.replace(p, values[i]!)));
            if (query) url += `?${query}`;
            let req = t.http[method as 'post'](url);
            if (admin && withToken) req = req.set('Authorization', `Bearer ${t.adminToken}`);
            if (body) req = req.set('Content-Type', body.type).send(body.data);
            const res = await req;
            const context = `${method.toUpperCase()} ${url} ${JSON.stringify(body)} -> ${res.status} ${res.text.slice(0, 300)}`;
            expect(res.status, context).to.be.below(500);
            if (res.status >= 400) {
              if (admin || /json/.test(res.headers['content-type'] ?? '')) {
                expect(res.body?.error?.code, context).to.be.a('string');
                expect(res.body.error.message, context).to.be.a('string');
              } else {
                expect(res.headers['content-type'], context).to.match(/^text\/html/);
              }
            }
          },
        ),
        { numRuns: RUNS, endOnFailure: true },
      );
    }
  });

  it('is still up and sound after all of it', async () => {
    await t.http.get('/healthz').expect(200);
    await t.http.get('/api/v1/me').set('Authorization', `Bearer ${t.adminToken}`).expect(200);
  });
});
