import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { drain, seedList, type SeededList } from '../../helpers/audience.js';
import { crlf, fixture } from '../../helpers/inbound.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';

const MJML =
  '<mj-section><mj-column><mj-text>Hei {{subscriber.name}}! <a href="https://shop.example.com/">Kauppa</a></mj-text></mj-column></mj-section>';

describe('deliverability guard: a campaign pauses itself', () => {
  let sink: SmtpSink;
  let t: TestApp;
  const auth = () => ({ Authorization: `Bearer ${t.adminToken}` });

  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: {
        INBOUND_DOMAIN: 'in.example.com',
        // Slow enough that the guard, judging each second's counts, acts long before the end.
        SEND_RATE_PER_SECOND: '30',
        SEND_BATCH_SIZE: '20',
        GUARD_MIN_DELIVERED: '40',
      },
    });
  });
  after(async () => {
    await t.close();
    await sink.stop();
  });
  beforeEach(() => {
    sink.messages.length = 0;
    sink.responder = null;
  });

  const get = async (id: string) =>
    (await t.http.get(`/api/v1/campaigns/${id}`).set(auth()).expect(200)).body;
  const stats = async (id: string) =>
    (await t.http.get(`/api/v1/campaigns/${id}/stats`).set(auth()).expect(200)).body;
  async function start(list: SeededList): Promise<string> {
    const res = await t.http
      .post('/api/v1/campaigns')
      .set(auth())
      .send({ name: 'Guarded', subject: 'Hei', mjml: MJML, lists: [list.slug] })
      .expect(201);
    await t.http.post(`/api/v1/campaigns/${res.body.id}/send`).set(auth()).expect(202);
    return res.body.id as string;
  }
  /** Every person got at most one mail, and exactly the ones recorded as sent. */
  async function expectNoDuplicates(id: string, list: SeededList) {
    const perAddress = new Map<string, number>();
    for (const m of sink.messages)
      for (const rcpt of m.rcptTo) perAddress.set(rcpt, (perAddress.get(rcpt) ?? 0) + 1);
    expect([...perAddress.values()].every((n) => n === 1)).to.equal(true);
    const campaign = (await t.http.get(`/api/v1/campaigns/${id}`).set(auth()).expect(200)).body;
    expect(campaign.stats.sent).to.equal(perAddress.size);
    for (const address of perAddress.keys())
      expect(list.subscribers.some((p) => p.email === address)).to.equal(true);
  }

  it('pauses at hard bounces over 5 % (550 at SMTP time), says why, resumes without duplicates', async () => {
    const list = await seedList(t.db.models, 300);
    const refused = new Set(list.subscribers.filter((_, i) => i % 10 === 3).map((p) => p.email));
    sink.responder = (rcpt) =>
      refused.has(rcpt) ? { code: 550, message: '5.1.1 No such user' } : null;
    const id = await start(list);
    await drain(t.services.sendWorker);

    const paused = await get(id);
    expect(paused.status).to.equal('paused');
    expect(paused.pausedByGuard.code).to.equal('hard_bounces');
    expect(paused.pausedByGuard.message).to.match(/hard bounces are [\d.]+ % of delivered mail/);
    expect(paused.stats.sent).to.be.below(270);
    const report = await stats(id);
    expect(report.guard.pausedBy.code).to.equal('hard_bounces');
    expect(report.totals.hardBounced).to.be.greaterThan(0);
    expect(report.guard.measured.hardBounceShare).to.be.greaterThan(0.05);

    // The operator removes the cause and resumes knowingly; the rest goes out once.
    sink.responder = null;
    const resumed = await t.http.post(`/api/v1/campaigns/${id}/resume`).set(auth()).expect(202);
    expect(resumed.body.pausedByGuard).to.equal(null);
    await drain(t.services.sendWorker);
    const done = await get(id);
    expect(done.status).to.equal('finished');
    expect(done.stats.sent + done.stats.failed).to.equal(300);
    await expectNoDuplicates(id, list);
  });

  it('does not judge a handful of mails: 1 bounce of 3 does not pause', async () => {
    const list = await seedList(t.db.models, 3);
    sink.responder = (rcpt) =>
      rcpt === list.subscribers[0]!.email ? { code: 550, message: 'No such user' } : null;
    const id = await start(list);
    await drain(t.services.sendWorker);
    await t.services.campaignCounter.flush();
    const done = await get(id);
    expect(done.status).to.equal('finished');
    expect(done.pausedByGuard).to.equal(null);
    expect((await stats(id)).totals).to.include({ delivered: 2, hardBounced: 1 });
  });

  it('pauses on complaint reports (ARF) over 0.3 %, and resumes without duplicates', async () => {
    const list = await seedList(t.db.models, 300);
    const id = await start(list);
    const sending = drain(t.services.sendWorker);
    await sink.waitFor(3);
    // Two recipients report the mail as spam while the campaign is still going out.
    for (const m of sink.messages.slice(0, 2)) {
      const text = fixture('arf-microsoft-jmrp-message-id-only.eml')
        .replaceAll('{{MESSAGE_ID}}', m.parsed.messageId!.replace(/[<>]/g, ''))
        .replaceAll('{{INBOUND_DOMAIN}}', t.config.inboundDomain)
        .replace('<jmrp-1@hotmail.com>', `<jmrp-${m.rcptTo[0]}@hotmail.com>`);
      const res = await t.services.inbound.process(crlf(text), {
        via: 'smtp',
        mailFrom: 'staff@hotmail.com',
        remoteIp: '127.0.0.1',
      });
      expect(res.classification).to.equal('complaint');
    }
    await sending;
    const paused = await get(id);
    expect(paused.status).to.equal('paused');
    expect(paused.pausedByGuard.code).to.equal('complaints');
    expect(paused.pausedByGuard.message).to.match(/over the limit of 0\.3 %/);
    expect((await stats(id)).totals.complaints).to.equal(2);

    await t.http.post(`/api/v1/campaigns/${id}/resume`).set(auth()).expect(202);
    await drain(t.services.sendWorker);
    const done = await get(id);
    expect(done.status).to.equal('finished');
    expect(done.stats.sent).to.equal(300);
    await expectNoDuplicates(id, list);
  });
});
