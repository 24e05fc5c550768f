import { expect } from 'chai';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { BrowserContext, Page } from 'playwright-core';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { drain } from '../../helpers/audience.js';
import { CHROMIUM, launchChromium } from '../../helpers/browser.js';
import { SmtpSink, type SunkMessage } from '../../helpers/smtp-sink.js';

const BASE_URL = 'https://news.example.com';
const MJML =
  '<mj-section><mj-column><mj-text>Hei {{subscriber.name}}, kevään tarjoukset!</mj-text>' +
  '<mj-text><a href="{{unsubscribeUrl}}">Peru tilaus</a></mj-text></mj-column></mj-section>';

/**
 * A person opens the unsubscribe link of a real campaign mail in a real browser (no JavaScript
 * needed by the page) and leaves everything; the next campaign to the same list does not reach
 * them. Everything goes the production way: list, people and campaigns through the admin API, the
 * send worker (snapshot, batches, MJML renderer, composer) to a real SMTP sink, mailparser on what
 * arrived. The link in the mail is the production https URL; Chromium's requests to that origin
 * are handed to the app on a loopback port, the way DNS would point the name at the service.
 */
describe('unsubscribe in a real browser, from a sent campaign mail', function () {
  this.timeout(120_000);
  let t: TestApp;
  let sink: SmtpSink;
  let server: Server;
  let local: string;
  let context: BrowserContext;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.error(
        `  skipped: no Chromium at ${CHROMIUM} (run scripts/ensure-chromium.sh as root or set CHROMIUM_PATH)`,
      );
      this.skip();
    }
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: {
        BASE_URL,
        INBOUND_DOMAIN: 'in.example.com',
        SEND_RATE_PER_SECOND: '10000',
      },
    });
    server = createServer(t.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    local = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    context = await launchChromium({ javaScriptEnabled: false });
    await context.route(`${BASE_URL}/**`, async (route) => {
      const response = await route.fetch({
        url: local + route.request().url().slice(BASE_URL.length),
      });
      await route.fulfill({ response });
    });
  });

  after(async () => {
    await context?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
    await t?.close();
    await sink?.stop();
  });

  const auth = () => ({ Authorization: `Bearer ${t.adminToken}` });

  async function sendCampaign(subject: string, listSlug: string): Promise<string> {
    const created = await t.http
      .post('/api/v1/campaigns')
      .set(auth())
      .send({ name: subject, subject, mjml: MJML, lists: [listSlug] })
      .expect(201);
    const id = created.body.id as string;
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    await drain(t.services.sendWorker);
    return id;
  }

  const stats = async (id: string) => {
    const res = await t.http.get(`/api/v1/campaigns/${id}`).set(auth()).expect(200);
    expect(res.body.status).to.equal('finished');
    return res.body.stats as Record<string, number>;
  };

  /** The https URI of List-Unsubscribe (the mailto one is for inbound mail). */
  function listUnsubscribeUrl(mail: SunkMessage): string {
    const header = mail.raw
      .toString()
      .match(/^List-Unsubscribe: ?(.*(?:\r\n[ \t].*)*)/im)![1]!
      .replace(/\r\n[ \t]+/g, ' ');
    const uris = [...header.matchAll(/<([^>]+)>/g)].map((m) => m[1]!);
    expect(uris).to.have.length(2);
    expect(uris[1]).to.match(/^mailto:unsubscribe\+[a-z2-7]{52}@in\.example\.com\?/);
    return uris[0]!;
  }

  it('opens the link of a sent campaign mail, leaves everything, and gets no further campaign mail', async () => {
    const slug = `uutiskirje-${Date.now().toString(36)}`;
    await t.http
      .post('/api/v1/lists')
      .set(auth())
      .send({ name: 'Uutiskirje', slug, doubleOptIn: false })
      .expect(201);
    const person = async (email: string, name: string) =>
      (
        await t.http
          .post('/api/v1/subscribers')
          .set(auth())
          .send({ email, name, locale: 'fi', lists: [slug], status: 'subscribed', source: 'api' })
          .expect(201)
      ).body.id as string;
    const leaver = {
      email: 'leaver.browser@example.com',
      id: await person('leaver.browser@example.com', 'Liisa'),
    };
    const stayer = {
      email: 'stayer.browser@example.com',
      id: await person('stayer.browser@example.com', 'Pekka'),
    };

    const spring = await sendCampaign('Kevään tarjoukset', slug);
    expect(await stats(spring)).to.include({ recipients: 2, sent: 2, skipped: 0 });
    const [mail, ...others] = sink.to(leaver.email);
    expect(others).to.have.length(0);
    expect(mail!.parsed.subject).to.equal('Kevään tarjoukset');
    expect(mail!.raw.toString()).to.match(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    const href = /<a href="([^"]+)"[^>]*>Peru tilaus<\/a>/.exec(String(mail!.parsed.html))?.[1];
    expect(href, 'unsubscribe link in the HTML').to.be.a('string');
    expect(href).to.equal(listUnsubscribeUrl(mail!));
    expect(href!.startsWith(`${BASE_URL}/u/`)).to.equal(true);
    expect(href).to.not.include(leaver.email.split('@')[0]);

    const page: Page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      // The browser's own favicon request 404s; what matters is that the CSP blocks nothing.
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    const opened = await page.goto(href!);
    expect(opened!.status()).to.equal(200);
    expect(await page.locator('main').innerText()).to.include('le***@example.com');
    // Looking at the page is not unsubscribing.
    expect(await t.services.suppressions.isSuppressed(leaver.email)).to.equal(false);

    await Promise.all([
      page.waitForURL(href!, { waitUntil: 'load' }),
      page.getByRole('button', { name: 'Peru kaikki tilaukset' }).click(),
    ]);
    expect(await page.locator('h1').innerText()).to.equal('Tilaus on peruttu');
    expect(problems, 'CSP violations').to.deep.equal([]);
    await page.close();

    const events = await t.db.models.UnsubscribeEvent.find({ subscriberId: leaver.id }).lean();
    expect(events.map((e) => [e.channel, e.allLists, String(e.campaignId)])).to.deep.equal([
      ['link', true, spring],
    ]);

    // The next campaign to the same list: the leaver is counted and skipped, the other person mailed.
    sink.messages.length = 0;
    const summer = await sendCampaign('Kesän tarjoukset', slug);
    expect(await stats(summer)).to.include({ recipients: 2, sent: 1, skipped: 1 });
    expect(sink.to(leaver.email)).to.have.length(0);
    expect(sink.to(stayer.email).map((m) => m.parsed.subject)).to.deep.equal(['Kesän tarjoukset']);
    expect(sink.messages).to.have.length(1);
  });
});
