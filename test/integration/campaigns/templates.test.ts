import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { staffToken } from '../../helpers/factories.js';

const body = (text: string) =>
  `<mj-section>\n  <mj-column>\n    <mj-text>${text}</mj-text>\n  </mj-column>\n</mj-section>`;

describe('/api/v1/templates', () => {
  let t: TestApp;
  let auth: { Authorization: string };
  before(async () => {
    t = await bootApp();
    auth = { Authorization: `Bearer ${t.adminToken}` };
  });
  after(async () => t.close());

  it('creates, reads, lists, changes and deletes a template', async () => {
    const created = await t.http
      .post('/api/v1/templates')
      .set(auth)
      .send({
        name: 'Spring',
        subject: 'Hei {{subscriber.name}}',
        mjml: body('Hei {{subscriber.name}}'),
      })
      .expect(201);
    expect(created.body).to.include({ name: 'Spring', subject: 'Hei {{subscriber.name}}' });
    const id = created.body.id as string;

    const got = await t.http.get(`/api/v1/templates/${id}`).set(auth).expect(200);
    expect(got.body.mjml).to.equal(body('Hei {{subscriber.name}}'));

    const list = await t.http.get('/api/v1/templates').set(auth).expect(200);
    const item = (list.body.items as Array<Record<string, unknown>>).find((i) => i.id === id);
    expect(item).to.include({ name: 'Spring' });
    expect(item).not.to.have.property('mjml');

    const patched = await t.http
      .patch(`/api/v1/templates/${id}`)
      .set(auth)
      .send({ subject: null, mjml: body('Changed {{org.name}}') })
      .expect(200);
    expect(patched.body).to.include({ name: 'Spring', subject: null });
    expect(patched.body.mjml).to.include('Changed');

    await t.http.delete(`/api/v1/templates/${id}`).set(auth).expect(204);
    await t.http.get(`/api/v1/templates/${id}`).set(auth).expect(404);
    await t.http.delete(`/api/v1/templates/${id}`).set(auth).expect(404);
  });

  it('refuses invalid MJML with the line numbers', async () => {
    const res = await t.http
      .post('/api/v1/templates')
      .set(auth)
      .send({
        name: 'Broken',
        mjml: '<mj-section>\n  <mj-column>\n    <mj-nope />\n  </mj-column>\n</mj-section>',
      })
      .expect(400);
    expect(res.body.error.code).to.equal('validation_failed');
    expect(res.body.error.errors[0]).to.include({ line: 3, tagName: 'mj-nope' });
  });

  it('refuses unknown variables and prototype access', async () => {
    for (const code of [
      '{{subscriber.email}}',
      '{{subscriber.constructor}}',
      '{{lookup subscriber "x"}}',
    ]) {
      const res = await t.http
        .post('/api/v1/templates')
        .set(auth)
        .send({ name: `Vars ${code}`, mjml: body(code) })
        .expect(400);
      expect(res.body.error.code).to.equal('validation_failed');
      expect(res.body.error.errors[0].line).to.equal(3);
    }
  });

  it('refuses an include outside templates/', async () => {
    const res = await t.http
      .post('/api/v1/templates')
      .set(auth)
      .send({ name: 'Escape', mjml: '<mj-include path="../../../../etc/passwd.mjml" />' })
      .expect(400);
    expect(res.body.error.errors[0]).to.include({ tagName: 'mj-include', line: 1 });
  });

  it('validates a change like a new template, and keeps the old one', async () => {
    const { body: created } = await t.http
      .post('/api/v1/templates')
      .set(auth)
      .send({ name: 'Stable', mjml: body('ok') })
      .expect(201);
    await t.http
      .patch(`/api/v1/templates/${created.id}`)
      .set(auth)
      .send({ mjml: body('{{password}}') })
      .expect(400);
    await t.http
      .patch(`/api/v1/templates/${created.id}`)
      .set(auth)
      .send({ subject: 'a\nb' })
      .expect(400);
    const got = await t.http.get(`/api/v1/templates/${created.id}`).set(auth).expect(200);
    expect(got.body.mjml).to.equal(body('ok'));
  });

  it('refuses a duplicate name with 409 and bad input with 400', async () => {
    await t.http
      .post('/api/v1/templates')
      .set(auth)
      .send({ name: 'Twice', mjml: body('a') })
      .expect(201);
    await t.http
      .post('/api/v1/templates')
      .set(auth)
      .send({ name: 'Twice', mjml: body('b') })
      .expect(409);
    await t.http.post('/api/v1/templates').set(auth).send({ name: 'No mjml' }).expect(400);
    await t.http
      .post('/api/v1/templates')
      .set(auth)
      .send({ name: 'X', mjml: body('a'), extra: 1 })
      .expect(400);
    await t.http.get('/api/v1/templates/not-an-id').set(auth).expect(400);
    await t.http.patch('/api/v1/templates/0123456789abcdef01234567').set(auth).send({}).expect(400);
  });

  it('pages the list by cursor, each template once', async () => {
    for (const n of [1, 2, 3]) {
      await t.http
        .post('/api/v1/templates')
        .set(auth)
        .send({ name: `Paged ${n}`, mjml: body(`Paged ${n}`) })
        .expect(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: Array<{ name: string }>; nextCursor: string | null } } =
        await t.http
          .get('/api/v1/templates')
          .query({ limit: '2', ...(cursor ? { cursor } : {}) })
          .set(auth)
          .expect(200);
      expect(res.body.items.length).to.be.at.most(2);
      seen.push(...res.body.items.map((i: { name: string }) => i.name));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.filter((n) => n.startsWith('Paged'))).to.deep.equal([
      'Paged 1',
      'Paged 2',
      'Paged 3',
    ]);
    expect(new Set(seen).size).to.equal(seen.length);
    await t.http.get('/api/v1/templates').query({ limit: '0' }).set(auth).expect(400);
    await t.http.get('/api/v1/templates').query({ cursor: 'nope' }).set(auth).expect(400);
  });

  it('previews unsaved MJML for a sample person, and names problems at their lines', async () => {
    const ok = await t.http
      .post('/api/v1/templates/preview')
      .set(auth)
      .send({ mjml: body('Hei {{subscriber.name}}'), subject: 'Tervetuloa' })
      .expect(200);
    expect(ok.body.subject).to.equal('Tervetuloa');
    expect(ok.body.html).to.include('Hei Maija');
    expect(ok.body.text).to.include('Hei Maija');

    const broken = await t.http
      .post('/api/v1/templates/preview')
      .set(auth)
      .send({ mjml: '<mj-section>\n  <mj-column>\n    <mj-nope />\n  </mj-column>\n</mj-section>' })
      .expect(400);
    expect(broken.body.error.errors[0].line).to.equal(3);
    const unknown = await t.http
      .post('/api/v1/templates/preview')
      .set(auth)
      .send({ mjml: body('\n{{subscriber.password}}') })
      .expect(400);
    expect(unknown.body.error.errors[0]).to.include({ line: 4 });
    expect(unknown.body.error.message).to.include('subscriber.password');

    await t.http.post('/api/v1/templates/preview').set(auth).send({}).expect(400);
    await t.http
      .post('/api/v1/templates/preview')
      .set(auth)
      .send({ mjml: body('x'), extra: 1 })
      .expect(400);
    const auditor = await staffToken(t.services, 'auditor');
    await t.http
      .post('/api/v1/templates/preview')
      .set({ Authorization: `Bearer ${auditor.token}` })
      .send({ mjml: body('x') })
      .expect(403);
  });

  it('needs templates.read / templates.write', async () => {
    const sales = await staffToken(t.services, 'sales');
    const auditor = await staffToken(t.services, 'auditor');
    const marketing = await staffToken(t.services, 'marketing');
    await t.http.get('/api/v1/templates').expect(401);
    await t.http
      .get('/api/v1/templates')
      .set({ Authorization: `Bearer ${auditor.token}` })
      .expect(403);
    await t.http
      .post('/api/v1/templates')
      .set({ Authorization: `Bearer ${sales.token}` })
      .send({ name: 'Sales', mjml: body('x') })
      .expect(403);
    await t.http
      .post('/api/v1/templates')
      .set({ Authorization: `Bearer ${marketing.token}` })
      .send({ name: 'Marketing', mjml: body('x') })
      .expect(201);
  });
});
