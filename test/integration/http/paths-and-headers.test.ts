import { expect } from 'chai';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { makeList } from '../subscribe/helpers.js';

/** Log lines the service writes, as parsed JSON. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string; err?: unknown; res?: { statusCode: number } }> =
    [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const PINO_ERROR = 50;

describe('malformed paths and response headers', () => {
  let t: TestApp;
  const log = capturingLogger();
  before(async () => {
    t = await bootApp({ logger: log.logger });
  });
  after(async () => t.close());

  it('malformed percent-encoding in a public path: 400 page with the strict CSP, no error log', async () => {
    const strictCsp = (await t.http.get('/u/not-a-token')).headers['content-security-policy'];
    expect(strictCsp).to.match(/default-src 'none'/);
    log.lines.length = 0;
    for (const [method, path] of [
      ['get', '/u/%ff'],
      ['post', '/u/%ff'],
      ['get', '/subscribe/%ff'],
      ['get', '/subscribe/confirm/%ff'],
      ['post', '/subscribe/confirm/%ff'],
      ['get', '/u/%E0%A4%A'],
    ] as const) {
      const res = await t.http[method](path);
      expect(res.status, `${method} ${path}`).to.equal(400);
      expect(res.headers['content-type'], path).to.match(/^text\/html/);
      expect(res.headers['content-security-policy'], path).to.equal(strictCsp);
    }
    await new Promise((r) => setImmediate(r));
    expect(log.lines.filter((l) => l.level >= PINO_ERROR)).to.deep.equal([]);
    const answered = log.lines.filter((l) => l.msg === 'request completed');
    expect(answered.map((l) => l.res!.statusCode)).to.deep.equal([400, 400, 400, 400, 400, 400]);
  });

  it('malformed percent-encoding under /api: 400 in the JSON error shape, with or without a token', async () => {
    log.lines.length = 0;
    for (const auth of [undefined, `Bearer ${t.adminToken}`]) {
      for (const path of [
        '/api/v1/lists/%ff',
        '/api/v1/subscribers/%ff/consents',
        '/api/v1/users/%c0',
      ]) {
        const req = t.http.get(path);
        const res = await (auth ? req.set('Authorization', auth) : req);
        expect(res.status, path).to.equal(400);
        expect(res.body).to.deep.equal({
          error: { code: 'bad_request', message: 'the path is not valid percent-encoding' },
        });
      }
    }
    await new Promise((r) => setImmediate(r));
    expect(log.lines.filter((l) => l.level >= PINO_ERROR)).to.deep.equal([]);
  });

  it('subscribe form and confirmation pages carry the same strict CSP as /u/', async () => {
    const strictCsp = (await t.http.get('/u/not-a-token')).headers['content-security-policy'];
    const list = await makeList(t);
    const form = await t.http.get(`/subscribe/${list.slug}`).expect(200);
    expect(form.headers['content-security-policy']).to.equal(strictCsp);
    // The hosted form styles its honeypot with the layout's stylesheet, not a style attribute
    // the CSP would block.
    expect(form.text).to.not.match(/style="/);
    expect(form.text).to.contain('class="offscreen"');
    const posted = await t.http
      .post('/subscribe')
      .type('form')
      .send({ email: 'csp@example.com', list: list.slug, consent: 'yes' })
      .expect(200);
    expect(posted.headers['content-security-policy']).to.equal(strictCsp);
    const confirm = await t.http.get('/subscribe/confirm/not-a-token');
    expect(confirm.headers['content-security-policy']).to.equal(strictCsp);
    // The embeddable snippet lives on other sites: it keeps its own inline styles.
    const embed = await t.http
      .get(`/api/v1/lists/${list.id}/embed`)
      .auth(t.adminToken, { type: 'bearer' })
      .expect(200);
    expect(embed.body.html).to.match(/style="position:absolute/);
  });

  it('HSTS only when BASE_URL is https', async () => {
    const https = await t.http.get('/healthz');
    expect(https.headers['strict-transport-security']).to.match(/max-age=\d+/);
    const plain = await bootApp({ env: { BASE_URL: 'http://localhost:3000' } });
    try {
      const res = await plain.http.get('/healthz');
      expect(res.headers['strict-transport-security']).to.equal(undefined);
    } finally {
      await plain.close();
    }
  });
});
