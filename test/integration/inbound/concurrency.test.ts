import { expect } from 'chai';
import { Types } from 'mongoose';
import { insertEach } from '../../../src/db/bulk.js';
import { GroupCommit } from '../../../src/db/group-commit.js';
import { Claims } from '../../../src/db/claims.js';
import { BOUNCE_COUNTS, INBOUND_CLAIMS } from '../../../src/inbound/claims.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import {
  campaignSubscriber,
  crlf,
  fillPlaceholders,
  fixture,
  testDns,
  unsubscribeEvents,
  type CampaignSubscriber,
} from '../../helpers/inbound.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';

const ATTEMPTS = 12;

/**
 * Races that FerretDB does not decide by a filtered update (docs/database.md): each must end with
 * exactly one effect however many attempts run at once.
 */
describe('inbound mail under concurrency', () => {
  let t: TestApp;
  let sink: SmtpSink;

  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: { INBOUND_DOMAIN: 'news.example.com', BOUNCE_HARD_LIMIT: '2' },
      dnsResolver: testDns,
    });
  });
  after(async () => {
    await t.close();
    await sink.stop();
  });

  const raw = (name: string, s: CampaignSubscriber, messageId?: string) => {
    const text = fillPlaceholders(t, fixture(name), s);
    return crlf(
      messageId ? text.replace(/^Message-ID: <[^>]*>/im, `Message-ID: <${messageId}>`) : text,
    );
  };
  const events = (s: CampaignSubscriber) => unsubscribeEvents(t, s);

  it('acts once on the same message delivered many times at once', async () => {
    const s = await campaignSubscriber(t);
    const msg = raw('mailto-gmail-one-click.eml', s);
    const results = await Promise.all(
      Array.from({ length: ATTEMPTS }, () =>
        t.services.inbound.process(msg, { via: 'smtp', mailFrom: s.email }),
      ),
    );
    expect(results.filter((r) => !r.duplicate)).to.have.length(1);
    expect(new Set(results.map((r) => r.id)).size).to.equal(1);
    expect(await t.db.models.InboundMessage.countDocuments({ _id: results[0]!.id })).to.equal(1);
    expect(await events(s)).to.equal(1);
  });

  it('tells each caller of a batched insert whether its own document went in', async () => {
    const collection = t.db.connection.db!.collection('batch_insert_test');
    await collection.insertOne({ _id: 'k0' as never, n: -1 });
    const batch = new GroupCommit((docs: object[]) => insertEach(collection, docs));
    // k0 exists already; k1..k3 each come twice; the rest once. All arrive at once, so all but
    // the first go to the database together.
    const ids = ['k0', 'k1', 'k1', 'k2', 'k3', 'k2', 'k3', 'k4', 'k5', 'k6'];
    const results = await Promise.all(ids.map((id, n) => batch.add({ _id: id, n })));
    expect(results).to.deep.equal([false, true, false, true, true, false, false, true, true, true]);
    const stored = await collection.find({}).sort({ _id: 1 }).toArray();
    expect(stored.map((d) => [d._id, d.n])).to.deep.equal([
      ['k0', -1],
      ['k1', 1],
      ['k2', 3],
      ['k3', 4],
      ['k4', 7],
      ['k5', 8],
      ['k6', 9],
    ]);
  });

  it('lets exactly one of many concurrent staff actions settle a message', async () => {
    const s = await campaignSubscriber(t);
    const posted = await t.services.inbound.process(raw('reply-peruuta-tilaus-ambiguous.eml', s), {
      via: 'http',
    });
    expect(posted.status).to.equal('needs_review');

    const actions = Array.from({ length: ATTEMPTS }, (_, i) =>
      i % 3 === 2 ? 'ignore' : 'unsubscribe',
    );
    const responses = await Promise.all(
      actions.map((action) =>
        t.http
          .post(`/api/v1/inbound/${posted.id}/action`)
          .set('Authorization', `Bearer ${t.adminToken}`)
          .send({ action }),
      ),
    );
    const won = responses.filter((r) => r.status === 200);
    expect(won).to.have.length(1);
    expect(responses.filter((r) => r.status === 409)).to.have.length(ATTEMPTS - 1);

    const winner = actions[responses.indexOf(won[0]!)]!;
    const rec = await t.db.models.InboundMessage.findById(posted.id).lean();
    expect(rec).to.include({
      status: 'done',
      outcome: winner === 'ignore' ? 'staff_ignored' : 'staff_unsubscribed',
    });
    expect(await events(s)).to.equal(winner === 'ignore' ? 0 : 1);
    const audited = await t.db.models.AuditEntry.find({
      action: { $in: ['inbound.unsubscribe', 'inbound.ignore'] },
      'details.inboundMessageId': posted.id,
    }).lean();
    expect(audited.map((a) => a.action)).to.deep.equal([`inbound.${winner}`]);
  });

  it('leaves a message in the inbox when the winning action fails', async () => {
    const s = await campaignSubscriber(t);
    const posted = await t.services.inbound.process(raw('reply-peruuta-tilaus-ambiguous.eml', s), {
      via: 'http',
    });
    // A subscriber id that exists nowhere: the unsubscribe service finds nobody (404).
    await t.http
      .post(`/api/v1/inbound/${posted.id}/action`)
      .set('Authorization', `Bearer ${t.adminToken}`)
      .send({ action: 'unsubscribe', subscriberId: '0123456789abcdef01234567' })
      .expect(404);
    expect((await t.db.models.InboundMessage.findById(posted.id).lean())!.status).to.equal(
      'needs_review',
    );
    await t.http
      .post(`/api/v1/inbound/${posted.id}/action`)
      .set('Authorization', `Bearer ${t.adminToken}`)
      .send({ action: 'unsubscribe' })
      .expect(200);
    expect(await events(s)).to.equal(1);
  });

  it('takes over the claim of a staff action whose process died, not one still held', async () => {
    const s = await campaignSubscriber(t);
    const posted = await t.services.inbound.process(raw('reply-peruuta-tilaus-ambiguous.eml', s), {
      via: 'http',
    });
    // What a process that died right after claiming the action leaves behind.
    const claims = new Claims(t.db.connection, INBOUND_CLAIMS);
    const held = await claims.lease(`act:${posted.id}`, 60_000, t.clock.now(), {});
    expect(held).to.be.a('string');
    const act = () =>
      t.http
        .post(`/api/v1/inbound/${posted.id}/action`)
        .set('Authorization', `Bearer ${t.adminToken}`)
        .send({ action: 'unsubscribe' });
    const refused = await act().expect(409);
    expect(refused.body.error.message).to.match(/being settled/);
    expect(await events(s)).to.equal(0);

    t.clock.advance(10 * 60_000);
    const taken = await Promise.all(Array.from({ length: ATTEMPTS }, act));
    expect(taken.filter((r) => r.status === 200)).to.have.length(1);
    expect(taken.filter((r) => r.status === 409)).to.have.length(ATTEMPTS - 1);
    expect(await events(s)).to.equal(1);
  });

  it('sends no more confirmation mails than the daily cap to one address', async () => {
    const s = await campaignSubscriber(t);
    const before = sink.messages.length;
    const results = await Promise.all(
      Array.from({ length: ATTEMPTS }, (_, i) =>
        t.services.inbound.process(
          raw('reply-spoofed-from-subscriber.eml', s, `spoof-${i}-${s.subscriberId}@example.net`),
          { via: 'smtp', mailFrom: 'mallory@example.net', remoteIp: '127.0.0.1' },
        ),
      ),
    );
    const outcomes = results.map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'confirmation_sent')).to.have.length(3);
    expect(outcomes.filter((o) => o === 'needs_review')).to.have.length(ATTEMPTS - 3);
    await sink.waitFor(before + 3);
    expect(sink.to(s.email)).to.have.length(3);
    expect(await events(s)).to.equal(0);
  });

  it('counts concurrent hard bounces each once towards BOUNCE_HARD_LIMIT', async () => {
    const s = await campaignSubscriber(t);
    const bounceAddress = `bounces+${t.services.tokens.signAddress('bounce', s.subscriberId, s.campaignId)}@news.example.com`;
    const results = await Promise.all(
      Array.from({ length: ATTEMPTS }, (_, i) =>
        t.services.inbound.process(
          raw('dsn-postfix-hard-user-unknown.eml', s, `dsn-${i}-${s.subscriberId}@mx.example.com`),
          { via: 'smtp', mailFrom: '', rcptTo: [bounceAddress] },
        ),
      ),
    );
    const outcomes = results.map((r) => r.outcome);
    // The first of the limit's two slots counts; every later bounce reaches the limit.
    expect(outcomes.filter((o) => o === 'hard_bounce_counted')).to.have.length(1);
    expect(outcomes.filter((o) => o === 'bounced' || o === 'already_suppressed')).to.have.length(
      ATTEMPTS - 1,
    );
    expect(
      await t.db.connection
        .collection(BOUNCE_COUNTS)
        .countDocuments({ subscriberId: new Types.ObjectId(s.subscriberId) }),
    ).to.equal(2);
    expect(await t.services.suppressions.isSuppressed(s.email)).to.equal(true);
    expect((await t.db.models.Subscriber.findById(s.subscriberId).lean())!.status).to.equal(
      'bounced',
    );
  });
});
