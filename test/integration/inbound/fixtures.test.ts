import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { messageDigest } from '../../../src/inbound/headers.js';
import { InboundSmtpListener } from '../../../src/inbound/smtp-listener.js';
import { createLogger } from '../../../src/shared/logger.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import {
  campaignSubscriber,
  deliver,
  fillPlaceholders,
  signExampleCom,
  testDns,
} from '../../helpers/inbound.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';

interface Expected {
  classification: string;
  outcome: string;
  status?: string;
  sign?: boolean;
  mailFrom?: string;
  unsubscribedAll?: boolean;
  unsubscribedLists?: boolean;
  confirmation?: boolean;
}

const dir = path.resolve('test/fixtures/emails');
const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Record<
  string,
  Expected
>;

describe('inbound fixtures over the real SMTP listener', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let listener: InboundSmtpListener;
  let port: number;

  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: { INBOUND_DOMAIN: 'news.example.com' },
      dnsResolver: testDns,
    });
    listener = new InboundSmtpListener(
      t.services.inbound,
      { domain: t.config.inboundDomain, maxBytes: t.config.inboundMaxBytes, host: '127.0.0.1' },
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

  it('has a corpus of at least 40 fixtures, each with an expected outcome', () => {
    expect(Object.keys(expected).length).to.be.at.least(40);
  });

  for (const [file, exp] of Object.entries(expected)) {
    it(`${file} → ${exp.classification} / ${exp.outcome}`, async () => {
      const s = await campaignSubscriber(t);
      const text = fillPlaceholders(t, readFileSync(path.join(dir, file), 'utf8'), s);
      // SMTP ends every message with CRLF; the stored raw is compared by digest.
      let raw: Buffer = Buffer.from(text.replace(/\r?\n/g, '\r\n').replace(/(?<!\r\n)$/, '\r\n'));
      if (exp.sign) raw = await signExampleCom(raw);
      const to = /^To:.*?([\w.+-]+@[\w.-]+)/im.exec(text)?.[1] ?? `reply@${t.config.inboundDomain}`;
      const report = exp.classification === 'bounce' || exp.classification === 'complaint';
      const from = exp.mailFrom ?? (report ? '' : s.email);
      const sunkBefore = sink.to(s.email).length;

      await deliver(port, raw, { from, to: [to] });

      const rec = await t.db.models.InboundMessage.findOne({ digest: messageDigest(raw) }).lean();
      expect(rec, 'stored').to.not.equal(null);
      expect(
        { classification: rec!.classification, outcome: rec!.outcome, status: rec!.status },
        rec!.detail ?? '',
      ).to.deep.equal({
        classification: exp.classification,
        outcome: exp.outcome,
        status: exp.status ?? 'done',
      });
      expect(rec!.via).to.equal('smtp');
      expect(rec!.rawSize).to.equal(raw.length);

      // The whole opt-out is in place as soon as the message is processed.
      const optedOut = Boolean(exp.unsubscribedAll || exp.unsubscribedLists);
      expect(await t.services.suppressions.isSuppressed(s.email, s.listId)).to.equal(optedOut);
      const sub = await t.db.models.Subscriber.findById(s.subscriberId).lean();
      const membership = await t.db.models.Membership.findOne({
        subscriberId: s.subscriberId,
      }).lean();
      const events = await t.db.models.UnsubscribeEvent.find({
        subscriberId: s.subscriberId,
      }).lean();
      if (optedOut) {
        expect(membership!.status).to.equal('unsubscribed');
        expect(events).to.have.length(1);
        expect(String(events[0]!.inboundMessageId)).to.equal(String(rec!._id));
        expect(String(events[0]!.campaignId ?? s.campaignId)).to.equal(s.campaignId);
        expect(await t.services.suppressions.isSuppressed(s.email, s.listId)).to.equal(true);
        if (exp.unsubscribedAll) expect(sub!.status).to.not.equal('subscribed');
        else expect(events[0]!.allLists).to.equal(false);
      } else {
        expect(membership!.status).to.equal('subscribed');
        expect(sub!.status).to.equal('subscribed');
        expect(events).to.have.length(0);
        expect(await t.services.suppressions.isSuppressed(s.email, s.listId)).to.equal(false);
      }
      if (exp.confirmation) {
        const [mail] = await sink.waitFor(sunkBefore + 1).then(() => sink.to(s.email));
        expect(mail!.parsed.text).to.contain(`${t.config.baseUrl}/u/`);
      } else {
        expect(sink.to(s.email)).to.have.length(sunkBefore);
      }
    });
  }
});
