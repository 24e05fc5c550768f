import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext } from 'playwright-core';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { CHROMIUM, launchChromium } from '../../helpers/browser.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { makeCampaign, makeList, makePerson } from './fixtures.js';

/**
 * A person opens the link from a mail in a real browser (no JavaScript needed by the page) and
 * leaves everything. The campaign engine is built elsewhere, so the mail is made here the way it
 * will be: TokenService link in the body and the RFC 8058 headers, sent through the Mailer to a
 * real SMTP sink, and the URL is taken out of what arrived.
 */
describe('unsubscribe in a real browser', function () {
  this.timeout(120_000);
  let t: TestApp;
  let sink: SmtpSink;
  let server: Server;
  let context: BrowserContext;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.error(
        `  skipped: no Chromium at ${CHROMIUM} (run scripts/ensure-chromium.sh as root or set CHROMIUM_PATH)`,
      );
      this.skip();
    }
    sink = await new SmtpSink().start();
    // Listen first, so BASE_URL (what the links in mail use) is this real port.
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    t = await bootApp({ smtpUrl: sink.url, env: { BASE_URL: base } });
    server.on('request', t.app);
    context = await launchChromium({ javaScriptEnabled: false });
  });

  after(async () => {
    await context?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
    await t?.close();
    await sink?.stop();
  });

  it('opens the link from a sent mail, clicks "unsubscribe from everything", and is suppressed', async () => {
    const list = await makeList(t, 'Uutiskirje', { public: true });
    const p = await makePerson(t, [list], { locale: 'fi' });
    const campaignId = await makeCampaign(t, [list]);
    const token = t.services.tokens.sign('unsubscribe', { subscriberId: p.id, campaignId });
    const url = `${t.config.baseUrl}/u/${token}`;
    const mailto = `unsubscribe+${t.services.tokens.signAddress('unsubscribe', p.id, campaignId)}@${t.config.inboundDomain}`;
    await t.mailer.send({
      from: t.config.mailFrom,
      to: p.email,
      subject: 'Kevään tarjoukset',
      headers: {
        'List-Unsubscribe': `<${url}>, <mailto:${mailto}?subject=unsubscribe>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
      text: `Tarjouksia.\n\nPeru tilaus: ${url}\n`,
      html: `<p>Tarjouksia.</p><p><a href="${url}">Peru tilaus</a></p>`,
    });
    const [mail] = await sink.waitFor(1);
    const href = /<a href="([^"]+)">Peru tilaus<\/a>/.exec(String(mail!.parsed.html))?.[1];
    expect(href).to.be.a('string');
    expect(mail!.raw.toString()).to.include('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(href).to.not.include(p.email);

    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      // The browser's own favicon request 404s; what matters is that the CSP blocks nothing.
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    const opened = await page.goto(href!);
    expect(opened!.status()).to.equal(200);
    expect(await page.locator('main').innerText()).to.include(
      `${p.email.slice(0, 2)}***@example.com`,
    );
    // Looking at the page is not unsubscribing.
    expect(await t.services.suppressions.isSuppressed(p.email)).to.equal(false);

    await Promise.all([
      page.waitForURL(href!, { waitUntil: 'load' }),
      page.getByRole('button', { name: 'Peru kaikki tilaukset' }).click(),
    ]);
    expect(await page.locator('h1').innerText()).to.equal('Tilaus on peruttu');
    expect(problems, 'CSP violations').to.deep.equal([]);

    // What the sending side asks before every mail: no more campaign mail for this person.
    expect(await t.services.suppressions.isSuppressed(p.email)).to.equal(true);
    expect(await t.services.suppressions.isSuppressed(p.email, list)).to.equal(true);
    const s = await t.db.models.Subscriber.findById(p.id).lean();
    expect(s!.status).to.equal('unsubscribed');
    const events = await t.db.models.UnsubscribeEvent.find({ subscriberId: p.id }).lean();
    expect(events.map((e) => [e.channel, e.allLists, String(e.campaignId)])).to.deep.equal([
      ['link', true, campaignId],
    ]);
  });
});
