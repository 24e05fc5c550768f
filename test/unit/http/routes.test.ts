import { expect } from 'chai';
import { PERMISSIONS } from '../../../src/auth/permissions.js';
import { adminRoutes } from '../../../src/http/admin-routes.js';
import type { Services } from '../../../src/services.js';

// The handlers are never called here, so the table can be built without services.
const routes = adminRoutes({} as Services);

describe('admin route table', () => {
  it('has at least the lists, subscribers, orders and users families', () => {
    const paths = new Set(routes.map((r) => r.path));
    for (const p of ['/lists', '/subscribers', '/subscribers/:id', '/orders', '/users'])
      expect(paths, p).to.include(p);
  });

  for (const route of routes) {
    const name = `${route.method.toUpperCase()} ${route.path}`;
    it(`${name} declares a permission, a summary and its schemas`, () => {
      expect([...PERMISSIONS, 'signed-in', 'public'], 'permission').to.include(route.permission);
      expect(route.summary, 'summary').to.be.a('string').with.length.above(0);
      if (route.successStatus !== 204)
        expect(route.response, 'response schema').to.not.equal(undefined);
      if (['post', 'put', 'patch'].includes(route.method) && !route.rawBody)
        expect(route.body, 'body schema').to.not.equal(undefined);
    });
  }

  it('leaves only signing in open to anyone', () => {
    const open = routes
      .filter((r) => r.permission === 'public')
      .map((r) => `${r.method} ${r.path}`);
    expect(open).to.deep.equal(['post /session']);
  });

  it('declares each method and path once', () => {
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).to.equal(keys.length);
  });
});
