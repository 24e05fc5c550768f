import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { projectRoot } from '../../../src/shared/paths.js';
import type { TestApp } from '../../helpers/app.js';
import { AdminBrowser, requireChromium } from '../../helpers/admin-browser.js';
import { drain, seedList } from '../../helpers/audience.js';
import { email } from '../../helpers/factories.js';
import { SmtpSink, type SunkMessage } from '../../helpers/smtp-sink.js';

const PASSWORD = 'kevät on paras vuodenaika';

/**
 * The admin app in a real Chromium against the real service (FerretDB, an SMTP sink): what a
 * marketer does from sign-in to campaign statistics, what a sales person may not do, and what an
 * auditor reads. axe-core checks every screen on the way.
 */
describe('admin app in a real browser', function () {
  this.timeout(300_000);
  let browser: AdminBrowser;
  let t: TestApp;
  let sink: SmtpSink;
  let base: string;
  let page: Page;
  const users = { marketer: email('marketer'), sales: email('sales'), auditor: email('auditor') };
  let totp: TOTP;

  before(async function () {
    requireChromium(this);
    sink = await new SmtpSink().start();
    browser = await AdminBrowser.start({
      password: PASSWORD,
      smtpUrl: sink.url,
      env: { INBOUND_DOMAIN: 'in.example.com', SEND_RATE_PER_SECOND: '10000' },
    });
    ({ t, base, page } = browser);

    const marketer = await t.services.auth.createUser({
      email: users.marketer,
      role: 'marketing',
      password: PASSWORD,
    });
    const { secret } = await t.services.secondFactor.begin(marketer.id);
    totp = new TOTP({ secret: Secret.fromBase32(secret) });
    await t.services.secondFactor.confirm(marketer.id, code());
    await t.services.auth.createUser({ email: users.sales, role: 'sales', password: PASSWORD });
    await t.services.auth.createUser({ email: users.auditor, role: 'auditor', password: PASSWORD });
  });

  after(async () => {
    await browser?.close();
    await sink?.stop();
  });

  /** A code of the next 30-second step: each code is accepted once. */
  function code(): string {
    t.clock.advance(30_000);
    return totp.generate({ timestamp: t.clock.now().getTime() });
  }

  const axe = (screen: string) => browser.axe(screen);
  const shot = (name: string) => browser.shot(name);
  const signOut = () => browser.signOut();
  const open = (name: RegExp) => browser.open(name);

  async function signIn(address: string, withCode = false): Promise<void> {
    await browser.signIn(
      address,
      withCode
        ? async () => {
            const field = page.getByLabel(/koodi|code/i);
            await field.waitFor();
            await axe('sign-in code');
            await shot('01-sign-in-code');
            await field.fill(code());
            await page.getByRole('button', { name: /Kirjaudu|Sign in/ }).click();
          }
        : undefined,
    );
  }

  it('loads at most 250 kB of JavaScript (gzipped) before a screen asks for more', () => {
    const dist = path.join(projectRoot, 'admin', 'dist');
    const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
    const initial = [...html.matchAll(/<(?:script[^>]+src|link[^>]+href)="\/admin\/([^"]+\.js)"/g)];
    expect(initial.length).to.be.at.least(1);
    const gzipped = initial
      .map((m) => gzipSync(readFileSync(path.join(dist, m[1]!))).length)
      .reduce((a, b) => a + b, 0);
    expect(gzipped).to.be.at.most(250 * 1024);
    // The editor is fetched by the screens that show it, not by the first page.
    for (const m of initial)
      expect(readFileSync(path.join(dist, m[1]!), 'utf8')).to.not.include('cm-editor');
  });

  it('is not built again when nothing it is built from changed', () => {
    const index = path.join(projectRoot, 'admin', 'dist', 'index.html');
    const before = statSync(index).mtimeMs;
    const again = spawnSync(process.execPath, ['scripts/build-admin-if-stale.mjs'], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stderr).to.not.include('built');
    expect(statSync(index).mtimeMs).to.equal(before);
  });

  it('serves the app at /admin and sends / there', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).to.equal(302);
    expect(root.headers.get('location')).to.equal('/admin/');
    const deep = await fetch(`${base}/admin/campaigns/0123456789abcdef01234567`);
    expect(deep.status).to.equal(200);
    expect(await deep.text()).to.include('<div id="root">');
  });

  it('a marketer signs in with TOTP, builds an audience and sends an MJML campaign', async () => {
    await page.goto(`${base}/admin/`);
    await page.getByRole('heading', { name: 'Kirjaudu Kirjeeseen' }).waitFor();
    await axe('sign-in');
    await shot('00-sign-in');
    await signIn(users.marketer, true);
    await axe('overview');
    await shot('02-overview');

    // A list, and its embeddable form.
    await open(/Listat/);
    await page.getByRole('button', { name: 'Uusi lista' }).click();
    await page.getByLabel('Nimi', { exact: true }).fill('Kevään uutiskirje');
    await page.getByLabel('Kaksivaiheinen tilaus').uncheck();
    await page.getByLabel('Julkinen').check();
    await axe('list form');
    await page.getByRole('button', { name: 'Luo' }).click();
    const row = page.getByRole('row', { name: /Kevään uutiskirje/ });
    await row.waitFor();
    expect(await row.textContent()).to.include('kevaan-uutiskirje');
    await row.getByRole('button', { name: /Tilauslomakkeen HTML/ }).click();
    const embed = page.getByRole('textbox', { name: 'Tilauslomakkeen HTML' });
    await embed.waitFor();
    expect(await embed.inputValue()).to.match(/<form[^>]+\/subscribe/);
    await axe('lists');
    await shot('03-lists');

    // A ';'-separated file whose city column becomes the attribute "city".
    await open(/Tuonti/);
    const csv =
      'Sähköposti;Nimi;Kaupunki\n' +
      'oona.oulu@example.com;Oona;Oulu\n' +
      'otto.oulu@example.com;Otto;Oulu\n' +
      'tiina.turku@example.com;Tiina;Turku\n';
    await page.getByLabel('CSV-tiedosto').setInputFiles({
      name: 'asiakkaat.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    await page.getByText('tunnistettu: ";"').waitFor();
    expect(await page.getByLabel('Kenttä: Sähköposti').inputValue()).to.equal('email');
    await page.getByLabel('Kenttä: Kaupunki').selectOption('attribute');
    await page.getByLabel('Ominaisuuden nimi: Kaupunki').fill('city');
    await page.getByLabel('Listalle').selectOption({ label: 'Kevään uutiskirje' });
    await axe('import preview');
    await shot('04-import-preview');
    await page.getByRole('button', { name: 'Aloita tuonti' }).click();
    const report = page.getByTestId('import-report');
    await report.waitFor();
    expect(await report.innerText()).to.match(/Rivejä\s+3[\s\S]*Luotu\s+3/);
    await axe('import report');
    await shot('05-import-report');

    // A segment of the people in Oulu, with its live count.
    await open(/Segmentit/);
    await page.getByRole('button', { name: '+ Ominaisuus' }).click();
    await page.getByLabel('Ominaisuuden nimi', { exact: true }).fill('city');
    await page.getByLabel('value').fill('Oulu');
    await page.getByTestId('segment-count').filter({ hasText: '2' }).waitFor();
    expect(await page.getByLabel('Säännöt JSON-muodossa').inputValue()).to.include(
      '"attribute": "city"',
    );
    await page.getByLabel('Nimi', { exact: true }).fill('Oulu');
    await page.getByRole('button', { name: 'Tallenna segmentti' }).click();
    await page.getByText('Tallennettu: Oulu').waitFor();
    await axe('segments');
    await shot('06-segments');

    // The campaign: content, preview, a test mail to the sink, then the real send.
    await open(/Kampanjat/);
    await page.getByLabel('Nimi', { exact: true }).fill('Kevät Oulussa');
    await page.getByLabel('Aihe').fill('Kevään tarjoukset');
    await page.getByLabel('Kevään uutiskirje').check();
    await page.getByLabel('Segmentti', { exact: true }).selectOption({ label: 'Oulu' });
    await axe('new campaign');
    await page.getByRole('button', { name: 'Luo' }).click();
    const editor = page.getByRole('textbox', { name: 'Sisältö (MJML)' });
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press('Control+End');
    // The editor closes each tag as it is opened, as it would for a person typing.
    await page.keyboard.type('<mj-section><mj-column><mj-text>Tervetuloa kevääseen');
    await page.getByRole('button', { name: 'Esikatselu' }).click();
    const preview = page.frameLocator('iframe[title="Esikatselu"]');
    await preview.getByText('Tervetuloa kevääseen').waitFor();
    // By keyboard: a pointer click here raced the page's scrolling and hit the frame instead.
    await page.getByRole('button', { name: 'Mobiili' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('iframe.preview.mobile').waitFor();
    const frameWidth = await page
      .locator('iframe[title="Esikatselu"]')
      .evaluate((f) => f.clientWidth);
    expect(frameWidth).to.be.at.most(375);
    await axe('campaign editor');
    await shot('07-campaign-editor');

    // Tests go to staff only; the field starts with the signed-in person's own address.
    expect(await page.getByLabel('Testin vastaanottajat').inputValue()).to.equal(users.marketer);
    await page.getByRole('button', { name: 'Lähetä testi' }).click();
    await page.getByText(`Testi lähetetty: ${users.marketer}`).waitFor();
    const [test] = await sink.waitFor(1);
    expect(test!.rcptTo).to.deep.equal([users.marketer]);
    expect(String(test!.parsed.html)).to.include('Tervetuloa kevääseen');

    await page.getByRole('button', { name: 'Lähetä nyt' }).click();
    await page.locator('[data-testid=campaign-status]:not([data-status=draft])').waitFor();
    await drain(t.services.sendWorker);
    await page.locator('[data-testid=campaign-status][data-status=finished]').waitFor();
    expect(await page.getByTestId('campaign-status').innerText()).to.equal('valmis');
    const delivered = await sink.waitFor(3);
    const oona = delivered.find((m) => m.rcptTo.includes('oona.oulu@example.com'));
    expect(delivered.some((m) => m.rcptTo.includes('tiina.turku@example.com'))).to.equal(false);

    // Oona unsubscribes with the one-click link of the mail she got.
    const res = await fetch(listUnsubscribeUrl(oona!), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).to.equal(200);
    await page.reload();
    const stats = page.getByTestId('campaign-stats');
    await stats.waitFor();
    const text = await stats.innerText();
    expect(text).to.match(/Vastaanottajia\s+2/);
    expect(text).to.match(/Lähetetty\s+2/);
    expect(text).to.match(/Perui tilauksen\s+1/);
    await axe('campaign stats');
    await shot('08-campaign-stats');

    // A person's page, found by a server-side search.
    await open(/Tilaajat/);
    await page.getByRole('searchbox', { name: 'Sähköposti' }).fill('otto.oulu@example.com');
    await page.getByRole('button', { name: 'Hae' }).click();
    await page.getByRole('link', { name: 'otto.oulu@example.com' }).click();
    await page.getByRole('heading', { name: 'Otto' }).waitFor();
    expect(await page.locator('dl.facts').last().innerText()).to.match(/city\s+Oulu/);
    await axe('person');
    await shot('09-person');
    await signOut();
  });

  it('shows what recipients did, per link and over time, and the guard’s pause', async () => {
    const list = await seedList(t.db.models, 2);
    const mjml =
      '<mj-section><mj-column><mj-text><a href="https://shop.example.com/kevat">Kevät</a> <a href="https://shop.example.com/kesa">Kesä</a></mj-text></mj-column></mj-section>';
    const ctx = { actor: { type: 'system' as const, name: 'journey' } };
    const clicked = await t.services.campaigns.create(
      { name: 'Linkit', subject: 'Linkit', mjml, lists: [list.slug] },
      ctx,
    );
    sink.messages.length = 0;
    await t.services.campaigns.send(clicked.id);
    await drain(t.services.sendWorker);
    const [mail] = await sink.waitFor(2);
    const redirect = /href="(http[^"]+\/r\/[^"]+)"/.exec(String(mail!.parsed.html))![1]!;
    // Clicked two hours after the send: the series has points to draw.
    t.clock.advance(2 * 3_600_000);
    const click = await fetch(redirect, {
      redirect: 'manual',
      headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0' },
    });
    expect(click.status).to.equal(302);

    // Another campaign, paused by the guard while it runs.
    const guarded = await t.services.campaigns.create(
      { name: 'Vahdittu', subject: 'Vahdittu', mjml, lists: [list.slug] },
      ctx,
    );
    await t.services.campaigns.send(guarded.id);
    await t.services.campaigns.pauseForGuard(guarded.id, {
      code: 'hard_bounces',
      message: 'hard bounces are 9.1 % of delivered mail, over the limit of 5 %',
      counts: { delivered: 220, hardBounced: 20, complaints: 0 },
    });

    await signIn(users.marketer, true);
    await page.goto(`${base}/admin/campaigns/${clicked.id}`);
    const links = page.getByTestId('campaign-links');
    await links.waitFor();
    expect(await links.innerText()).to.match(/https:\/\/shop\.example\.com\/kevat\s+1\s+0/);
    expect(await page.getByTestId('campaign-analytics').innerText()).to.match(/Toimitettu\s+2/);
    await page.locator('[data-testid=campaign-analytics] canvas').waitFor();
    await axe('campaign analytics');
    await shot('12-campaign-analytics');

    await page.goto(`${base}/admin/campaigns/${guarded.id}`);
    const banner = page.getByTestId('guard-paused');
    await banner.waitFor();
    expect(await banner.innerText()).to.include('hard bounces are 9.1 %');
    await axe('campaign paused by the guard');
    await shot('13-campaign-guard-paused');
    await page.getByRole('button', { name: 'Jatka silti' }).click();
    await page.locator('[data-testid=campaign-status][data-status=running]').waitFor();
    expect(await page.getByTestId('guard-paused').count()).to.equal(0);
    await drain(t.services.sendWorker);
    await signOut();
  });

  it('fits a 375 px wide screen', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    try {
      await signIn(users.marketer, true);
      // The menu folds away on a narrow screen; its button opens it.
      await page.getByRole('button', { name: /menu/ }).click();
      await open(/Kampanjat/);
      await page.getByRole('heading', { name: 'Kampanjat' }).waitFor();
      await shot('10-campaigns-375');
      await browser.expectNoOverflow('campaigns');
      await axe('campaigns at 375 px');
      await page.getByRole('button', { name: /menu/ }).click();
      await signOut();
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('a sales person does not see what their role forbids, and the server refuses it', async () => {
    await signIn(users.sales);
    const nav = await page.getByRole('navigation', { name: 'main' }).innerText();
    expect(nav).to.include('Tilaajat');
    for (const hidden of ['Tuonti', 'Lokitiedot', 'Käyttäjät ja avaimet'])
      expect(nav).to.not.include(hidden);
    await open(/Kampanjat/);
    await page.getByRole('heading', { name: 'Kampanjat' }).waitFor();
    expect(await page.getByRole('button', { name: 'Luo' }).count()).to.equal(0);
    await axe('campaigns for sales');
    await shot('11-sales-campaigns');
    // The same request the hidden form would make, from the page with the session's CSRF token.
    const status = await page.evaluate(async () => {
      const me = (await (await fetch('/api/v1/me')).json()) as { csrfToken: string };
      const res = await fetch('/api/v1/campaigns', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
        body: JSON.stringify({ name: 'x', subject: 'x', mjml: '<mj-text>x</mj-text>', lists: [] }),
      });
      return res.status;
    });
    expect(status).to.equal(403);

    // Sales handle data-protection requests: one registered lands in the register, due in a month.
    await open(/Tietosuoja/);
    await page.getByLabel('Pyyntö', { exact: true }).selectOption('access');
    await page.getByLabel('Sähköposti', { exact: true }).fill('otto.oulu@example.com');
    await page.getByRole('button', { name: 'Luo' }).click();
    const register = page.getByTestId('privacy-requests');
    await register.getByText('2026-02-15').waitFor();
    expect(await register.innerText()).to.match(/access\s+o\S*@example\.com/);
    await axe('data protection');
    await shot('12-privacy');
    await signOut();
  });

  it('an auditor reads the audit log', async () => {
    await signIn(users.auditor);
    const nav = await page.getByRole('navigation', { name: 'main' }).innerText();
    expect(nav).to.include('Lokitiedot');
    expect(nav).to.not.include('Tilaajat');
    await open(/Lokitiedot/);
    const log = page.getByTestId('audit-log');
    await log.getByText('session.create').first().waitFor();
    expect(await log.innerText()).to.include('campaign.');
    await axe('audit log');
    await shot('13-audit');
    await signOut();
  });
});

/** The https URI of List-Unsubscribe (the mailto one is for inbound mail). */
function listUnsubscribeUrl(mail: SunkMessage): string {
  const header = mail.raw
    .toString()
    .match(/^List-Unsubscribe: ?(.*(?:\r\n[ \t].*)*)/im)![1]!
    .replace(/\r\n[ \t]+/g, ' ');
  return [...header.matchAll(/<([^>]+)>/g)].map((m) => m[1]!)[0]!;
}
