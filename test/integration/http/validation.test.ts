import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList, createSubscriber } from '../../helpers/api.js';
import { makeList } from '../subscribe/helpers.js';

const MJML = '<mj-section><mj-column><mj-text>Hei</mj-text></mj-column></mj-section>';
const CONTROL = ['\r', '\n', '\0', '\t', '\u0085', '\u2028', '\u2029', '\u001b', '\u007f'];

/** The same rules for every body and query, and messages that say what is wrong. */
describe('consistent validation', () => {
  let t: TestApp;
  const bearer = () => ({ Authorization: `Bearer ${t.adminToken}` });
  before(async () => {
    t = await bootApp();
  });
  after(async () => t.close());

  it('POST /campaigns refuses unknown keys like every other body', async () => {
    const res = await t.http
      .post('/api/v1/campaigns')
      .set(bearer())
      .send({ name: 'n', subject: 's', mjml: MJML, colour: 'red' })
      .expect(400);
    expect(res.body.error.message).to.match(/colour/);
    for (const path of ['/api/v1/lists', '/api/v1/templates', '/api/v1/segments']) {
      const other = await t.http.post(path).set(bearer()).send({ colour: 'red' }).expect(400);
      expect(other.body.error.code, path).to.equal('validation_failed');
    }
  });

  it('an invalid sendAt says what a valid one looks like', async () => {
    const list = await createList(t);
    for (const sendAt of ['tomorrow', '2026-02-30T25:00:00Z', 12345, '']) {
      const res = await t.http
        .post('/api/v1/campaigns')
        .set(bearer())
        .send({ name: 'n', subject: 's', mjml: MJML, sendAt })
        .expect(400);
      expect(res.body.error.message, String(sendAt)).to.match(/^sendAt: /);
      expect(res.body.error.message).to.not.match(/received Date/);
    }
    const ok = await t.http
      .post('/api/v1/campaigns')
      .set(bearer())
      .send({
        name: 'n',
        subject: 's',
        mjml: MJML,
        lists: [list.id],
        sendAt: '2026-05-04T09:00:00+03:00',
      });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(201);
    expect(ok.body.sendAt).to.equal('2026-05-04T06:00:00.000Z');
  });

  it('a body that is not JSON gets 415, an absent body is still fine', async () => {
    for (const [type, body] of [
      ['text/plain', '{"name":"x","slug":"x"}'],
      ['application/x-www-form-urlencoded', 'name=x&slug=x'],
      ['application/xml', '<list/>'],
    ]) {
      const res = await t.http
        .post('/api/v1/lists')
        .set(bearer())
        .set('Content-Type', type!)
        .send(body)
        .expect(415);
      expect(res.body.error.code, type).to.equal('unsupported_media_type');
    }
    await t.http.get('/api/v1/lists').set(bearer()).expect(200);
  });

  it('query errors are labelled as the query, never the body', async () => {
    const list = await createList(t);
    const res = await t.http
      .get(`/api/v1/lists/${list.id}/embed?colour=red`)
      .set(bearer())
      .expect(400);
    expect(res.body.error.message).to.match(/^\(query\): /);
    expect(res.body.error.message).to.match(/colour/);
  });

  it('limit takes decimal digits only', async () => {
    for (const limit of ['0x10', '1e1', '16.0', ' 16', '+16', '0b1', '-1', '0', '201']) {
      const res = await t.http
        .get(`/api/v1/subscribers?limit=${encodeURIComponent(limit)}`)
        .set(bearer());
      expect(res.status, limit).to.equal(400);
      expect(res.body.error.message, limit).to.match(/^limit: /);
    }
    for (const path of ['/api/v1/inbound?limit=0x10', '/api/v1/audit?limit=0x10'])
      await t.http.get(path).set(bearer()).expect(400);
    await t.http.get('/api/v1/subscribers?limit=16').set(bearer()).expect(200);
  });

  it('control characters and line breaks are refused in names and subjects', async () => {
    const subscriber = await createSubscriber(t);
    for (const c of CONTROL) {
      const label = JSON.stringify(c);
      const sends = [
        t.http
          .post('/api/v1/lists')
          .set(bearer())
          .send({ name: `A${c}B`, slug: 'ctl' }),
        t.http
          .post('/api/v1/campaigns')
          .set(bearer())
          .send({ name: 'n', subject: `S${c}x`, mjml: MJML }),
        t.http
          .post('/api/v1/campaigns')
          .set(bearer())
          .send({ name: `N${c}x`, subject: 's', mjml: MJML }),
        t.http
          .patch(`/api/v1/subscribers/${subscriber.id}`)
          .set(bearer())
          .send({ name: `P${c}Q` }),
        t.http
          .post('/api/v1/templates')
          .set(bearer())
          .send({ name: `T${c}x`, mjml: MJML }),
        t.http
          .post('/api/v1/users')
          .set(bearer())
          .send({ email: 'ctl@example.com', name: `U${c}x`, role: 'sales' }),
      ];
      for (const res of await Promise.all(sends)) {
        expect(res.status, `${label} ${JSON.stringify(res.body)}`).to.equal(400);
        expect(res.body.error.message, label).to.match(/control characters/);
      }
    }
    // Surrounding white space is trimmed, not refused.
    const trimmed = await t.http
      .patch(`/api/v1/subscribers/${subscriber.id}`)
      .set(bearer())
      .send({ name: '  Maija Meikäläinen \n' })
      .expect(200);
    expect(trimmed.body.name).to.equal('Maija Meikäläinen');
    // The public form says so next to the field.
    const list = await makeList(t);
    const form = await t.http
      .post('/subscribe')
      .type('form')
      .send({ email: 'ctl@example.com', name: 'A\u2028B', list: list.slug, consent: 'yes' })
      .expect(400);
    expect(form.headers['content-type']).to.match(/^text\/html/);
    expect(await t.db.models.Subscriber.exists({ email: 'ctl@example.com' })).to.equal(null);
  });

  it('a template must be MJML: plain text or HTML around the markup is refused', async () => {
    for (const mjml of [
      'Hello, this is plain text',
      '<p>Hello</p>',
      `Dear customer,\n${MJML}`,
      `${MJML}\n\nRegards`,
    ]) {
      const res = await t.http
        .post('/api/v1/templates')
        .set(bearer())
        .send({ name: `t-${Math.random()}`, mjml })
        .expect(400);
      expect(res.body.error.message, mjml).to.match(/MJML/);
    }
    await t.http
      .post('/api/v1/campaigns')
      .set(bearer())
      .send({ name: 'n', subject: 's', mjml: 'just words' })
      .expect(400);
    await t.http
      .post('/api/v1/templates')
      .set(bearer())
      .send({ name: 'fine', mjml: `<!-- intro -->\n{{#if subscriber.name}}${MJML}{{/if}}` })
      .expect(201);
  });
});
