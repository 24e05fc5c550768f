import { expect } from 'chai';
import { bootApp, type TestApp } from '../helpers/app.js';

describe('smoke', () => {
  let t: TestApp;
  before(async () => {
    t = await bootApp();
  });
  after(async () => t.close());

  it('healthz answers ok', async () => {
    const res = await t.http.get('/healthz').expect(200);
    expect(res.body).to.deep.equal({ status: 'ok', db: 'ok' });
  });
});
