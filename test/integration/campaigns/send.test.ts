import { expect } from 'chai';
import { Types } from 'mongoose';
import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { drain, FixedSegments, seedList } from '../../helpers/audience.js';
import { TestRenderer } from '../../helpers/renderer.js';
import { markSentAsUnknown, recipientOutcomes } from '../../helpers/send-records.js';
import { expireRecipientRecords, holdRecordExpiry } from '../../../src/campaigns/send/records.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';

const MJML =
  '<mj-section><mj-column><mj-text>Hei {{subscriber.name}} from {{subscriber.attributes.city}}! <a href="{{unsubscribeUrl}}">Peru tilaus</a></mj-text></mj-column></mj-section>';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const DKIM_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DKIM_TXT = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const resolver = async (name: string, rrtype: string) => {
  if (rrtype === 'TXT' && name === 'k1._domainkey.example.com') return [[DKIM_TXT]];
  throw Object.assign(new Error('no such record'), { code: 'ENOTFOUND' });
};

describe('campaign sending', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let renderer: TestRenderer;
  const segments = new Map<string, string[]>();
  const audience = new FixedSegments(segments);

  before(async () => {
    sink = await new SmtpSink().start();
    renderer = new TestRenderer();
    t = await bootApp({
      smtpUrl: sink.url,
      env: {
        INBOUND_DOMAIN: 'in.example.com',
        DKIM_DOMAIN: 'example.com',
        DKIM_SELECTOR: 'k1',
        DKIM_PRIVATE_KEY: DKIM_PEM,
        SEND_BATCH_SIZE: '4',
        SEND_RATE_PER_SECOND: '10000',
        SEND_RETRY_BASE_SECONDS: '60',
        SEND_MAX_RETRIES: '2',
      },
      ports: { renderer, audience },
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

  const auth = () => ({ Authorization: `Bearer ${t.adminToken}` });
  async function createCampaign(body: Record<string, unknown>): Promise<string> {
    const res = await t.http
      .post('/api/v1/campaigns')
      .set(auth())
      .send({ name: 'Syksy', subject: 'Tarjous {{subscriber.name}}', mjml: MJML, ...body })
      .expect(201);
    expect(res.body.status).to.equal('draft');
    return res.body.id as string;
  }
  const get = async (id: string) =>
    (await t.http.get(`/api/v1/campaigns/${id}`).set(auth()).expect(200)).body;
  /** Gives these people addresses at `domain`, whose server a test's responder then plays. */
  async function moveToDomain(people: Array<{ id: string; email: string }>, domain: string) {
    for (const [n, p] of people.entries()) {
      p.email = `p${n}.${p.id}@${domain}`;
      await t.db.models.Subscriber.collection.updateOne(
        { _id: new Types.ObjectId(p.id) },
        { $set: { email: p.email } },
      );
    }
  }

  it('sends a list campaign: personalised, every contract header, DKIM that verifies', async () => {
    const list = await seedList(t.db.models, 6, {
      extra: [{ status: 'unconfirmed' }, { status: 'unsubscribed' }],
    });
    // Suppressed before the start: excluded from the snapshot and counted as skipped.
    await t.services.suppressions.suppress(list.subscribers[5]!.email, 'all', 'unsubscribe');
    const id = await createCampaign({ lists: [list.slug] });
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    const compilationsBefore = renderer.compilations;
    await drain(t.services.sendWorker);
    expect(renderer.compilations - compilationsBefore).to.equal(1);

    const body = await get(id);
    expect(body.status).to.equal('finished');
    expect(body.stats).to.deep.equal({
      recipients: 8,
      sent: 5,
      failed: 0,
      skipped: 3,
      unknown: 0,
      unsubscribed: 0,
      bounced: 0,
    });
    expect(body.progress).to.equal(1);
    expect(sink.messages).to.have.length(5);

    for (const person of list.subscribers.slice(0, 5)) {
      const [m] = sink.to(person.email);
      expect(m, person.email).to.not.equal(undefined);
      const p = m!.parsed;
      expect(p.subject).to.equal(`Tarjous ${person.name}`);
      expect(p.html).to.include(`Hei ${person.name} from City`);
      expect(p.text).to.include(`Hei ${person.name} from City`);
      expect(p.messageId).to.equal(`<${id}.${person.id}@example.com>`);

      const match =
        /^<(https:\/\/news\.example\.com\/u\/([^>]+))>, <mailto:unsubscribe\+([a-z2-7]{52})@in\.example\.com\?subject=unsubscribe>$/.exec(
          m!.raw
            .toString()
            .match(/^List-Unsubscribe: ?(.*(?:\r\n[ \t].*)*)/im)![1]!
            .replace(/\r\n[ \t]+/g, ' ')
            .trim(),
        );
      expect(match).to.not.equal(null);
      const [, url, urlToken, mailToken] = match!;
      expect(p.html).to.include(url);
      expect(p.text).to.include(url);
      expect(t.services.tokens.verify('unsubscribe', urlToken!)).to.deep.equal({
        subscriberId: person.id,
        campaignId: id,
        listId: list.listId,
      });
      expect(t.services.tokens.verifyAddress('unsubscribe', mailToken!).subscriberId).to.equal(
        person.id,
      );
      // No address inside any link or token.
      const local = person.email.split('@')[0]!;
      for (const s of [
        url!,
        decodeURIComponent(url!),
        Buffer.from(urlToken!.split('.')[1]!, 'base64url').toString(),
      ]) {
        expect(s).to.not.include(local);
        expect(s).to.not.include('@');
      }
      expect(m!.raw.toString()).to.match(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
      expect(m!.raw.toString()).to.match(
        new RegExp(`^List-Id: "List ${list.slug}" <${list.slug}\\.in\\.example\\.com>`, 'mi'),
      );
      expect(m!.raw.toString()).to.match(
        new RegExp(`^Feedback-ID: ${id}:${list.slug}:campaign:kirje`, 'mi'),
      );
      expect(m!.mailFrom).to.match(/^bounces\+[a-z2-7]{52}@in\.example\.com$/);
      const bounce = m!.mailFrom.slice('bounces+'.length, m!.mailFrom.indexOf('@'));
      expect(t.services.tokens.verifyAddress('bounce', bounce).campaignId).to.equal(id);
      expect(p.html).to.include('Testikauppa Oy');

      const dkim = await dkimVerify(m!.raw, { resolver });
      expect(dkim.results).to.have.length(1);
      expect(dkim.results[0]!.status.result, dkim.results[0]!.info).to.equal('pass');
      const signed = /\bh=([^;]+)/
        .exec(m!.raw.toString().replace(/\r\n[ \t]+/g, ''))![1]!
        .toLowerCase()
        .split(':');
      for (const h of [
        'list-unsubscribe',
        'list-unsubscribe-post',
        'list-id',
        'feedback-id',
        'message-id',
      ]) {
        expect(signed).to.include(h);
      }
    }
  });

  it('sends a segment campaign through the audience port', async () => {
    const list = await seedList(t.db.models, 5);
    segments.set(
      'vip',
      list.subscribers.slice(1, 4).map((s) => s.id),
    );
    const id = await createCampaign({ segmentId: 'vip' });
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    await drain(t.services.sendWorker);
    expect((await get(id)).stats).to.include({ recipients: 3, sent: 3 });
    expect(sink.messages.map((m) => m.rcptTo[0]).sort()).to.deep.equal(
      list.subscribers
        .slice(1, 4)
        .map((s) => s.email)
        .sort(),
    );
  });

  it('sends the first batches while the snapshot is still reading the audience', async () => {
    const list = await seedList(t.db.models, 1010);
    const ids = list.subscribers.map((s) => s.id).sort();
    segments.set('big', ids);
    // The audience stops after its first page (1,000 people) until the test lets it go on.
    let letGo!: () => void;
    audience.gates.set('big', { after: 1000, opened: new Promise((resolve) => (letGo = resolve)) });
    const id = await createCampaign({ segmentId: 'big' });
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    for (let tick = 0; tick < 20 && sink.messages.length === 0; tick++) {
      await t.services.sendWorker.tick();
    }
    expect(sink.messages.length).to.be.above(0);
    expect((await t.db.models.Campaign.findById(id).lean())!.snapshot).to.equal('taking');

    letGo();
    await drain(t.services.sendWorker);
    const body = await get(id);
    expect(body.status).to.equal('finished');
    expect(body.stats).to.include({ recipients: 1010, sent: 1010 });
    const delivered = sink.messages.map((m) => m.rcptTo[0]);
    expect(new Set(delivered).size).to.equal(1010);
    expect(delivered).to.have.length(1010);
  });

  it('skips an address suppressed after the start', async () => {
    const list = await seedList(t.db.models, 10);
    const id = await createCampaign({ lists: [list.listId] });
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    await t.services.sendWorker.tick(); // snapshot
    expect((await get(id)).stats.skipped).to.equal(0);
    await t.services.suppressions.suppress(list.subscribers[9]!.email, 'all', 'complaint');
    await drain(t.services.sendWorker);
    const body = await get(id);
    expect(body.stats).to.include({ recipients: 10, sent: 9, skipped: 1 });
    expect(sink.to(list.subscribers[9]!.email)).to.have.length(0);
  });

  it('pauses, resumes and cancels; invalid transitions are 409', async () => {
    const list = await seedList(t.db.models, 12);
    const id = await createCampaign({ lists: [list.listId] });
    await t.http.post(`/api/v1/campaigns/${id}/pause`).set(auth()).expect(409);
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(409);
    await t.http.patch(`/api/v1/campaigns/${id}`).set(auth()).send({ subject: 'x' }).expect(409);
    await t.services.sendWorker.tick(); // snapshot
    await t.services.sendWorker.tick(); // first batch of 4
    expect(sink.messages).to.have.length(4);
    const paused = await t.http.post(`/api/v1/campaigns/${id}/pause`).set(auth()).expect(202);
    expect(paused.body.status).to.equal('paused');
    expect(await t.services.sendWorker.tick()).to.equal(false);
    expect(sink.messages).to.have.length(4);
    await t.http.post(`/api/v1/campaigns/${id}/resume`).set(auth()).expect(202);
    await t.services.sendWorker.tick();
    expect(sink.messages).to.have.length(8);
    const cancelled = await t.http.post(`/api/v1/campaigns/${id}/cancel`).set(auth()).expect(202);
    expect(cancelled.body.status).to.equal('cancelled');
    await drain(t.services.sendWorker);
    expect(sink.messages).to.have.length(8);
    await t.http.post(`/api/v1/campaigns/${id}/resume`).set(auth()).expect(409);
    expect((await get(id)).stats).to.include({ recipients: 12, sent: 8 });
  });

  it('concurrent lifecycle requests are applied one at a time; the rest are 409', async () => {
    const list = await seedList(t.db.models, 3);
    const id = await createCampaign({ lists: [list.listId] });
    const race = async (actions: string[]) => {
      const res = await Promise.all(
        actions.map((a) => t.http.post(`/api/v1/campaigns/${id}/${a}`).set(auth())),
      );
      for (const r of res) expect(r.status).to.be.oneOf([202, 409]);
      return actions
        .map((a, i) => ({ action: a, res: res[i]! }))
        .filter((w) => w.res.status === 202)
        .map((w) => `${w.action}:${w.res.body.status}`);
    };
    // Only the first of six identical requests finds the state it needs.
    expect(await race(['send', 'send', 'send', 'send', 'send', 'send'])).to.deep.equal([
      'send:running',
    ]);
    expect(await race(['pause', 'pause', 'pause', 'pause', 'pause', 'pause'])).to.deep.equal([
      'pause:paused',
    ]);
    // Resume and cancel at once: a cancel always lands (from paused, or from the running state a
    // resume made first); never two resumes, never two cancels.
    const won = await race(['resume', 'cancel', 'resume', 'cancel', 'resume', 'cancel']);
    expect(won.filter((w) => w === 'cancel:cancelled')).to.have.length(1);
    expect(won.filter((w) => w.startsWith('resume')).length).to.be.at.most(1);
    expect(won.filter((w) => w.startsWith('resume'))).to.satisfy((r: string[]) =>
      r.every((w) => w === 'resume:running'),
    );
    expect((await get(id)).status).to.equal('cancelled');
  });

  it('retries 451 then 250 once; 550 fails with the reply', async () => {
    const list = await seedList(t.db.models, 2);
    const [soft, hard] = list.subscribers;
    const seen = new Map<string, number>();
    sink.responder = (rcpt) => {
      seen.set(rcpt, (seen.get(rcpt) ?? 0) + 1);
      if (rcpt === hard!.email) return { code: 550, message: 'No such mailbox here' };
      if (rcpt === soft!.email && seen.get(rcpt) === 1) return { code: 451, message: 'Try later' };
      return null;
    };
    const id = await createCampaign({ lists: [list.listId] });
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    await drain(t.services.sendWorker);
    let body = await get(id);
    expect(body.status).to.equal('running');
    expect(body.stats).to.include({ sent: 0, failed: 1 });
    const failed = (await recipientOutcomes(t.db.models, id)).get(hard!.id);
    expect(failed!.status).to.equal('failed');
    expect(failed!.detail).to.include('550').and.include('No such mailbox here');

    t.clock.advance(61_000);
    await drain(t.services.sendWorker);
    body = await get(id);
    expect(body.status).to.equal('finished');
    expect(body.stats).to.include({ sent: 1, failed: 1 });
    expect(sink.to(soft!.email)).to.have.length(1);
    const ok = (await recipientOutcomes(t.db.models, id)).get(soft!.id);
    expect(ok).to.include({ status: 'sent', attempt: 2 });
  });

  it('backs off a domain that answers 451 while other domains keep their pace', async () => {
    const list = await seedList(t.db.models, 10);
    // Every other person moves to a domain whose server defers everything for now.
    const slow = list.subscribers.filter((_, i) => i % 2 === 0);
    const fast = list.subscribers.filter((_, i) => i % 2 === 1);
    await moveToDomain(slow, 'slow.example.net');
    let deferring = true;
    const slowAttempts: string[] = [];
    sink.responder = (rcpt) => {
      if (!rcpt.endsWith('@slow.example.net')) return null;
      slowAttempts.push(rcpt);
      return deferring ? { code: 451, message: '4.7.1 Try again later' } : null;
    };
    const id = await createCampaign({ lists: [list.listId] });
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    await drain(t.services.sendWorker);
    // Batches of 4 alternate the domains: the first window's two slow ones met the 451; the
    // later slow ones were held back without a transaction; every fast one went out meanwhile.
    expect(sink.messages.map((m) => m.rcptTo[0]).sort()).to.deep.equal(
      fast.map((p) => p.email).sort(),
    );
    expect(slowAttempts).to.have.length(2);
    const outcomes = await recipientOutcomes(t.db.models, id);
    const held = slow.filter((p) => outcomes.get(p.id)!.detail!.includes('held back'));
    expect(held).to.have.length(3);
    expect((await get(id)).status).to.equal('running');

    deferring = false;
    t.clock.advance(61_000);
    await drain(t.services.sendWorker);
    const body = await get(id);
    expect(body.status).to.equal('finished');
    expect(body.stats).to.include({ sent: 10, failed: 0 });
    for (const p of slow) expect(sink.to(p.email), p.email).to.have.length(1);
  });

  it('counts only real tries towards SEND_MAX_RETRIES: a recipient held back for its domain keeps its tries', async () => {
    const list = await seedList(t.db.models, 10);
    const slow = list.subscribers.filter((_, i) => i % 2 === 0);
    await moveToDomain(slow, 'held.example.net');
    let deferring = true;
    const tries = new Map<string, number>();
    sink.responder = (rcpt) => {
      if (!rcpt.endsWith('@held.example.net')) return null;
      tries.set(rcpt, (tries.get(rcpt) ?? 0) + 1);
      return deferring ? { code: 451, message: '4.7.1 Try again later' } : null;
    };
    const id = await createCampaign({ lists: [list.listId] });
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    // Three rounds of deferral: SEND_MAX_RETRIES is 2, so a third real try that is deferred fails.
    for (let round = 0; round < 3; round++) {
      await drain(t.services.sendWorker);
      t.clock.advance(3_600_000);
    }
    deferring = false;
    await drain(t.services.sendWorker);
    expect((await get(id)).status).to.equal('finished');

    const outcomes = await recipientOutcomes(t.db.models, id);
    let deliveredAfterHolding = 0;
    for (const p of slow) {
      const outcome = outcomes.get(p.id)!;
      const triedTimes = tries.get(p.email) ?? 0;
      if (outcome.status === 'failed') {
        // Failed only after three real tries, each one deferred.
        expect(triedTimes, p.email).to.equal(3);
      } else {
        expect(outcome.status, p.email).to.equal('sent');
        expect(sink.to(p.email), p.email).to.have.length(1);
        expect(triedTimes, p.email).to.be.at.most(3);
        deliveredAfterHolding += 1;
      }
    }
    // Counting attempts instead of tries failed everyone still deferred at the third attempt.
    expect(deliveredAfterHolding).to.be.above(0);
  });

  it('keeps per-recipient records for SEND_RECIPIENT_RECORD_DAYS, then only the counters', async () => {
    const list = await seedList(t.db.models, 6);
    sink.responder = (rcpt) =>
      rcpt === list.subscribers[0]!.email ? { code: 550, message: 'No such mailbox' } : null;
    const id = await createCampaign({ lists: [list.listId] });
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    await drain(t.services.sendWorker);
    const finished = await get(id);
    expect(finished.stats).to.include({ recipients: 6, sent: 5, failed: 1 });
    const campaignId = new Types.ObjectId(id);
    const records = async () =>
      (
        await Promise.all([
          t.db.models.CampaignBatch.countDocuments({ campaignId }),
          t.db.models.CampaignBatchEntries.countDocuments({ campaignId }),
          t.db.models.CampaignWindow.countDocuments({ campaignId }),
          t.db.models.CampaignWindowOutcome.countDocuments({ campaignId }),
        ])
      ).reduce((a, b) => a + b, 0);
    expect(await records()).to.be.above(0);
    const expire = () => expireRecipientRecords(t.db.models, t.clock, 'test');

    // Within the window (30 days by default) everything stays: who got what can still be told.
    t.clock.advanceDays(29);
    await expire();
    expect((await recipientOutcomes(t.db.models, id)).get(list.subscribers[0]!.id)).to.include({
      status: 'failed',
    });

    t.clock.advanceDays(2);
    await expire();
    expect(await records()).to.equal(0);
    expect((await recipientOutcomes(t.db.models, id)).size).to.equal(0);
    const after = await get(id);
    expect(after.stats).to.deep.equal(finished.stats);
    expect(after.status).to.equal('finished');
    const retry = await t.http.post(`/api/v1/campaigns/${id}/retry-unknown`).set(auth());
    expect(retry.status).to.equal(202);
    expect(retry.body.requeued).to.equal(0);
    // Deleting the campaign afterwards still works and leaves nothing of it.
    await t.http.delete(`/api/v1/campaigns/${id}`).set(auth()).expect(204);
    expect(await t.db.models.Campaign.countDocuments({ _id: campaignId })).to.equal(0);
  });

  it('never requeues unknown recipients from records that are expiring: past the date nothing is requeued, a retry before it holds them a day', async () => {
    const list = await seedList(t.db.models, 3);
    const id = await createCampaign({ lists: [list.listId] });
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    await drain(t.services.sendWorker);
    await markSentAsUnknown(t.db.models, id, list.subscribers[0]!.id);
    const campaignId = new Types.ObjectId(id);
    const expire = () => expireRecipientRecords(t.db.models, t.clock, 'test');
    const keptUntil = async () =>
      (await t.db.models.Campaign.findById(campaignId).lean())!.recordsKeptUntil!.getTime();

    // Half a day before the date (30 days): a retry first holds the records for a day.
    t.clock.advance(29.5 * 86_400_000);
    const campaign = (await t.db.models.Campaign.findById(campaignId).lean())!;
    expect(await holdRecordExpiry(t.db.models, t.clock, campaign, 'test')).to.equal(true);
    expect(await keptUntil()).to.equal(t.clock.now().getTime() + 86_400_000);
    t.clock.advanceDays(0.75);
    expect(await expire()).to.equal(0);
    expect((await recipientOutcomes(t.db.models, id)).get(list.subscribers[0]!.id)).to.include({
      status: 'unknown',
    });

    // Past the held date, before the expiry ran: the records are due, nothing is requeued.
    t.clock.advanceDays(0.5);
    const retry = await t.http.post(`/api/v1/campaigns/${id}/retry-unknown`).set(auth());
    expect(retry.status).to.equal(202);
    expect(retry.body.requeued).to.equal(0);
    expect((await get(id)).status).to.equal('finished');
    expect(await expire()).to.equal(1);
    expect((await get(id)).stats).to.include({ sent: 2, unknown: 1 });
  });

  it('emits campaign.finished once, also when a worker died between finishing and the event', async () => {
    const list = await seedList(t.db.models, 2);
    const id = await createCampaign({ lists: [list.listId] });
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    await drain(t.services.sendWorker);
    const key = `campaign.finished:${id}`;
    const stored = () => t.db.models.DomainEvent.countDocuments({ key });
    const mark = async () =>
      (await t.db.models.Campaign.findById(id).lean())!.finishedEventDue ?? false;
    expect(await stored()).to.equal(1);
    expect(await mark()).to.equal(false);

    // The state a worker killed right after its finishing write leaves: marked, no event.
    await t.db.models.DomainEvent.deleteMany({ key });
    await t.db.models.Campaign.updateOne({ _id: id }, { $set: { finishedEventDue: true } });
    await t.services.sendWorker.emitFinishedEventsLeftBehind();
    expect(await stored()).to.equal(1);
    expect(await mark()).to.equal(false);
    // Once more changes nothing: the event is keyed by the campaign.
    await t.db.models.Campaign.updateOne({ _id: id }, { $set: { finishedEventDue: true } });
    await t.services.sendWorker.emitFinishedEventsLeftBehind();
    expect(await stored()).to.equal(1);
  });

  it('schedules with sendAt by the injected clock', async () => {
    const list = await seedList(t.db.models, 1);
    const sendAt = new Date(t.clock.now().getTime() + 3_600_000).toISOString();
    const id = await createCampaign({ lists: [list.listId], sendAt });
    const res = await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth()).expect(202);
    expect(res.body.status).to.equal('scheduled');
    await t.http
      .patch(`/api/v1/campaigns/${id}`)
      .set(auth())
      .send({ subject: 'Uusi {{subscriber.name}}' })
      .expect(200);
    await drain(t.services.sendWorker);
    expect(sink.messages).to.have.length(0);
    t.clock.advance(3_600_000);
    await drain(t.services.sendWorker);
    expect((await get(id)).status).to.equal('finished');
    expect(sink.messages[0]!.parsed.subject).to.equal('Uusi Person 0');
  });

  it('sends [TEST] mails to staff only, previews, and refuses header injection', async () => {
    const list = await seedList(t.db.models, 1);
    const id = await createCampaign({ lists: [list.listId] });
    const staff = await t.services.auth.createUser({
      email: 'editor@example.com',
      role: 'marketing',
    });
    await t.http
      .post(`/api/v1/campaigns/${id}/test`)
      .set(auth())
      .send({ emails: [staff.email] })
      .expect(200);
    await sink.waitFor(1);
    expect(sink.messages[0]!.parsed.subject).to.match(/^\[TEST\] Tarjous/);
    await t.http
      .post(`/api/v1/campaigns/${id}/test`)
      .set(auth())
      .send({ emails: ['stranger@example.com'] })
      .expect(400);

    const preview = await t.http
      .post(`/api/v1/campaigns/${id}/preview`)
      .set(auth())
      .send({ subscriberId: list.subscribers[0]!.id })
      .expect(200);
    expect(preview.body.html).to.include('Hei Person 0');
    expect(preview.body.text).to.include('Hei Person 0');
    // The live preview: unsaved content shown in place of the stored one, which stays as it was.
    const unsaved = await t.http
      .post(`/api/v1/campaigns/${id}/preview`)
      .set(auth())
      .send({
        subject: 'Luonnos {{subscriber.name}}',
        mjml: '<mj-section><mj-column><mj-text>Kesken {{subscriber.name}}</mj-text></mj-column></mj-section>',
      })
      .expect(200);
    expect(unsaved.body.html).to.include('Kesken');
    expect(unsaved.body.subject).to.match(/^Luonnos /);
    expect((await t.db.models.Campaign.findById(id).lean())!.mjml).not.to.include('Kesken');
    await t.http
      .post(`/api/v1/campaigns/${id}/preview`)
      .set(auth())
      .send({ subject: 'a\r\nBcc: x@example.com' })
      .expect(400);

    for (const bad of [
      { subject: 'a\r\nBcc: x@example.com' },
      { name: 'a\nb' },
      { fromEmail: 'a@example.com\r\nX: y' },
    ]) {
      const res = await t.http
        .post('/api/v1/campaigns')
        .set(auth())
        .send({ name: 'n', subject: 's', mjml: MJML, lists: [list.listId], ...bad })
        .expect(400);
      expect(res.body.error.code).to.equal('validation_failed');
    }
    await t.http
      .post('/api/v1/campaigns')
      .set(auth())
      .send({ name: 'n', subject: 's', mjml: MJML, lists: ['nope'] })
      .expect(400);
    await t.http.get('/api/v1/campaigns/zzz').set(auth()).expect(400);
    await t.http.delete(`/api/v1/campaigns/${id}`).set(auth()).expect(204);
    await t.http.get(`/api/v1/campaigns/${id}`).set(auth()).expect(404);
  });

  it('lists campaigns newest first, paged by cursor, each once', async () => {
    const list = await seedList(t.db.models, 1);
    const made: string[] = [];
    for (const n of [1, 2, 3])
      made.push(await createCampaign({ name: `Sivu ${n}`, lists: [list.listId] }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: Array<{ id: string }>; nextCursor: string | null } } =
        await t.http
          .get('/api/v1/campaigns')
          .query({ limit: '2', ...(cursor ? { cursor } : {}) })
          .set(auth())
          .expect(200);
      expect(res.body.items.length).to.be.at.most(2);
      seen.push(...res.body.items.map((c: { id: string }) => c.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.slice(0, 3)).to.deep.equal([...made].reverse());
    expect(new Set(seen).size).to.equal(seen.length);
    await t.http.get('/api/v1/campaigns').query({ limit: 'ten' }).set(auth()).expect(400);
    await t.http.get('/api/v1/campaigns').query({ cursor: '!' }).set(auth()).expect(400);
  });

  it('needs campaigns.* permissions', async () => {
    const { staffToken } = await import('../../helpers/factories.js');
    const { token } = await staffToken(t.services, 'sales');
    await t.http
      .get('/api/v1/campaigns')
      .set({ Authorization: `Bearer ${token}` })
      .expect(200);
    await t.http
      .post('/api/v1/campaigns')
      .set({ Authorization: `Bearer ${token}` })
      .send({ name: 'n', subject: 's', mjml: MJML, lists: [] })
      .expect(403);
  });
});
