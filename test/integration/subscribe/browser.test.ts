import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext } from 'playwright-core';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { CHROMIUM, launchChromium } from '../../helpers/browser.js';
import { email } from '../../helpers/factories.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { confirmLink, makeList } from './helpers.js';

describe('subscribe in a real browser (headless Chromium)', function () {
  this.timeout(90_000);
  let t: TestApp;
  let sink: SmtpSink;
  let server: Server;
  let base: string;
  let browser: BrowserContext;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
    }
    // The port must be known before the app is built: it goes into BASE_URL, so into mailed links.
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    sink = await new SmtpSink().start();
    t = await bootApp({ smtpUrl: sink.url, env: { BASE_URL: base } });
    server.on('request', t.app);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await t?.close();
    await sink?.stop();
  });

  it('fills the hosted form, confirms from the mailed link, and leaves a consent record', async () => {
    const list = await makeList(t, { name: 'Browser News' });
    const address = email('browser');
    const page = await browser.newPage();

    await page.goto(`${base}/subscribe/${list.slug}?lang=en`);
    await page.getByLabel('Email address').fill(address);
    await page.getByLabel('Name (optional)').fill('Brow Ser');
    await page.getByLabel(/I agree that Testikauppa Oy/).check();
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page.getByRole('heading', { name: 'Thank you!' }).waitFor();

    await t.services.subscribe.drain();
    const [mail] = await sink.waitFor(1).then(() => sink.to(address));
    expect(mail, 'confirmation mail in the sink').to.not.equal(undefined);
    expect(mail!.parsed.subject).to.equal('Please confirm your subscription: Browser News');
    const link = confirmLink(mail!);
    expect(link.url.startsWith(`${base}/subscribe/confirm/`)).to.equal(true);

    await page.goto(link.url);
    const sub = await t.db.models.Subscriber.findOne({ email: address }).lean();
    expect(sub?.status, 'opening the link alone changes nothing').to.equal('unconfirmed');
    await page.getByRole('button', { name: 'Confirm subscription' }).click();
    await page.getByRole('heading', { name: 'Subscription confirmed' }).waitFor();

    const after = await t.db.models.Subscriber.findById(sub!._id).lean();
    expect(after).to.include({
      status: 'subscribed',
      name: 'Brow Ser',
      source: `web-form:${list.slug}`,
    });
    const membership = await t.db.models.Membership.findOne({
      subscriberId: sub!._id,
      listId: list.id,
    }).lean();
    expect(membership?.status).to.equal('subscribed');
    const confirm = await t.db.models.ConsentEvent.findOne({
      subscriberId: sub!._id,
      kind: 'confirm',
    }).lean();
    expect(confirm).to.include({ source: `web-form:${list.slug}`, locale: 'en' });
    const text = await t.db.models.ConsentText.findOne({ hash: confirm!.textHash }).lean();
    expect(text?.text).to.equal(
      `I agree that Testikauppa Oy may send me the “Browser News” newsletter by email. I can unsubscribe at any time with the link in every message.`,
    );
    await page.close();
  });
});
