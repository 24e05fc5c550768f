import { expect } from 'chai';
import { messageDigest } from '../../../src/inbound/headers.js';
import { InboundSmtpListener } from '../../../src/inbound/smtp-listener.js';
import { createLogger } from '../../../src/shared/logger.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { staffToken } from '../../helpers/factories.js';
import {
  campaignSubscriber,
  crlf,
  deliver,
  fillPlaceholders,
  fixture,
  signExampleCom,
  testDns,
  unsubscribeEvents,
  type CampaignSubscriber,
} from '../../helpers/inbound.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';

const MAX = 64 * 1024;

describe('inbound mail behaviour', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let listener: InboundSmtpListener;
  let port: number;

  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: { INBOUND_DOMAIN: 'news.example.com', INBOUND_MAX_BYTES: String(MAX) },
      dnsResolver: testDns,
    });
    listener = new InboundSmtpListener(
      t.services.inbound,
      { domain: 'news.example.com', maxBytes: MAX, host: '127.0.0.1' },
      createLogger('silent'),
    );
    port = await listener.start(0);
  });
  after(async () => {
    // The app's pooled mailer holds a connection to the sink: close it before the sink.
    await listener.stop();
    await t.close();
    await sink.stop();
  });

  const raw = (name: string, s: CampaignSubscriber) => crlf(fillPlaceholders(t, fixture(name), s));
  const events = (s: CampaignSubscriber) => unsubscribeEvents(t, s);

  it('acts once on a message delivered twice over SMTP and once more over HTTP', async () => {
    const s = await campaignSubscriber(t);
    const msg = await signExampleCom(raw('reply-gmail-en-unsubscribe.eml', s));
    await deliver(port, msg, { from: s.email, to: ['reply@news.example.com'] });
    await deliver(port, msg, { from: s.email, to: ['reply@news.example.com'] });
    const res = await t.http
      .post('/api/v1/inbound')
      .set('Authorization', `Bearer ${t.adminToken}`)
      .set('Content-Type', 'message/rfc822')
      .send(msg.toString())
      .expect(200);
    expect(res.body).to.include({ duplicate: true, outcome: 'unsubscribed' });
    expect(await events(s)).to.equal(1);
    expect(
      await t.db.models.InboundMessage.countDocuments({ digest: messageDigest(msg) }),
    ).to.equal(1);
  });

  it('counts a soft bounce once however often it is re-delivered', async () => {
    const s = await campaignSubscriber(t);
    const msg = raw('dsn-postfix-soft-delayed.eml', s);
    await deliver(port, msg, { from: '', to: ['bounces+x@news.example.com'] });
    await deliver(port, msg, { from: '', to: ['bounces+x@news.example.com'] });
    const recs = await t.db.models.InboundMessage.find({ subscriberId: s.subscriberId }).lean();
    expect(recs.map((r) => r.outcome)).to.deep.equal(['soft_bounce_counted']);
  });

  it('sends a spoofed reply a confirmation to the subscriber instead of unsubscribing', async () => {
    const s = await campaignSubscriber(t);
    const before = sink.messages.length;
    await deliver(port, raw('reply-spoofed-from-subscriber.eml', s), {
      from: 'mallory@example.net',
      to: ['reply@news.example.com'],
    });
    const rec = await t.db.models.InboundMessage.findOne({ subscriberId: s.subscriberId }).lean();
    expect(rec!.auth).to.deep.include({ dmarc: 'fail' });
    expect(await events(s)).to.equal(0);
    await sink.waitFor(before + 1);
    const [mail] = sink.to(s.email);
    expect(mail!.mailFrom).to.equal('');
    expect(mail!.parsed.headers.get('auto-submitted')).to.equal('auto-replied');
    const token = /\/u\/([\w.-]+)/.exec(mail!.parsed.text ?? '')![1]!;
    expect(t.services.tokens.verify('unsubscribe', token)).to.deep.equal({
      subscriberId: s.subscriberId,
      campaignId: s.campaignId,
    });
    expect(sink.to('mallory@example.net')).to.have.length(0);
  });

  it('limits confirmations per address', async () => {
    const s = await campaignSubscriber(t);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const text = fixture('reply-spoofed-from-subscriber.eml').replace(
        'Message-ID: <CAHx21',
        `Message-ID: <CAHx21n${i}`,
      );
      const res = await t.services.inbound.process(crlf(fillPlaceholders(t, text, s)), {
        via: 'smtp',
        mailFrom: 'mallory@example.net',
        remoteIp: '127.0.0.1',
      });
      outcomes.push(res.outcome!);
    }
    expect(outcomes).to.deep.equal([
      'confirmation_sent',
      'confirmation_sent',
      'confirmation_sent',
      'needs_review',
    ]);
  });

  it("honours a forwarded campaign's mailto token from another address, not a stranger's reply", async () => {
    const s = await campaignSubscriber(t);
    await deliver(port, raw('reply-stranger-forwarded-campaign.eml', s), {
      from: 'pekka.toinen@example.net',
      to: ['reply@news.example.com'],
    });
    expect(await events(s)).to.equal(0);
    expect(sink.to('pekka.toinen@example.net')).to.have.length(0);
    await deliver(port, raw('mailto-forwarded-from-other-address.eml', s), {
      from: 'pekka.toinen@example.net',
      to: [
        `unsubscribe+${t.services.tokens.signAddress('unsubscribe', s.subscriberId, s.campaignId)}@news.example.com`,
      ],
    });
    expect(await events(s)).to.equal(1);
  });

  it('refuses recipients outside INBOUND_DOMAIN with 550', async () => {
    const err = await deliver(port, crlf('From: a@example.net\nSubject: x\n\nhi\n'), {
      from: 'a@example.net',
      to: ['someone@other.example'],
    }).catch((e: unknown) => e as { responseCode?: number });
    expect(err).to.have.property('responseCode', 550);
  });

  it('refuses a message over INBOUND_MAX_BYTES and stores nothing', async () => {
    const before = await t.db.models.InboundMessage.countDocuments();
    const big = crlf(`From: a@example.net\nSubject: big\n\n${'x'.repeat(76)}\n`.repeat(1000));
    const err = await deliver(port, big, {
      from: 'a@example.net',
      to: ['reply@news.example.com'],
    }).catch((e: unknown) => e as { responseCode?: number });
    expect(err).to.have.property('responseCode', 552);
    expect(await t.db.models.InboundMessage.countDocuments()).to.equal(before);
  });

  describe('POST /api/v1/inbound', () => {
    it('takes raw MIME and answers with the classification', async () => {
      const s = await campaignSubscriber(t);
      const res = await t.http
        .post('/api/v1/inbound')
        .set('Authorization', `Bearer ${t.adminToken}`)
        .set('Content-Type', 'message/rfc822')
        .send(raw('mailto-gmail-one-click.eml', s).toString())
        .expect(201);
      expect(res.body).to.include({ duplicate: false, classification: 'unsubscribe_address' });
      const rec = await t.db.models.InboundMessage.findById(res.body.id).lean();
      expect(rec!.via).to.equal('http');
    });

    it('refuses other media types, oversize bodies, missing tokens and roles without inbound.write', async () => {
      const auth = `Bearer ${t.adminToken}`;
      await t.http.post('/api/v1/inbound').set('Authorization', auth).send({ a: 1 }).expect(415);
      const tooBig = await t.http
        .post('/api/v1/inbound')
        .set('Authorization', auth)
        .set('Content-Type', 'text/plain')
        .send('x'.repeat(MAX + 1))
        .expect(413);
      expect(tooBig.body.error.code).to.equal('payload_too_large');
      await t.http.post('/api/v1/inbound').set('Content-Type', 'text/plain').send('x').expect(401);
      const { token } = await staffToken(t.services, 'sales');
      await t.http
        .post('/api/v1/inbound')
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', 'text/plain')
        .send('x')
        .expect(403);
    });
  });

  describe('staff inbox', () => {
    it('lists messages needing review and settles one with one call', async () => {
      const s = await campaignSubscriber(t);
      const msg = await signExampleCom(raw('reply-peruuta-tilaus-ambiguous.eml', s));
      const { body: posted } = await t.http
        .post('/api/v1/inbound')
        .set('Authorization', `Bearer ${t.adminToken}`)
        .set('Content-Type', 'message/rfc822')
        .send(msg.toString())
        .expect(201);
      expect(posted.status).to.equal('needs_review');

      const list = await t.http
        .get('/api/v1/inbound?status=needs_review')
        .set('Authorization', `Bearer ${t.adminToken}`)
        .expect(200);
      expect(list.body.items.map((i: { id: string }) => i.id)).to.include(posted.id);
      expect(
        list.body.items.every((i: { status: string }) => i.status === 'needs_review'),
      ).to.equal(true);

      const one = await t.http
        .get(`/api/v1/inbound/${posted.id}`)
        .set('Authorization', `Bearer ${t.adminToken}`)
        .expect(200);
      expect(one.body.text).to.contain('Peruuta tilaus 48213');
      expect(one.body.text).to.not.contain('kevään uutuudet');

      const acted = await t.http
        .post(`/api/v1/inbound/${posted.id}/action`)
        .set('Authorization', `Bearer ${t.adminToken}`)
        .send({ action: 'unsubscribe' })
        .expect(200);
      expect(acted.body).to.include({ status: 'done', outcome: 'staff_unsubscribed' });
      const ev = await t.db.models.UnsubscribeEvent.findOne({
        subscriberId: s.subscriberId,
      }).lean();
      expect(String(ev!.inboundMessageId)).to.equal(posted.id);
      expect(ev!.channel).to.equal('reply');

      await t.http
        .post(`/api/v1/inbound/${posted.id}/action`)
        .set('Authorization', `Bearer ${t.adminToken}`)
        .send({ action: 'ignore' })
        .expect(409);
    });

    it('validates the action and the query', async () => {
      const auth = `Bearer ${t.adminToken}`;
      const bad = await t.http
        .post('/api/v1/inbound/0123456789abcdef01234567/action')
        .set('Authorization', auth)
        .send({ action: 'delete_everything' })
        .expect(400);
      expect(bad.body.error.message).to.match(/^action/);
      await t.http.get('/api/v1/inbound?status=whatever').set('Authorization', auth).expect(400);
      await t.http.get('/api/v1/inbound/not-an-id').set('Authorization', auth).expect(400);
      await t.http
        .post('/api/v1/inbound/0123456789abcdef01234567/action')
        .set('Authorization', auth)
        .send({ action: 'ignore' })
        .expect(404);
    });
  });

  it('suppresses after BOUNCE_HARD_LIMIT distinct hard bounces', async () => {
    const t2 = await bootApp({
      env: { INBOUND_DOMAIN: 'news.example.com', BOUNCE_HARD_LIMIT: '2' },
    });
    try {
      const s = await campaignSubscriber(t2);
      const outcomes: string[] = [];
      for (const n of [1, 2]) {
        const text = fillPlaceholders(t2, fixture('dsn-postfix-hard-user-unknown.eml'), s);
        const res = await t2.services.inbound.process(
          crlf(text.replace('Message-Id: <', `Message-Id: <${n}`)),
          {
            via: 'smtp',
            mailFrom: '',
            rcptTo: [
              `bounces+${t2.services.tokens.signAddress('bounce', s.subscriberId, s.campaignId)}@news.example.com`,
            ],
          },
        );
        outcomes.push(res.outcome!);
      }
      expect(outcomes).to.deep.equal(['hard_bounce_counted', 'bounced']);
      expect(await t2.services.suppressions.isSuppressed(s.email)).to.equal(true);
      expect((await t2.db.models.Subscriber.findById(s.subscriberId).lean())!.status).to.equal(
        'bounced',
      );
    } finally {
      await t2.close();
    }
  });

  it('opens an erasure request in the privacy register for "poista tietoni"', async () => {
    const s = await campaignSubscriber(t);
    const msg = await signExampleCom(raw('reply-privacy-fi-poista-tietoni.eml', s));
    const res = await t.services.inbound.process(msg, { via: 'http' });
    expect(res.outcome).to.equal('privacy_request_opened');
    const again = await t.services.inbound.process(msg, { via: 'http' });
    expect(again.duplicate).to.equal(true);
    const reqs = await t.db.models.PrivacyRequest.find({ inboundMessageId: res.id }).lean();
    expect(reqs.map((r) => [r.type, r.channel])).to.deep.equal([['erasure', 'email']]);
  });
});
