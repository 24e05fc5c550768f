import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { drain, seedList } from '../../helpers/audience.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36';
const LINKS = [
  'https://shop.example.com/autumn',
  'https://shop.example.com/search?q=boots&size=42',
  'https://blog.example.com/story',
];
const MJML = `<mj-section><mj-column>
<mj-text>Hei {{subscriber.name}}! <a href="${LINKS[0]}">Syksyn uutuudet</a> ja <a href="${LINKS[1]!.replace('&', '&amp;')}">saappaat</a>.</mj-text>
<mj-button href="${LINKS[2]}">Lue lisää</mj-button>
<mj-text><a href="${LINKS[0]}">Uudelleen sama linkki</a> <a href="https://shop.example.com/?c={{subscriber.attributes.city}}">Oma kaupunki</a></mj-text>
</mj-column></mj-section>`;

const tracked = (html: string) =>
  [...html.matchAll(/href="(https:\/\/news\.example\.com\/r\/([A-Za-z0-9_-]+))"/g)].map((m) => ({
    url: m[1]!,
    token: m[2]!,
  }));

describe('campaign analytics: links, opens and scanners, identifying no one', () => {
  let sink: SmtpSink;
  let t: TestApp;
  const auth = () => ({ Authorization: `Bearer ${t.adminToken}` });

  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: { INBOUND_DOMAIN: 'in.example.com', SEND_RATE_PER_SECOND: '10000' },
    });
  });
  after(async () => {
    await t.close();
    await sink.stop();
  });
  beforeEach(() => {
    sink.messages.length = 0;
  });

  async function sendCampaign(n: number, extra: Record<string, unknown> = {}) {
    const list = await seedList(t.db.models, n);
    const res = await t.http
      .post('/api/v1/campaigns')
      .set(auth())
      .send({ name: 'Syksy', subject: 'Syksy', mjml: MJML, lists: [list.slug], ...extra })
      .expect(201);
    const id = res.body.id as string;
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    await drain(t.services.sendWorker);
    await sink.waitFor(n);
    return { id, list, view: res.body };
  }
  const stats = async (id: string) =>
    (await t.http.get(`/api/v1/campaigns/${id}/stats`).set(auth()).expect(200)).body;

  it('counts clicks per link from the received mails; the token names no one', async () => {
    const { id, list, view } = await sendCampaign(3, { trackOpens: true });
    expect(view.tracking).to.deep.equal({ clicks: true, opens: true });
    // The same three redirects in every mail, whoever it went to; per-person links untouched.
    const perMail = sink.messages.map((m) => tracked(String(m.parsed.html)));
    for (const links of perMail) {
      expect(links.map((l) => l.url)).to.deep.equal(perMail[0]!.map((l) => l.url));
      expect(new Set(links.map((l) => l.token)).size).to.equal(3);
    }
    for (const m of sink.messages) {
      const html = String(m.parsed.html);
      expect(html).to.match(/href="https:\/\/news\.example\.com\/u\/[^"]+"/);
      expect(html).to.include('https://shop.example.com/?c=City');
      // The text part keeps the links as written.
      expect(m.parsed.text).to.include(LINKS[0]);
    }
    const [autumn, boots, story] = perMail[0]!.filter(
      (l, i, all) => all.findIndex((x) => x.token === l.token) === i,
    );
    for (const [i, link] of [autumn!, boots!, story!].entries()) {
      expect(t.services.tokens.verifyLink('click', link.token)).to.deep.equal({
        campaignId: id,
        index: i,
      });
      const bytes = Buffer.from(link.token, 'base64url');
      for (const person of list.subscribers) {
        expect(bytes.includes(Buffer.from(person.id, 'hex'))).to.equal(false);
        expect(link.url).to.not.include(person.email.split('@')[0]!);
      }
      // All it holds: the campaign (12 bytes), the link's index (2) and the signature (12).
      expect(bytes).to.have.length(26);
      expect(bytes.subarray(0, 12).toString('hex')).to.equal(id);
      expect(bytes.readUInt16BE(12)).to.equal(i);
    }

    // Two of the three links clicked from the received mails.
    for (const link of [autumn!, autumn!, story!]) {
      const res = await t.http
        .get(new URL(link.url).pathname)
        .set('User-Agent', BROWSER)
        .expect(302);
      expect(res.headers['cache-control']).to.equal('no-store');
    }
    const res = await t.http.get(new URL(boots!.url).pathname).set('User-Agent', BROWSER);
    expect(res.status).to.equal(302);
    expect(res.headers.location).to.equal(LINKS[1]);
    expect(
      (await t.http.get(new URL(autumn!.url).pathname).set('User-Agent', BROWSER)).headers.location,
    ).to.equal(LINKS[0]);

    // Scanners: a HEAD, a prefetch, a known scanner, a non-browser while delivery is fresh.
    await t.http.head(new URL(story!.url).pathname).set('User-Agent', BROWSER).expect(302);
    await t.http
      .get(new URL(story!.url).pathname)
      .set('User-Agent', BROWSER)
      .set('Sec-Purpose', 'prefetch')
      .expect(302);
    await t.http
      .get(new URL(story!.url).pathname)
      .set('User-Agent', BROWSER)
      .set('Purpose', 'prefetch')
      .expect(302);
    await t.http
      .get(new URL(story!.url).pathname)
      .set('User-Agent', 'Mozilla/5.0 (compatible; Barracuda Sentinel)')
      .expect(302);
    await t.http.get(new URL(story!.url).pathname).set('User-Agent', 'LinkChecker/2.1').expect(302);

    // The open pixel: one URL for everyone, counted without a person.
    const pixels = sink.messages.map(
      (m) => /<img src="(https:\/\/news\.example\.com\/o\/[^"]+)"/.exec(String(m.parsed.html))![1],
    );
    expect(new Set(pixels).size).to.equal(1);
    const pixel = await t.http.get(new URL(pixels[0]!).pathname).set('User-Agent', BROWSER);
    expect(pixel.status).to.equal(200);
    expect(pixel.headers['content-type']).to.equal('image/gif');
    await t.http.head(new URL(pixels[0]!).pathname).expect(200);

    const body = await stats(id);
    expect(body.links).to.deep.equal([
      { index: 0, url: LINKS[0], clicks: 3, botClicks: 0 },
      { index: 1, url: LINKS[1], clicks: 1, botClicks: 0 },
      { index: 2, url: LINKS[2], clicks: 1, botClicks: 5 },
    ]);
    expect(body.totals).to.include({
      delivered: 3,
      clicks: 5,
      botClicks: 5,
      opens: 1,
      botOpens: 1,
      hardBounced: 0,
    });
    expect(body.notes.opens).to.match(/privacy proxies/);
    const hour = body.series.find((p: { clicks: number }) => p.clicks > 0);
    expect(hour).to.include({ hours: 1, start: '2026-01-15T10:00:00.000Z', delivered: 3 });
    // Nothing about a person in the whole answer.
    const text = JSON.stringify(body);
    for (const person of list.subscribers) {
      expect(text).to.not.include(person.id);
      expect(text).to.not.include(person.email);
    }
  });

  it('answers a forged, edited or misused token with a 400 page and counts nothing', async () => {
    const { id } = await sendCampaign(1);
    const [link] = tracked(String(sink.messages[0]!.parsed.html));
    const token = link!.token;
    const bytes = Buffer.from(token, 'base64url');
    const otherIndex = Buffer.from(bytes);
    otherIndex[13] = 2;
    const otherMac = Buffer.from(bytes);
    otherMac[bytes.length - 1]! ^= 1;
    const forged = [
      otherIndex.toString('base64url'),
      otherMac.toString('base64url'),
      token.slice(0, -1),
      `${token}A`,
      t.services.tokens.signLink('open', { campaignId: id, index: 0 }),
      '..%2f..%2fetc',
    ];
    for (const bad of forged) {
      const res = await t.http.get(`/r/${bad}`).set('User-Agent', BROWSER);
      expect(res.status, bad).to.equal(400);
      expect(res.headers['content-type']).to.match(/text\/html/);
      expect(res.headers.location).to.equal(undefined);
    }
    // A valid token for a link the campaign does not have leads nowhere.
    const beyond = t.services.tokens.signLink('click', { campaignId: id, index: 7 });
    expect((await t.http.get(`/r/${beyond}`).set('User-Agent', BROWSER)).status).to.equal(404);
    expect((await stats(id)).totals).to.include({ clicks: 0, botClicks: 0 });
  });

  it('leaves links alone when click tracking is off, and adds no pixel by default', async () => {
    const { id, view } = await sendCampaign(1, { trackClicks: false });
    expect(view.tracking).to.deep.equal({ clicks: false, opens: false });
    const html = String(sink.messages[0]!.parsed.html);
    expect(tracked(html)).to.have.length(0);
    expect(html).to.include(`href="${LINKS[0]}"`);
    expect(html).to.not.include('/o/');
    expect((await stats(id)).links.map((l: { url: string }) => l.url)).to.deep.equal(LINKS);
  });

  it('counts a non-browser client as a person once delivery is long past', async () => {
    const { id } = await sendCampaign(1);
    const [link] = tracked(String(sink.messages[0]!.parsed.html));
    t.clock.advance(3 * 86_400_000);
    await t.http.get(`/r/${link!.token}`).set('User-Agent', 'LinkChecker/2.1').expect(302);
    const body = await stats(id);
    expect(body.links[0]).to.include({ clicks: 1, botClicks: 0 });
    // Three days on, the series has turned daily after its first 48 hours.
    const last = body.series[body.series.length - 1];
    expect(last).to.include({ hours: 24, clicks: 1 });
    expect(body.series[0]).to.include({ hours: 1, delivered: 1 });
  });

  it('counts unsubscribes by channel, from the events of the mails received', async () => {
    const { id } = await sendCampaign(2);
    for (const [i, m] of sink.messages.entries()) {
      const url = /<(https:\/\/news\.example\.com\/u\/[^>]+)>/.exec(
        m.raw.toString().replace(/\r\n[ \t]+/g, ' '),
      )![1]!;
      const path = new URL(url).pathname;
      if (i === 0)
        await t.http.post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
      else
        await t.http
          .post(path)
          .type('form')
          .send({ action: 'unsubscribe', scope: 'all' })
          .expect(200);
    }
    const body = await stats(id);
    expect(body.totals.unsubscribed).to.equal(2);
    expect(body.unsubscribedByChannel).to.include({ 'one-click': 1, link: 1 });
    expect(body.series[0]).to.include({ unsubscribed: 2, delivered: 2 });
  });

  it('leaves the links of a campaign stored before tracking as they are', async () => {
    const list = await seedList(t.db.models, 1);
    const res = await t.http
      .post('/api/v1/campaigns')
      .set(auth())
      .send({ name: 'Vanha', subject: 'Vanha', mjml: MJML, lists: [list.slug] })
      .expect(201);
    await t.db.models.Campaign.updateOne({ _id: res.body.id }, { $unset: { links: 1 } });
    await t.http.post(`/api/v1/campaigns/${res.body.id}/send`).set(auth()).expect(202);
    await drain(t.services.sendWorker);
    const [m] = await sink.waitFor(1);
    expect(tracked(String(m!.parsed.html))).to.have.length(0);
    expect(String(m!.parsed.html)).to.include(`href="${LINKS[0]}"`);
  });

  it('refuses person-level tracking in the configuration', async () => {
    const { loadConfig } = await import('../../../src/config/config.js');
    expect(() => loadConfig({ TRACKING_PERSON_LEVEL: 'on' })).to.throw(/never per person/);
    expect(() => loadConfig({ TRACKING_PERSON_LEVEL: 'off' })).to.not.throw();
  });
});
