import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { BrowserContext, Page } from 'playwright-core';
import { projectRoot } from '../../../src/shared/paths.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList, createSubscriber } from '../../helpers/api.js';
import { CHROMIUM, launchChromium } from '../../helpers/browser.js';
import { email } from '../../helpers/factories.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { WebhookReceiver } from '../../helpers/webhook-receiver.js';

const PASSWORD = 'syksyllä sataa lehtiä';
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/**
 * The automation and webhook screens in a real Chromium against the real service: an admin
 * builds a welcome series, activates it and reads its step statistics; adds a webhook endpoint,
 * sees its secret once, and sees why it was disabled.
 */
describe('admin: automations and webhooks in a real browser', function () {
  this.timeout(300_000);
  let t: TestApp;
  let sink: SmtpSink;
  let receiver: WebhookReceiver;
  let server: Server;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  const admin = email('automator');

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.error(`  skipped: no Chromium at ${CHROMIUM}`);
      this.skip();
    }
    const build = spawnSync(process.execPath, ['scripts/build-admin-if-stale.mjs'], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    expect(build.status, build.stderr).to.equal(0);
    sink = await new SmtpSink().start();
    receiver = await new WebhookReceiver().start();
    let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    t = await bootApp({
      smtpUrl: sink.url,
      env: { BASE_URL: base, WEBHOOK_DISABLE_AFTER_FAILURES: '2' },
    });
    handler = t.app;
    await t.services.auth.createUser({ email: admin, role: 'admin', password: PASSWORD });
    context = await launchChromium({ locale: 'fi-FI' });
    page = await context.newPage();
  });
  after(async () => {
    await context?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
    await t?.close();
    await sink?.stop();
    await receiver?.stop();
  });

  async function axe(screen: string): Promise<void> {
    if (!(await page.evaluate('"axe" in window'))) await page.evaluate(AXE_SOURCE);
    const violations = (await page.evaluate(
      `axe.run().then((r) => r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ': ' + v.help))`,
    )) as string[];
    expect(violations, screen).to.deep.equal([]);
  }

  async function signIn(): Promise<void> {
    await context.clearCookies();
    await page.goto(`${base}/admin/`);
    await page.getByLabel(/Sähköposti|Email/).fill(admin);
    await page.getByLabel(/Salasana|Password/).fill(PASSWORD);
    await page.getByRole('button', { name: /Kirjaudu|Sign in/ }).click();
    await page.getByRole('heading', { name: /Yleiskuva|Overview/ }).waitFor();
  }

  it('builds, activates and follows a welcome series', async () => {
    const list = await createList(t, { name: 'Uutiskirje' });
    await t.http
      .post('/api/v1/templates')
      .auth(t.adminToken, { type: 'bearer' })
      .send({
        name: 'Tervetuloa-pohja',
        subject: 'Tervetuloa',
        mjml: '<mj-section><mj-column><mj-text>Hei</mj-text></mj-column></mj-section>',
      })
      .expect(201);
    await signIn();
    await page
      .getByRole('navigation', { name: 'main' })
      .getByRole('link', { name: 'Automaatiot' })
      .click();
    await page.getByRole('button', { name: 'Uusi automaatio' }).click();
    await page.getByLabel('Name').fill('Tervetulosarja');
    await page.getByLabel('Lista', { exact: true }).selectOption({ label: 'Uutiskirje' });
    await page.getByLabel('Vaihe 1: Lähetä – Pohja').selectOption({ label: 'Tervetuloa-pohja' });
    await page.getByRole('button', { name: '+ Odota' }).click();
    await page.getByLabel(/Vaihe 2: Odota/).fill('P2D');
    await axe('automation editor');
    await page.getByRole('button', { name: 'Tallenna' }).click();
    await page.getByRole('button', { name: 'Käynnistä' }).click();
    await page.getByRole('heading', { name: 'Tervetulosarja (käynnissä)' }).waitFor();

    await createSubscriber(t, { lists: [list.id] });
    while (await t.services.automationRunner.tick());
    await sink.waitFor(1);
    await page.reload();
    await page.getByRole('cell', { name: 'sent 1' }).waitFor();
    expect(await page.getByTestId('automation-enrolments').textContent()).to.contain('1 kesken');
    await axe('automation statistics');
  });

  it('adds a webhook endpoint, shows its secret once, and why it was disabled', async () => {
    await signIn();
    await page
      .getByRole('navigation', { name: 'main' })
      .getByRole('link', { name: 'Webhookit' })
      .click();
    await page.getByLabel('Osoite (https)').fill(receiver.url);
    await page.getByLabel('subscriber.created').check();
    await page.getByRole('button', { name: 'Lisää' }).click();
    const secret = await page.locator('code.secret').textContent();
    expect(secret).to.match(/^whsec_/);
    await axe('webhooks');

    receiver.status = 500;
    receiver.answer = 'out of order';
    await createSubscriber(t);
    for (let i = 0; i < 3; i++) {
      await t.services.webhookDispatcher.tick();
      // Past the back-off, within the session's idle limit.
      t.clock.advance(6 * 60_000);
    }
    await page.reload();
    const state = page.getByTestId('endpoint-state');
    await state.getByText('pois käytöstä').waitFor();
    expect(await state.textContent()).to.contain('HTTP 500: out of order');
    expect(await page.locator('code.secret').count()).to.equal(0);
  });
});
