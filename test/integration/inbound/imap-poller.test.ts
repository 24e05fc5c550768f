import { expect } from 'chai';
import { ImapFlow } from 'imapflow';
import { waitUntil } from '../../helpers/wait.js';
import type { ImapConfig } from '../../../src/config/config.js';
import { ImapPoller } from '../../../src/inbound/imap-poller.js';
import { createLogger } from '../../../src/shared/logger.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import {
  campaignSubscriber,
  crlf,
  fillPlaceholders,
  fixture,
  signExampleCom,
  testDns,
  unsubscribeEvents,
  type CampaignSubscriber,
} from '../../helpers/inbound.js';
import { DovecotServer } from './dovecot.js';

const MAX = 64 * 1024;

describe('IMAP poller against a real IMAP server (Dovecot)', () => {
  let dovecot: DovecotServer;
  let t: TestApp;
  let client: ImapFlow;
  let cfg: ImapConfig;

  before(async () => {
    dovecot = await new DovecotServer().start();
    t = await bootApp({ env: { INBOUND_DOMAIN: 'news.example.com' }, dnsResolver: testDns });
    cfg = {
      url: dovecot.url,
      user: dovecot.user,
      password: dovecot.password,
      mailbox: 'INBOX',
      processedFolder: 'Kirje/Processed',
      pollSeconds: 5,
    };
    client = new ImapFlow({
      host: '127.0.0.1',
      port: dovecot.port,
      secure: false,
      auth: { user: dovecot.user, pass: dovecot.password },
      logger: false,
    });
    await client.connect();
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await t?.close();
    await dovecot?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(dovecot.log());
  });

  const poller = () => new ImapPoller(t.services.inbound, cfg, MAX, createLogger('silent'));
  const raw = (name: string, s: CampaignSubscriber) => crlf(fillPlaceholders(t, fixture(name), s));
  const messagesIn = async (mailbox: string) => {
    const status = await client.status(mailbox, { messages: true });
    if (!status) throw new Error(`no status for ${mailbox}`);
    return status.messages ?? 0;
  };
  const record = (messageId: string) =>
    t.db.models.InboundMessage.find({ messageId: messageId.toLowerCase() }).lean();
  const events = (s: CampaignSubscriber) => unsubscribeEvents(t, s);

  let unsubscriber: CampaignSubscriber;
  let mailto: Buffer;

  it('classifies appended mail through the pipeline and moves it to the processed folder', async () => {
    unsubscriber = await campaignSubscriber(t);
    const replier = await campaignSubscriber(t);
    const other = await campaignSubscriber(t);
    mailto = raw('mailto-gmail-one-click.eml', unsubscriber);
    await client.append('INBOX', mailto);
    // DKIM-signed by the subscriber's domain: over IMAP there is no client IP, DKIM decides.
    await client.append(
      'INBOX',
      await signExampleCom(raw('reply-gmail-en-unsubscribe.eml', replier)),
    );
    await client.append('INBOX', raw('autoreply-gmail-vacation-en.eml', other));
    await client.append('INBOX', raw('reply-peruuta-tilaus-ambiguous.eml', other));
    const big = crlf(
      `From: a@example.net\nMessage-ID: <too-big@example.net>\nSubject: big\n\n${`${'y'.repeat(76)}\n`.repeat(1000)}`,
    );
    await client.append('INBOX', big);
    expect(await messagesIn('INBOX')).to.equal(5);

    expect(await poller().pollOnce()).to.equal(4);

    const outcomes = await t.db.models.InboundMessage.find(
      { via: 'imap' },
      { classification: 1, outcome: 1, subscriberId: 1 },
    ).lean();
    expect(outcomes.map((r) => `${r.classification}/${r.outcome}`).sort()).to.deep.equal([
      'ambiguous/needs_review',
      'auto_reply/no_action',
      'reply_unsubscribe/unsubscribed',
      'unsubscribe_address/unsubscribed',
    ]);
    expect(await events(unsubscriber)).to.equal(1);
    expect(await events(replier)).to.equal(1);
    expect(await events(other)).to.equal(0);
    expect(await record('too-big@example.net')).to.have.length(0);

    // Kirje/Processed in IMAP_PROCESSED_FOLDER; Dovecot's Maildir names it with its own `.`.
    const folders = (await client.list()).map((b) => b.path);
    expect(folders).to.include('Kirje.Processed');
    expect(await messagesIn('INBOX')).to.equal(0);
    expect(await messagesIn('Kirje.Processed')).to.equal(5);
  });

  it('does not act twice on a message read again after a restart', async () => {
    // As if the poller had died after recording the message but before moving it.
    await client.append('INBOX', mailto);
    const before = await t.db.models.InboundMessage.countDocuments();

    expect(await poller().pollOnce()).to.equal(1);

    expect(await t.db.models.InboundMessage.countDocuments()).to.equal(before);
    expect(await record('CAHxmailto01Qw8kP=vY9mZ@mail.gmail.com')).to.have.length(1);
    expect(await events(unsubscriber)).to.equal(1);
    expect(await messagesIn('INBOX')).to.equal(0);
    expect(await messagesIn('Kirje.Processed')).to.equal(6);
  });

  it('polls on its own once started, and a stopped and restarted poller finds nothing new', async () => {
    const s = await campaignSubscriber(t);
    await client.append('INBOX', raw('question-unknown-sender.eml', s));
    const first = poller();
    first.start();
    try {
      await waitUntil('the poller to empty INBOX', async () => (await messagesIn('INBOX')) === 0);
    } finally {
      await first.stop();
    }
    expect(await messagesIn('INBOX')).to.equal(0);
    const rec = await t.db.models.InboundMessage.find({
      via: 'imap',
      classification: 'other',
    }).lean();
    expect(rec.map((r) => r.outcome)).to.deep.equal(['needs_review']);

    const before = await t.db.models.InboundMessage.countDocuments();
    expect(await poller().pollOnce()).to.equal(0);
    expect(await t.db.models.InboundMessage.countDocuments()).to.equal(before);
  });
});
