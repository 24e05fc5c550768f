import { expect } from 'chai';
import { markSentAsUnknown } from '../../helpers/send-records.js';
import type { Page } from 'playwright-core';
import { loadCorpus } from '../../../scripts/eval-replies.js';
import type { TestApp } from '../../helpers/app.js';
import { AdminBrowser, requireChromium } from '../../helpers/admin-browser.js';
import { drain } from '../../helpers/audience.js';
import { email } from '../../helpers/factories.js';
import { crlf, signExampleCom, testDns } from '../../helpers/inbound.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { waitUntil } from '../../helpers/wait.js';

const PASSWORD = 'syksyllä sataa lehtiä';
const MINUTE = 60_000;

/** An MJML body whose third line is a text to put variables in. */
const mjmlWith = (third: string) =>
  `<mj-section>\n  <mj-column>\n    ${third}\n  </mj-column>\n</mj-section>\n`;

/**
 * The screens of the admin's second part in a real Chromium against the real service, FerretDB
 * and an SMTP sink: templates with live preview and MJML problems at their line, a scheduled
 * campaign the worker sends at its time, retry of unknown outcomes, nested and/or/not segment
 * groups, the inbound review queue, a person's edit, unsubscribe and erase, and retention runs.
 * Each screen is checked with axe-core, and again at 375 px wide.
 */
describe('admin screens: templates, scheduling, review, a person, retention', function () {
  this.timeout(300_000);
  let browser: AdminBrowser;
  let t: TestApp;
  let page: Page;
  let sink: SmtpSink;
  const users = { marketer: email('marketer'), sales: email('sales'), admin: email('admin') };
  const people = { oona: email('oona'), otto: email('otto'), tiina: email('tiina') };
  const ids: Record<string, string> = {};
  let listId = '';
  let templateId = '';
  let campaignId = '';

  const admin = () => ({ Authorization: `Bearer ${t.adminToken}` });
  const auditCount = (action: string, subjectId?: string) =>
    t.db.models.AuditEntry.countDocuments({ action, ...(subjectId ? { subjectId } : {}) });

  before(async function () {
    requireChromium(this);
    sink = await new SmtpSink().start();
    browser = await AdminBrowser.start({
      password: PASSWORD,
      smtpUrl: sink.url,
      dnsResolver: testDns,
      env: { INBOUND_DOMAIN: 'in.example.com', SEND_RATE_PER_SECOND: '10000' },
    });
    ({ t, page } = browser);
    await t.services.auth.createUser({
      email: users.marketer,
      role: 'marketing',
      password: PASSWORD,
    });
    await t.services.auth.createUser({ email: users.sales, role: 'sales', password: PASSWORD });
    await t.services.auth.createUser({ email: users.admin, role: 'admin', password: PASSWORD });

    const list = await t.http
      .post('/api/v1/lists')
      .set(admin())
      .send({ name: 'Syysuutiset', slug: 'syysuutiset', doubleOptIn: false })
      .expect(201);
    listId = list.body.id;
    const seed: Array<[keyof typeof people, string, Record<string, string>]> = [
      ['oona', 'Oona', { city: 'Oulu', tier: 'gold' }],
      ['otto', 'Otto', { city: 'Oulu' }],
      ['tiina', 'Tiina', { city: 'Turku' }],
    ];
    for (const [key, name, attributes] of seed) {
      const res = await t.http
        .post('/api/v1/subscribers')
        .set(admin())
        .send({ email: people[key], name, attributes, lists: [listId], status: 'subscribed' })
        .expect(201);
      ids[key] = res.body.id;
    }
  });

  after(async () => {
    await browser?.close();
    await sink?.stop();
  });

  /** Replaces the editor's whole text, as a paste would (no tag closing as one types). */
  async function setEditorText(text: string): Promise<void> {
    await page.getByRole('textbox', { name: 'Sisältö (MJML)' }).click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(text);
  }

  /** Puts the cursor just before `</mj-text>` on line 3 of the editor. */
  async function cursorIntoLineThree(): Promise<void> {
    await page.getByRole('textbox', { name: 'Sisältö (MJML)' }).click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('End');
    for (let i = 0; i < '</mj-text>'.length; i++) await page.keyboard.press('ArrowLeft');
  }

  it('a template: palette, problems at their line, live preview at two widths, saved', async () => {
    await browser.signIn(users.marketer);
    await browser.open(/Pohjat/);
    await page.getByRole('button', { name: 'Uusi pohja' }).click();
    await page.getByLabel('Nimi', { exact: true }).fill('Syyskirje');
    await page.getByLabel('Oletusaihe').fill('Syksyn uutiset');

    await setEditorText(mjmlWith('<mj-nope />'));
    const problems = page.getByTestId('mjml-errors');
    await problems.getByText(/rivi 3/).waitFor();
    expect(await problems.innerText()).to.include('mj-nope');
    expect(await page.locator('.cm-error-line').innerText()).to.include('mj-nope');
    await browser.axe('template with problems');

    await setEditorText(mjmlWith('<mj-text>Terveisin </mj-text>'));
    await problems.waitFor({ state: 'detached' });
    await cursorIntoLineThree();
    await page
      .getByRole('group', { name: 'Lisää muuttuja' })
      .getByRole('button', { name: '{{org.name}}' })
      .click();
    const preview = page.frameLocator('iframe[title="Esikatselu"]');
    await preview.getByText('Terveisin Testikauppa Oy').waitFor();
    // By keyboard, as in the journey (a pointer click can race the page's scrolling).
    await page.getByRole('button', { name: 'Mobiili' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('iframe.preview.mobile').waitFor();
    const width = await page.locator('iframe[title="Esikatselu"]').evaluate((f) => f.clientWidth);
    expect(width).to.be.at.most(375);
    await browser.axe('template editor');
    await browser.shot('20-template-editor');

    await page.getByRole('button', { name: 'Tallenna' }).click();
    await page.getByRole('heading', { name: 'Syyskirje' }).waitFor();
    const stored = await t.db.models.Template.findOne({ name: 'Syyskirje' }).lean();
    templateId = String(stored!._id);
    expect(stored!.mjml).to.include('Terveisin {{org.name}}</mj-text>');
    expect(stored!.subject).to.equal('Syksyn uutiset');
    await browser.open(/Pohjat/);
    await page.getByRole('link', { name: 'Syyskirje' }).waitFor();
    await browser.axe('templates');
  });

  it('a campaign from the template, scheduled: the worker sends it at its time', async () => {
    await browser.open(/Kampanjat/);
    await page.getByLabel('Nimi', { exact: true }).fill('Syyskampanja');
    await page.getByLabel('Aihe').fill('Syksyn tarjoukset');
    await page.getByLabel('Aloita pohjasta').selectOption({ label: 'Syyskirje' });
    await page.getByLabel('Syysuutiset').check();
    await page.getByRole('button', { name: 'Luo' }).click();
    await page.getByRole('textbox', { name: 'Sisältö (MJML)' }).waitFor();
    campaignId = page.url().split('/').at(-1)!;
    expect(
      (await t.db.models.Campaign.findById(campaignId).lean())!.templateId?.toString(),
    ).to.equal(templateId);

    // The palette puts the person's name in the campaign's own copy of the text.
    await cursorIntoLineThree();
    await page.getByRole('button', { name: '{{subscriber.name}}' }).click();
    // The preview follows the typing, with no button pressed and nothing saved yet.
    await page.keyboard.type(' ja syysterveiset');
    await page
      .frameLocator('iframe[title="Esikatselu"]')
      .getByText(/ja syysterveiset/)
      .waitFor();
    expect((await t.db.models.Campaign.findById(campaignId).lean())!.mjml).not.to.include(
      'syysterveiset',
    );
    await browser.axe('campaign live preview');

    const at = t.clock.now().getTime() + 10 * MINUTE;
    // The field takes the browser's local time; the page formats it (a string: no test helpers).
    const local = (await page.evaluate(`(() => {
      const d = new Date(${at});
      const two = (n) => String(n).padStart(2, '0');
      return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + 'T' +
        two(d.getHours()) + ':' + two(d.getMinutes());
    })()`)) as string;
    await page.getByLabel('Ajastettuna').check();
    await page.getByLabel('Lähetysaika').fill(local);
    // A save (the preview saves first) stores the time; the page shows it again when reopened.
    await page.getByRole('button', { name: 'Esikatselu' }).click();
    await page.frameLocator('iframe[title="Esikatselu"]').getByText('Terveisin').waitFor();
    await page.reload();
    await page.getByRole('textbox', { name: 'Sisältö (MJML)' }).waitFor();
    expect(await page.getByLabel('Ajastettuna').isChecked()).to.equal(true);
    expect(await page.getByLabel('Lähetysaika').inputValue()).to.equal(local);
    await browser.axe('campaign schedule');
    await browser.shot('21-campaign-schedule');
    await page.getByRole('button', { name: 'Ajasta' }).click();
    await page.locator('[data-testid=campaign-status][data-status=scheduled]').waitFor();
    await page.getByText('Ajastettu', { exact: false }).first().waitFor();
    const scheduled = await t.http.get(`/api/v1/campaigns/${campaignId}`).set(admin()).expect(200);
    expect(scheduled.body.sendAt).to.equal(new Date(at - (at % MINUTE)).toISOString());

    // Not before its time…
    await drain(t.services.sendWorker);
    expect(sink.messages.length).to.equal(0);
    // …and at it.
    t.clock.advance(11 * MINUTE);
    await drain(t.services.sendWorker);
    await page.reload();
    await page.locator('[data-testid=campaign-status][data-status=finished]').waitFor();
    const mails = await sink.waitFor(3);
    const toOtto = mails.find((m) => m.rcptTo.includes(people.otto))!;
    expect(String(toOtto.parsed.html)).to.match(/Terveisin Testikauppa Oy\s*Otto/);
  });

  it('retries mails whose outcome is unknown, from the campaign page', async () => {
    // A worker that died inside the SMTP transaction leaves the outcome unknown.
    await markSentAsUnknown(t.db.models, campaignId, String(ids.tiina));
    await page.reload();
    const retry = page.getByRole('button', { name: /Yritä tuntemattomia uudelleen/ });
    await retry.click();
    await page.getByText('Jonoon uudelleen: 1').waitFor();
    await drain(t.services.sendWorker);
    const again = await sink.waitFor(4);
    expect(again.filter((m) => m.rcptTo.includes(people.tiina))).to.have.length(2);
    await page.reload();
    await page.locator('[data-testid=campaign-status][data-status=finished]').waitFor();
    expect(await retry.count()).to.equal(0);
    await browser.axe('campaign after retry');
  });

  it('a segment with a nested "not" group counts on the server', async () => {
    await browser.open(/Segmentit/);
    await page.getByRole('button', { name: '+ Ominaisuus' }).click();
    await page.getByLabel('Ominaisuuden nimi', { exact: true }).fill('city');
    await page.getByLabel('value').fill('Oulu');
    await page.getByTestId('segment-count').filter({ hasText: '2' }).waitFor();
    await page.getByRole('button', { name: '+ Ryhmä', exact: true }).click();
    await page.getByRole('button', { name: '+ Ominaisuus Ryhmä (2)' }).click();
    await page.getByLabel('Ominaisuuden nimi', { exact: true }).nth(1).fill('tier');
    await page.getByLabel('value').nth(1).fill('gold');
    await page.getByLabel('Ei (kaikki paitsi nämä) Ryhmä (2)').check();
    // Oulu, and not gold: Otto alone.
    await page.getByTestId('segment-count').filter({ hasText: /^1$/ }).waitFor();
    const json = JSON.parse(await page.getByLabel('Säännöt JSON-muodossa').inputValue());
    expect(json).to.deep.equal({
      all: [
        { attribute: 'city', op: 'eq', value: 'Oulu' },
        { not: { all: [{ attribute: 'tier', op: 'eq', value: 'gold' }] } },
      ],
    });
    await browser.axe('segments with groups');
    await browser.shot('22-segment-groups');
  });

  it('the inbound review queue: the reason shown, unsubscribe and dismiss with one click, audited', async () => {
    const ambiguous = loadCorpus().filter((i) => i.label === 'ambiguous' && i.split === 'train');
    for (const [n, who] of (['oona', 'otto', 'tiina'] as const).entries()) {
      const mid = `${campaignId}.${ids[who]}@${t.config.inboundDomain}`;
      const raw = await signExampleCom(
        crlf(
          [
            `From: ${who} <${people[who]}>`,
            `To: reply@${t.config.inboundDomain}`,
            'Subject: Re: Syksyn tarjoukset',
            `Message-ID: <screens-${n}@example.com>`,
            `In-Reply-To: <${mid}>`,
            'MIME-Version: 1.0',
            'Content-Type: text/plain; charset="UTF-8"',
            'Content-Transfer-Encoding: 8bit',
            '',
            ambiguous[n]!.text,
            '',
          ].join('\n'),
        ),
      );
      const res = await t.services.inbound.process(raw, { via: 'http' });
      expect(res.status).to.equal('needs_review');
    }
    await browser.open(/Saapuneet/);
    const queue = page.getByTestId('inbound-review');
    const row = (who: string) => queue.getByRole('row', { name: new RegExp(who) });
    await row(people.oona).waitFor();
    expect(await row(people.oona).innerText()).to.match(/ambiguous|other/);
    await row(people.oona).getByRole('button', { name: 'Lue' }).click();
    await row(people.oona).getByText(ambiguous[0]!.text.slice(0, 20)).waitFor();
    await browser.axe('inbound review');
    await browser.shot('23-inbound-review');

    await row(people.oona)
      .getByRole('button', { name: /Peru tilaus/ })
      .click();
    await page.getByText(`Käsitelty: oona <${people.oona}>`).waitFor();
    // With the keyboard: the button takes focus and Enter presses it.
    await row(people.otto).getByRole('button', { name: /Ohita/ }).focus();
    await page.keyboard.press('Enter');
    await row(people.otto).waitFor({ state: 'detached' });
    // Tiina's stays for later (the narrow screen shows a queue that is not empty).
    expect(await queue.getByRole('row').count()).to.equal(2);

    const oona = await t.http.get(`/api/v1/subscribers/${ids.oona}`).set(admin()).expect(200);
    expect(oona.body.lists[0].status).to.equal('unsubscribed');
    const otto = await t.http.get(`/api/v1/subscribers/${ids.otto}`).set(admin()).expect(200);
    expect(otto.body.status).to.equal('subscribed');
    expect(await auditCount('inbound.unsubscribe', ids.oona)).to.equal(1);
    expect(await auditCount('inbound.ignore')).to.equal(1);
  });

  it("a person's page: edit name, language and attributes; unsubscribe from everything", async () => {
    await page.goto(`${browser.base}/admin/subscribers/${ids.tiina}`);
    await page.getByRole('heading', { name: 'Tiina' }).waitFor();
    await page.getByRole('button', { name: 'Muokkaa tietoja' }).click();
    const form = page.locator('form', {
      has: page.getByRole('heading', { name: 'Muokkaa tietoja' }),
    });
    await form.getByLabel('Nimi', { exact: true }).fill('Tiina Tampere');
    await form.getByLabel('Kieli').selectOption('en');
    await form.getByLabel('Ominaisuuden arvo 1').fill('Tampere');
    await form.getByRole('button', { name: '+ Ominaisuus' }).click();
    await form.getByLabel('Ominaisuuden nimi 2').fill('tier');
    await form.getByLabel('Ominaisuuden arvo 2').fill('silver');
    await browser.axe('person edit');
    await browser.shot('24-person-edit');
    await form.getByRole('button', { name: 'Tallenna' }).click();
    await page.getByRole('heading', { name: 'Tiina Tampere' }).waitFor();
    const edited = await t.http.get(`/api/v1/subscribers/${ids.tiina}`).set(admin()).expect(200);
    expect(edited.body).to.include({ name: 'Tiina Tampere', locale: 'en' });
    expect(edited.body.attributes).to.deep.equal({ city: 'Tampere', tier: 'silver' });
    expect(await auditCount('subscriber.update', ids.tiina)).to.equal(1);

    await page.getByRole('button', { name: 'Peru kaikki tilaukset' }).click();
    await page.getByText('Kaikki tilaukset peruttu').waitFor();
    await page.getByTestId('person-facts').getByText('perunut').waitFor();
    expect(await auditCount('subscriber.delete', ids.tiina)).to.equal(1);
    // Erasure is data-protection work: a marketer is not offered it.
    expect(await page.getByRole('heading', { name: 'Poista henkilön tiedot' }).count()).to.equal(0);
    await browser.signOut();
  });

  it("a person's page: order facts paged by the server, opt-outs with channel, time and campaign", async () => {
    // Oona left the list by a reply to the campaign (the review queue); a complaint follows.
    await t.services.unsubscribe.unsubscribe({
      subscriberId: ids.oona!,
      scope: { all: true },
      channel: 'complaint',
      reason: 'complaint',
      campaignId,
    });
    const orders = Array.from({ length: 23 }, (_, n) => ({
      externalId: `screens-${n}`,
      email: people.oona,
      orderedAt: new Date(Date.UTC(2026, 0, 1 + n, 12)).toISOString(),
      total: `${10 + n}.50`,
      currency: 'EUR',
      categories: n === 0 ? ['kengät', 'sukat'] : ['kengät'],
    }));
    await t.http.post('/api/v1/orders').set(admin()).send({ orders }).expect(200);
    const ordersRead = await auditCount('orders.read', ids.oona);
    const optOutsRead = await auditCount('subscriber.opt_outs.read', ids.oona);

    await browser.signIn(users.marketer);
    await page.goto(`${browser.base}/admin/subscribers/${ids.oona}`);
    await page.getByRole('heading', { name: 'Oona', level: 1 }).waitFor();
    const orderRows = page.getByTestId('person-orders').locator('tbody tr');
    const orderRefs = async () =>
      (await orderRows.allInnerTexts()).map((row) => row.split(/\s/)[0]!);
    await orderRows.first().waitFor();
    const firstPage = await orderRefs();
    expect(firstPage).to.have.length(20);
    // The first order, on whichever page the server put it: its total and categories.
    const firstOrderShown = async () => {
      const row = page.getByTestId('person-orders').getByRole('row', { name: /^screens-0 / });
      if ((await row.count()) === 0) return false;
      expect(await row.innerText()).to.match(/10\.50 EUR\s+kengät, sukat/);
      return true;
    };
    const onFirstPage = await firstOrderShown();
    const optOuts = page.getByTestId('person-opt-outs');
    await optOuts.getByRole('row', { name: /roskapostiilmoitus/ }).waitFor();
    const reply = optOuts.getByRole('row', { name: /vastausviesti/ });
    expect(await reply.innerText()).to.include('syysuutiset');
    expect(await optOuts.getByRole('row', { name: /kaikilta listoilta/ }).count()).to.equal(1);
    expect(await optOuts.getByRole('link', { name: campaignId }).count()).to.equal(2);
    await browser.axe('person orders and opt-outs');
    await browser.shot('28-person-history');

    // The next page of orders comes from the server, by the cursor of the first.
    await page
      .getByRole('navigation', { name: 'Tilaukset' })
      .getByRole('button', { name: 'Seuraava sivu' })
      .click();
    await waitUntil('the last 3 orders shown', async () => (await orderRows.count()) === 3);
    const secondPage = await orderRefs();
    expect(new Set([...firstPage, ...secondPage])).to.deep.equal(
      new Set(orders.map((o) => o.externalId)),
    );
    expect(onFirstPage || (await firstOrderShown())).to.equal(true);
    expect(await auditCount('orders.read', ids.oona)).to.equal(ordersRead + 2);
    expect(await auditCount('subscriber.opt_outs.read', ids.oona)).to.equal(optOutsRead + 1);
    await browser.signOut();
  });

  it('data protection: the request register paged by the server, overdue ones counted by it', async () => {
    for (let n = 0; n < 23; n += 1) {
      await t.http
        .post('/api/v1/privacy/requests')
        .set(admin())
        .send({
          type: 'access',
          email: email(`request${n}`),
          channel: 'email',
          // The first is two months old, so past its due day.
          ...(n === 0
            ? {
                receivedAt: new Date(t.clock.now().getTime() - 60 * 24 * 60 * MINUTE).toISOString(),
              }
            : {}),
        })
        .expect(201);
    }
    const counts = await t.http.get('/api/v1/privacy/requests/counts').set(admin()).expect(200);
    expect(counts.body.overdue).to.equal(1);

    await browser.signIn(users.sales);
    await page.getByRole('heading', { name: 'Yleiskuva', level: 1 }).waitFor();
    await page
      .locator('section', { has: page.getByRole('heading', { name: 'Avoimet tietosuojapyynnöt' }) })
      .getByText(`${counts.body.open} (1 myöhässä)`)
      .waitFor();

    await browser.open(/Tietosuoja/);
    const rows = page.getByTestId('privacy-requests').locator('tbody tr');
    await rows.first().waitFor();
    const rowCount = (n: number) =>
      waitUntil(`${n} requests shown`, async () => (await rows.count()) === n);
    // In the order registered: the overdue one first, highlighted.
    await rowCount(20);
    expect(await rows.first().innerText()).to.include('myöhässä');
    expect(await rows.filter({ hasText: 'myöhässä' }).count()).to.equal(1);
    const pager = page.getByRole('navigation', { name: 'pagination' });
    await pager.getByRole('button', { name: 'Seuraava sivu' }).click();
    await rowCount(counts.body.open - 20);
    expect(await rows.filter({ hasText: 'myöhässä' }).count()).to.equal(0);
    await browser.axe('privacy requests, second page');
    await pager.getByRole('button', { name: 'Edellinen sivu' }).click();
    await rowCount(20);

    await page.getByLabel('Vain myöhässä olevat pyynnöt').check();
    await rowCount(1);
    expect(await rows.first().innerText()).to.include('myöhässä');
    await browser.axe('privacy requests, overdue only');
    await browser.signOut();
  });

  it('data protection: retention runs and their reports, and erasing a person with confirmation', async () => {
    await browser.signIn(users.sales);
    await browser.open(/Tietosuoja/);
    const runs = page.getByTestId('retention-runs');
    expect(await page.getByLabel('Koeajo (vain laskenta)').isChecked()).to.equal(true);
    await page.getByRole('button', { name: 'Aja säilytyssäännöt nyt' }).click();
    await runs.getByText(/api · Koeajo/).waitFor();
    expect(await runs.innerText()).to.match(/Osui \d+, Poistettu 0/);
    expect(await auditCount('retention.run')).to.equal(1);
    await browser.axe('retention');
    await browser.shot('25-retention');

    await page.goto(`${browser.base}/admin/subscribers/${ids.otto}`);
    await page.getByRole('heading', { name: 'Otto' }).waitFor();
    await page.getByRole('button', { name: 'Poista henkilön tiedot…' }).click();
    const confirm = page.getByRole('button', { name: 'Poista kaikki tiedot nyt' });
    expect(await confirm.isDisabled()).to.equal(true);
    await page.getByLabel('Vahvista kirjoittamalla sähköpostiosoite').fill('someone@example.com');
    expect(await confirm.isDisabled()).to.equal(true);
    await page.getByLabel('Vahvista kirjoittamalla sähköpostiosoite').fill(people.otto);
    await browser.axe('erase confirmation');
    await browser.shot('26-person-erase');
    await confirm.click();
    await page.getByRole('heading', { name: 'Tilaajat' }).waitFor();
    await t.http.get(`/api/v1/subscribers/${ids.otto}`).set(admin()).expect(404);
    expect(await auditCount('privacy.erase', ids.otto)).to.equal(1);
    await browser.signOut();
  });

  it('every screen fits 375 px and passes axe there', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    // Who may see each screen, and what shows that its data has arrived.
    const screens: Record<string, Array<[string, string, string, string]>> = {
      [users.marketer]: [
        ['overview', '', 'Yleiskuva', '#ov-lists'],
        ['lists', 'lists', 'Listat', 'table'],
        ['subscribers', 'subscribers', 'Tilaajat', 'table'],
        ['import', 'import', 'Tuonti', 'input[type=file]'],
        ['templates', 'templates', 'Pohjat', 'table'],
        ['template editor', `templates/${templateId}`, 'Syyskirje', 'iframe.preview'],
        ['campaigns', 'campaigns', 'Kampanjat', 'table'],
        ['campaign', `campaigns/${campaignId}`, 'Syyskampanja', '[data-testid=campaign-stats]'],
        ['segments', 'segments', 'Segmentit', '[data-testid=segment-count]'],
        ['inbound review', 'inbound', 'Saapuneet tarkistettavat', '[data-testid=inbound-review]'],
        ['person', `subscribers/${ids.tiina}`, 'Tiina Tampere', '[data-testid=person-attributes]'],
        ['person history', `subscribers/${ids.oona}`, 'Oona', '[data-testid=person-orders]'],
        ['account', 'account', 'Oma tili', 'select'],
      ],
      [users.sales]: [['data protection', 'privacy', 'Tietosuoja', '[data-testid=retention-runs]']],
      [users.admin]: [
        ['audit log', 'audit', 'Lokitiedot', '[data-testid=audit-log]'],
        ['staff and tokens', 'users', 'Käyttäjät ja avaimet', 'table'],
      ],
    };
    try {
      for (const [who, list] of Object.entries(screens)) {
        await browser.signIn(who);
        for (const [name, path, heading, ready] of list) {
          await page.goto(`${browser.base}/admin/${path}`);
          await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
          await page.locator(ready).first().waitFor();
          await browser.expectNoOverflow(name);
          await browser.axe(`${name} at 375 px`);
          if (name === 'person') await browser.shot('27-person-375');
        }
        await browser.signOut();
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });
});
