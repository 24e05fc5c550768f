import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { staffToken } from '../../helpers/factories.js';

describe('HTTP foundation', () => {
  let t: TestApp;
  before(async () => {
    t = await bootApp();
  });
  after(async () => t.close());

  it('GET /healthz reports the database', async () => {
    const res = await t.http.get('/healthz').expect(200);
    expect(res.body).to.deep.equal({ status: 'ok', db: 'ok' });
  });

  it('unknown routes get 404 in the error shape', async () => {
    const res = await t.http.get('/nope').expect(404);
    expect(res.body).to.deep.equal({ error: { code: 'not_found', message: 'no such route' } });
    await t.http.post('/api/v1/nope').set('Authorization', `Bearer ${t.adminToken}`).expect(404);
  });

  it('gives every response a request id, and keeps a sane one from the client', async () => {
    const res = await t.http.get('/healthz').set('X-Request-Id', 'abc-123');
    expect(res.headers['x-request-id']).to.equal('abc-123');
    const other = await t.http
      .get('/healthz')
      .set('X-Request-Id', 'bad id with spaces and {braces}');
    expect(other.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
  });

  it('sets security headers', async () => {
    const res = await t.http.get('/healthz');
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers['x-powered-by']).to.equal(undefined);
  });

  it('401 without or with a bad token, 403 without the permission', async () => {
    const none = await t.http.get('/api/v1/me').expect(401);
    expect(none.body.error.code).to.equal('unauthorized');
    expect(none.headers['www-authenticate']).to.equal('Bearer realm="kirje"');
    await t.http
      .get('/api/v1/me')
      .set('Authorization', 'Bearer kirje_not-a-real-token')
      .expect(401);
    await t.http.get('/api/v1/me').set('Authorization', 'Basic abc').expect(401);
    const auditor = await staffToken(t.services, 'auditor');
    // Every staff member may see who they are; lists need lists.read, which auditors lack.
    await t.http.get('/api/v1/me').set('Authorization', `Bearer ${auditor.token}`).expect(200);
    const res = await t.http
      .get('/api/v1/lists')
      .set('Authorization', `Bearer ${auditor.token}`)
      .expect(403);
    expect(res.body.error.code).to.equal('forbidden');
    expect(res.headers['www-authenticate']).to.equal(undefined);
    // Every role may see who it is signed in as.
    const self = await t.http
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${auditor.token}`)
      .expect(200);
    expect(self.body).to.include({ id: auditor.userId, role: 'auditor' });
    const me = await t.http
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${t.adminToken}`)
      .expect(200);
    expect(me.body.role).to.equal('admin');
  });

  it('a revoked token or a disabled user is refused', async () => {
    const user = await t.services.auth.createUser({
      email: 'revoked@example.com',
      role: 'marketing',
    });
    const a = await t.services.auth.createToken(user.id);
    await t.http.get('/api/v1/me').set('Authorization', `Bearer ${a.token}`).expect(200);
    await t.services.auth.revokeToken(a.id);
    await t.http.get('/api/v1/me').set('Authorization', `Bearer ${a.token}`).expect(401);
    const b = await t.services.auth.createToken(user.id);
    await t.services.auth.setDisabled(user.id, true);
    await t.http.get('/api/v1/me').set('Authorization', `Bearer ${b.token}`).expect(401);
  });

  it('refuses "$" operator keys in the query string', async () => {
    const res = await t.http
      .get('/api/v1/me?$where=1')
      .set('Authorization', `Bearer ${t.adminToken}`)
      .expect(400);
    expect(res.body.error.code).to.equal('bad_request');
  });

  it('healthz answers 503 when the database is gone', async () => {
    const other = await bootApp();
    await other.db.connection.close();
    const res = await other.http.get('/healthz').expect(503);
    expect(res.body).to.deep.equal({ status: 'unavailable', db: 'down' });
  });
});
