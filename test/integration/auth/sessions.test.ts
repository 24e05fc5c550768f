import { expect } from 'chai';
import { Secret, TOTP } from 'otpauth';
import { ROLES, can, type Role } from '../../../src/auth/permissions.js';
import { ATTEMPTS_PER_ACCOUNT, ATTEMPTS_PER_IP } from '../../../src/auth/sessions.js';
import { adminRoutes } from '../../../src/http/admin-routes.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { testServerUri } from '../../helpers/db.js';
import { email } from '../../helpers/factories.js';
import { runCli } from '../../helpers/service-process.js';

const PASSWORD = 'correct horse battery staple';

/** `kirje_session=…` from a Set-Cookie answer, ready for a Cookie header. */
function sessionCookie(setCookie: string[] | string | undefined): string {
  const line = [setCookie ?? []].flat().find((c) => c.startsWith('kirje_session='));
  if (!line) throw new Error('no session cookie set');
  return line.split(';')[0]!;
}

describe('staff sessions (cookie sign-in)', () => {
  let t: TestApp;
  before(async () => {
    t = await bootApp({ env: { ADMIN_SESSION_IDLE_MINUTES: '30', ADMIN_SESSION_MAX_HOURS: '12' } });
  });
  after(async () => t.close());

  async function user(role: Role): Promise<string> {
    const address = email(role);
    await t.services.auth.createUser({ email: address, role, password: PASSWORD });
    return address;
  }

  async function signIn(address: string, extra: Record<string, string> = {}) {
    const res = await t.http
      .post('/api/v1/session')
      .send({ email: address, password: PASSWORD, ...extra })
      .expect(200);
    return {
      cookie: sessionCookie(res.headers['set-cookie']),
      csrf: res.body.csrfToken as string,
      setCookie: [res.headers['set-cookie']].flat().join('\n'),
      body: res.body,
    };
  }

  it('sets an HttpOnly, SameSite=Strict, Secure cookie (BASE_URL is https) and answers /me', async () => {
    const address = await user('marketing');
    const s = await signIn(address);
    expect(s.setCookie).to.match(/kirje_session=[\w-]{40,};/);
    expect(s.setCookie).to.match(/; HttpOnly/);
    expect(s.setCookie).to.match(/; SameSite=Strict/);
    expect(s.setCookie).to.match(/; Secure/);
    expect(s.setCookie).to.match(/; Path=\//);
    expect(s.body).to.include({ email: address, role: 'marketing', mustEnrolTotp: false });
    expect(s.body.permissions).to.include('campaigns.send');
    const me = await t.http.get('/api/v1/me').set('Cookie', s.cookie).expect(200);
    expect(me.body.email).to.equal(address);
    expect(me.body.csrfToken).to.equal(s.csrf);
    // Only the hash of the cookie's id is stored.
    const stored = await t.db.models.StaffSession.find().lean();
    const value = s.cookie.split('=')[1]!;
    expect(JSON.stringify(stored)).to.not.include(value);
  });

  it('is not Secure over plain http', async () => {
    const plain = await bootApp({ env: { BASE_URL: 'http://localhost:3000' } });
    try {
      const address = email('plain');
      await plain.services.auth.createUser({ email: address, role: 'admin', password: PASSWORD });
      const res = await plain.http
        .post('/api/v1/session')
        .send({ email: address, password: PASSWORD })
        .expect(200);
      expect([res.headers['set-cookie']].flat().join()).to.not.match(/Secure/);
    } finally {
      await plain.close();
    }
  });

  it('refuses a cookie write without the CSRF token, and with a wrong one; accepts the right one', async () => {
    const s = await signIn(await user('marketing'));
    const body = { name: 'CSRF', slug: `csrf-${Date.now()}`, doubleOptIn: false };
    const none = await t.http.post('/api/v1/lists').set('Cookie', s.cookie).send(body).expect(403);
    expect(none.body.error.message).to.match(/CSRF/);
    await t.http
      .post('/api/v1/lists')
      .set('Cookie', s.cookie)
      .set('X-CSRF-Token', `${s.csrf.slice(0, -1)}x`)
      .send(body)
      .expect(403);
    expect(await t.db.models.List.countDocuments({ slug: body.slug })).to.equal(0);
    await t.http
      .post('/api/v1/lists')
      .set('Cookie', s.cookie)
      .set('X-CSRF-Token', s.csrf)
      .send(body)
      .expect(201);
    // Bearer calls need no CSRF token: no browser attaches them on its own.
    await t.http
      .post('/api/v1/lists')
      .auth(t.adminToken, { type: 'bearer' })
      .send({ ...body, slug: `${body.slug}-b` })
      .expect(201);
  });

  it('ends after the idle timeout, and after the absolute limit however busy', async () => {
    const idle = await signIn(await user('sales'));
    t.clock.advance(29 * 60_000);
    await t.http.get('/api/v1/me').set('Cookie', idle.cookie).expect(200);
    t.clock.advance(29 * 60_000);
    // Still alive: the request above renewed it.
    await t.http.get('/api/v1/me').set('Cookie', idle.cookie).expect(200);
    t.clock.advance(31 * 60_000);
    const ended = await t.http.get('/api/v1/me').set('Cookie', idle.cookie).expect(401);
    expect(ended.body.error.code).to.equal('unauthorized');

    const busy = await signIn(await user('sales'));
    for (let h = 0; h < 12 * 4; h++) {
      t.clock.advance(15 * 60_000);
      const res = await t.http.get('/api/v1/me').set('Cookie', busy.cookie);
      if (h < 12 * 4 - 1) expect(res.status, `after ${(h + 1) * 15} min`).to.equal(200);
      else expect(res.status, 'at 12 h').to.equal(401);
    }
  });

  it('sweeps expired sessions from the database', async () => {
    await signIn(await user('sales'));
    t.clock.advance(13 * 3_600_000);
    await t.services.sessions.sweepExpired();
    expect(await t.db.models.StaffSession.countDocuments()).to.equal(0);
  });

  it('signs out one session, and everywhere', async () => {
    const address = await user('marketing');
    const a = await signIn(address);
    const b = await signIn(address);
    const c = await signIn(address);
    await t.http
      .delete('/api/v1/session')
      .set('Cookie', a.cookie)
      .set('X-CSRF-Token', a.csrf)
      .expect(204);
    await t.http.get('/api/v1/me').set('Cookie', a.cookie).expect(401);
    await t.http.get('/api/v1/me').set('Cookie', b.cookie).expect(200);
    const all = await t.http
      .delete('/api/v1/sessions')
      .set('Cookie', b.cookie)
      .set('X-CSRF-Token', b.csrf)
      .expect(200);
    expect(all.body.ended).to.equal(2);
    await t.http.get('/api/v1/me').set('Cookie', b.cookie).expect(401);
    await t.http.get('/api/v1/me').set('Cookie', c.cookie).expect(401);
  });

  it('gives one answer for an unknown address and a wrong password, and refuses disabled users', async () => {
    const address = await user('sales');
    const unknown = await t.http
      .post('/api/v1/session')
      .send({ email: email('nobody'), password: PASSWORD })
      .expect(401);
    const wrong = await t.http
      .post('/api/v1/session')
      .send({ email: address, password: 'not the password' })
      .expect(401);
    expect(unknown.body).to.deep.equal(wrong.body);
    expect(unknown.headers['set-cookie']).to.equal(undefined);
    const s = await signIn(address);
    const id = (await t.services.auth.findUserByEmail(address)).id;
    await t.services.auth.setDisabled(id, true);
    await t.http.get('/api/v1/me').set('Cookie', s.cookie).expect(401);
    const disabled = await t.http
      .post('/api/v1/session')
      .send({ email: address, password: PASSWORD })
      .expect(401);
    expect(disabled.body).to.deep.equal(wrong.body);
  });

  // Each refused attempt costs an argon2 verification on purpose; on a loaded machine that adds up.
  it('throttles attempts per account, known or not, even with the right password', async function () {
    this.timeout(180_000);
    const address = await user('marketing');
    for (let i = 0; i < ATTEMPTS_PER_ACCOUNT; i++)
      await t.http.post('/api/v1/session').send({ email: address, password: 'guess' }).expect(401);
    const limited = await t.http
      .post('/api/v1/session')
      .send({ email: address, password: PASSWORD })
      .expect(429);
    expect(limited.body.error.code).to.equal('rate_limited');
    const stranger = email('stranger');
    for (let i = 0; i < ATTEMPTS_PER_ACCOUNT; i++)
      await t.http.post('/api/v1/session').send({ email: stranger, password: 'x' }).expect(401);
    await t.http.post('/api/v1/session').send({ email: stranger, password: 'x' }).expect(429);
    t.clock.advance(16 * 60_000);
    await signIn(address);
  });

  it('throttles attempts per IP across accounts', async function () {
    this.timeout(300_000);
    t.clock.advance(16 * 60_000);
    const statuses: number[] = [];
    for (let i = 0; i <= ATTEMPTS_PER_IP; i++)
      statuses.push(
        (await t.http.post('/api/v1/session').send({ email: email('spray'), password: 'x' }))
          .status,
      );
    expect(statuses.slice(0, ATTEMPTS_PER_IP).every((s) => s === 401)).to.equal(true);
    expect(statuses.at(-1)).to.equal(429);
    t.clock.advance(16 * 60_000);
  });

  it('asks for a TOTP code after the right password, accepts each code once, and recovery codes', async () => {
    const address = await user('marketing');
    const s = await signIn(address);
    const begun = await t.http
      .post('/api/v1/me/totp')
      .set('Cookie', s.cookie)
      .set('X-CSRF-Token', s.csrf)
      .send({ password: PASSWORD })
      .expect(200);
    expect(begun.body.otpauthUri).to.match(/^otpauth:\/\/totp\/Kirje:/);
    const totp = new TOTP({ secret: Secret.fromBase32(begun.body.secret) });
    const code = () => totp.generate({ timestamp: t.clock.now().getTime() });
    const confirmed = await t.http
      .post('/api/v1/me/totp/confirm')
      .set('Cookie', s.cookie)
      .set('X-CSRF-Token', s.csrf)
      .send({ code: code() })
      .expect(200);
    expect(confirmed.body.recoveryCodes).to.have.length(10);

    const needs = await t.http
      .post('/api/v1/session')
      .send({ email: address, password: PASSWORD })
      .expect(401);
    expect(needs.body.error.totpRequired).to.equal(true);
    // The code used to confirm is spent; the next time step's code works once.
    await t.http
      .post('/api/v1/session')
      .send({ email: address, password: PASSWORD, code: code() })
      .expect(401);
    t.clock.advance(30_000);
    const current = code();
    await signIn(address, { code: current });
    await t.http
      .post('/api/v1/session')
      .send({ email: address, password: PASSWORD, code: current })
      .expect(401);
    const recovery = confirmed.body.recoveryCodes[0] as string;
    await signIn(address, { code: recovery.toLowerCase() });
    await t.http
      .post('/api/v1/session')
      .send({ email: address, password: PASSWORD, code: recovery })
      .expect(401);
    // A wrong password with a right code still gets the generic answer.
    t.clock.advance(30_000);
    const wrong = await t.http
      .post('/api/v1/session')
      .send({ email: address, password: 'wrong password', code: code() })
      .expect(401);
    expect(wrong.body.error.totpRequired).to.equal(undefined);
  });

  it('holds an admin without a second factor to enrolment when ADMIN_REQUIRE_2FA=true', async () => {
    const strict = await bootApp({ env: { ADMIN_REQUIRE_2FA: 'true' } });
    try {
      const address = email('admin2fa');
      await strict.services.auth.createUser({ email: address, role: 'admin', password: PASSWORD });
      const res = await strict.http
        .post('/api/v1/session')
        .send({ email: address, password: PASSWORD })
        .expect(200);
      expect(res.body.mustEnrolTotp).to.equal(true);
      const cookie = sessionCookie(res.headers['set-cookie']);
      const refused = await strict.http.get('/api/v1/lists').set('Cookie', cookie).expect(403);
      expect(refused.body.error.message).to.match(/two-factor/);
      const begun = await strict.http
        .post('/api/v1/me/totp')
        .set('Cookie', cookie)
        .set('X-CSRF-Token', res.body.csrfToken)
        .send({ password: PASSWORD })
        .expect(200);
      const totp = new TOTP({ secret: Secret.fromBase32(begun.body.secret) });
      await strict.http
        .post('/api/v1/me/totp/confirm')
        .set('Cookie', cookie)
        .set('X-CSRF-Token', res.body.csrfToken)
        .send({ code: totp.generate({ timestamp: strict.clock.now().getTime() }) })
        .expect(200);
      await strict.http.get('/api/v1/lists').set('Cookie', cookie).expect(200);
    } finally {
      await strict.close();
    }
  });

  it('lets the CLI create a user with a password from stdin and change it, ending sessions', async function () {
    this.timeout(240_000);
    const uri = new URL(testServerUri());
    uri.pathname = `/${t.db.connection.name}`;
    const env = {
      MONGODB_URI: uri.href,
      TOKEN_KEYS: t.config.tokenKeys.map((k) => `${k.kid}:${k.secret}`).join(','),
      DATA_KEY: t.config.dataKey.toString('base64'),
    };
    const address = email('cli');
    const created = runCli(
      ['users:create', '--email', address, '--role', 'marketing', '--password-stdin'],
      env,
      `${PASSWORD}\n`,
    );
    expect(created.status, created.stderr).to.equal(0);
    t.clock.advance(16 * 60_000);
    const s = await signIn(address);
    const changed = runCli(
      ['users:password', '--email', address, '--password-stdin'],
      env,
      'a whole new passphrase\n',
    );
    expect(changed.status, changed.stderr).to.equal(0);
    expect(changed.stdout).to.include('1 session(s) ended');
    await t.http.get('/api/v1/me').set('Cookie', s.cookie).expect(401);
    await t.http.post('/api/v1/session').send({ email: address, password: PASSWORD }).expect(401);
    await t.http
      .post('/api/v1/session')
      .send({ email: address, password: 'a whole new passphrase' })
      .expect(200);
    const short = runCli(['users:password', '--email', address, '--password-stdin'], env, 'short');
    expect(short.status).to.equal(2);
    expect(short.stderr).to.match(/at least 12/);
  });

  describe('every admin route refuses a session whose role lacks its permission', () => {
    const routes = adminRoutes({} as never);
    const sessions = {} as Record<Role, { cookie: string; csrf: string }>;
    before(async () => {
      t.clock.advance(16 * 60_000);
      for (const role of ROLES) sessions[role] = await signIn(await user(role));
    });

    for (const role of ROLES) {
      it(`${role}`, async () => {
        const forbidden = routes.filter(
          (r) =>
            r.permission !== 'public' && r.permission !== 'signed-in' && !can(role, r.permission),
        );
        if (role === 'admin') expect(forbidden).to.deep.equal([]);
        else expect(forbidden.length).to.be.greaterThan(0);
        for (const route of forbidden) {
          const path = `/api/v1${route.path.replace(/:\w+/g, '0123456789abcdef01234567')}`;
          const res = await t.http[route.method](path)
            .set('Cookie', sessions[role].cookie)
            .set('X-CSRF-Token', sessions[role].csrf)
            .send({});
          expect(res.status, `${route.method} ${route.path}`).to.equal(403);
          expect(res.body.error.message).to.include(route.permission);
        }
      });
    }
  });
});
