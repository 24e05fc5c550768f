import { expect } from 'chai';
import { InboundSmtpListener } from '../../../src/inbound/smtp-listener.js';
import { createLogger } from '../../../src/shared/logger.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import {
  campaignSubscriber,
  crlf,
  deliver,
  DKIM_SELECTOR,
  dkimPrivateKey,
  fillPlaceholders,
  fixture,
  signExampleCom,
  testDns,
  unsubscribeEvents,
  type CampaignSubscriber,
} from '../../helpers/inbound.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';

const INBOUND_DOMAIN = 'news.example.com';
// Campaign Message-IDs align with the DKIM signature, on another domain than INBOUND_DOMAIN.
const DKIM_DOMAIN = 'mail.example.org';

describe('mail identity when DKIM_DOMAIN differs from INBOUND_DOMAIN', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let listener: InboundSmtpListener;
  let port: number;

  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: {
        INBOUND_DOMAIN,
        DKIM_DOMAIN,
        DKIM_SELECTOR,
        DKIM_PRIVATE_KEY: dkimPrivateKey,
      },
      dnsResolver: testDns,
    });
    listener = new InboundSmtpListener(
      t.services.inbound,
      { domain: INBOUND_DOMAIN, maxBytes: 1024 * 1024, host: '127.0.0.1' },
      createLogger('silent'),
    );
    port = await listener.start(0);
  });
  after(async () => {
    await listener.stop();
    await t.close();
    await sink.stop();
  });

  /** A fixture replying to the campaign mail whose Message-ID is on `domain`. */
  const replyTo = (name: string, s: CampaignSubscriber, domain: string) =>
    crlf(
      fillPlaceholders(
        t,
        fixture(name).replaceAll('{{MESSAGE_ID}}', `${s.campaignId}.${s.subscriberId}@${domain}`),
        s,
      ),
    );

  it('a reply to a Message-ID on the DKIM domain is matched to its campaign', async () => {
    const s = await campaignSubscriber(t);
    const msg = await signExampleCom(replyTo('reply-gmail-en-unsubscribe.eml', s, DKIM_DOMAIN));
    await deliver(port, msg, { from: s.email, to: [`reply@${INBOUND_DOMAIN}`] });
    const rec = await t.db.models.InboundMessage.findOne({ subscriberId: s.subscriberId }).lean();
    expect(rec, 'the reply was attributed to the subscriber').to.not.equal(null);
    expect(String(rec!.campaignId)).to.equal(s.campaignId);
    expect(rec!.outcome).to.equal('unsubscribed');
    expect(await unsubscribeEvents(t, s)).to.equal(1);
    // Only the campaign's list, as the campaign says, not every list.
    const suppression = await t.db.models.Suppression.find({}).lean();
    expect(JSON.stringify(suppression)).to.include(s.listId);
  });

  it('replies to Message-IDs on INBOUND_DOMAIN (mails sent before DKIM was set up) still match', async () => {
    const s = await campaignSubscriber(t);
    const msg = await signExampleCom(replyTo('reply-gmail-en-unsubscribe.eml', s, INBOUND_DOMAIN));
    await deliver(port, msg, { from: s.email, to: [`reply@${INBOUND_DOMAIN}`] });
    const rec = await t.db.models.InboundMessage.findOne({ subscriberId: s.subscriberId }).lean();
    expect(String(rec!.campaignId)).to.equal(s.campaignId);
  });

  it('the confirmation mail to an unauthenticated replier has its Message-ID on our domain', async () => {
    const s = await campaignSubscriber(t);
    const before = sink.messages.length;
    await deliver(port, replyTo('reply-spoofed-from-subscriber.eml', s, DKIM_DOMAIN), {
      from: 'mallory@example.net',
      to: [`reply@${INBOUND_DOMAIN}`],
    });
    await sink.waitFor(before + 1);
    const [mail] = sink.to(s.email);
    expect(mail!.mailFrom).to.equal('');
    expect(mail!.parsed.messageId).to.match(/^<[0-9a-f-]{36}@mail\.example\.org>$/);
    expect(mail!.parsed.messageId).to.not.include('localhost');
  });

  it('inbound records keep the subject decoded, not as encoded words', async () => {
    const s = await campaignSubscriber(t);
    const raw = fixture('reply-gmail-en-unsubscribe.eml').replace(
      /^Subject: .*$/m,
      'Subject: =?UTF-8?Q?Re:_Kev=C3=A4=C3=A4n_uutuudet?= =?UTF-8?B?OiBzdHVkaW9tb25pdG9yaXQ=?=',
    );
    const msg = await signExampleCom(
      crlf(
        fillPlaceholders(
          t,
          raw.replaceAll('{{MESSAGE_ID}}', `${s.campaignId}.${s.subscriberId}@${DKIM_DOMAIN}`),
          s,
        ),
      ),
    );
    await deliver(port, msg, { from: s.email, to: [`reply@${INBOUND_DOMAIN}`] });
    const rec = await t.db.models.InboundMessage.findOne({ subscriberId: s.subscriberId }).lean();
    expect(rec!.subject).to.equal('Re: Kevään uutuudet: studiomonitorit');
  });
});
