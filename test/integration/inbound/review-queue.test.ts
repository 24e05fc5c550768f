import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Types } from 'mongoose';
import { loadCorpus } from '../../../scripts/eval-replies.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import {
  campaignSubscriber,
  crlf,
  signExampleCom,
  testDns,
  unsubscribeEvents,
  type CampaignSubscriber,
} from '../../helpers/inbound.js';

/** A signed plain-text reply from the subscriber to the campaign mail, saying `words`. */
async function reply(t: TestApp, s: CampaignSubscriber, n: number, words: string) {
  const mid = `${s.campaignId}.${s.subscriberId}@${t.config.inboundDomain}`;
  return signExampleCom(
    crlf(
      [
        `From: Maija <${s.email}>`,
        `To: reply@${t.config.inboundDomain}`,
        'Subject: Re: Kevään uutuudet',
        `Message-ID: <review-${n}@example.com>`,
        `In-Reply-To: <${mid}>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset="UTF-8"',
        'Content-Transfer-Encoding: 8bit',
        '',
        words,
        '',
      ].join('\n'),
    ),
  );
}

describe('review queue of replies', () => {
  let t: TestApp;

  before(async () => {
    t = await bootApp({ env: { INBOUND_DOMAIN: 'news.example.com' }, dnsResolver: testDns });
  });
  after(async () => {
    await t.close();
  });

  it('puts every reply labelled ambiguous in the corpus up for review with its reason, acting on none', async () => {
    const s = await campaignSubscriber(t);
    const ambiguous = loadCorpus().filter((i) => i.label === 'ambiguous');
    expect(ambiguous.length).to.be.at.least(30);
    for (const [n, item] of ambiguous.entries()) {
      const res = await t.services.inbound.process(await reply(t, s, n, item.text), {
        via: 'http',
      });
      expect(res.status, item.id).to.equal('needs_review');
      expect(res.classification, item.id).to.be.oneOf(['ambiguous', 'other']);
      const rec = await t.db.models.InboundMessage.findById(res.id).lean();
      expect(rec!.detail, item.id).to.be.a('string').and.not.equal('');
    }
    expect(await t.services.suppressions.isSuppressed(s.email, s.listId)).to.equal(false);
    expect(await unsubscribeEvents(t, s)).to.equal(0);
  });

  it('never acts on requests in quotes, forwarded originals or signatures (.eml layouts)', async () => {
    const dir = path.resolve('test/fixtures/replies/eml');
    const s = await campaignSubscriber(t);
    const mid = `${s.campaignId}.${s.subscriberId}@${t.config.inboundDomain}`;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.eml'))) {
      const text = readFileSync(path.join(dir, file), 'utf8')
        .replaceAll('maija@example.com', s.email)
        .replace(/^In-Reply-To: <[^>]+>/m, `In-Reply-To: <${mid}>`);
      const res = await t.services.inbound.process(await signExampleCom(crlf(text)), {
        via: 'http',
      });
      expect(res, file).to.include({ status: 'needs_review', classification: 'other' });
    }
    expect(await t.services.suppressions.isSuppressed(s.email, s.listId)).to.equal(false);
    expect(await unsubscribeEvents(t, s)).to.equal(0);
  });

  it('lists ambiguous replies with the reason and lets staff dismiss one, audited', async () => {
    const s = await campaignSubscriber(t);
    const auth = `Bearer ${t.adminToken}`;
    const asked = await t.services.inbound.process(
      await reply(t, s, 1000, 'Jos tätä jatkuu, peruutan uutiskirjeen.'),
      { via: 'http' },
    );
    const question = await t.services.inbound.process(
      await reply(t, s, 1001, 'Onko Genelec 8030 vielä saatavilla?'),
      { via: 'http' },
    );
    expect(asked.classification).to.equal('ambiguous');
    expect(question).to.include({ status: 'needs_review', classification: 'other' });

    const list = await t.http
      .get('/api/v1/inbound?status=needs_review&classification=ambiguous&limit=200')
      .set('Authorization', auth)
      .expect(200);
    const ids = list.body.items.map((i: { id: string }) => i.id);
    expect(ids).to.include(asked.id).and.not.include(question.id);
    const item = list.body.items.find((i: { id: string }) => i.id === asked.id);
    expect(item).to.include({ classification: 'ambiguous', subscriberId: s.subscriberId });
    expect(item.detail).to.equal('hedged by "jos": asks to stop: "peruutan … uutiskirjeen"');
    await t.http
      .get('/api/v1/inbound?classification=whatever')
      .set('Authorization', auth)
      .expect(400);

    const dismissed = await t.http
      .post(`/api/v1/inbound/${asked.id}/action`)
      .set('Authorization', auth)
      .send({ action: 'ignore' })
      .expect(200);
    expect(dismissed.body).to.include({ status: 'done', outcome: 'staff_ignored' });
    expect(await unsubscribeEvents(t, s)).to.equal(0);
    const audited = await t.db.models.AuditEntry.find({
      action: 'inbound.ignore',
      'details.inboundMessageId': asked.id,
    }).lean();
    expect(audited).to.have.length(1);
  });

  it('pages the queue by cursor: messages received in the same millisecond each appear once', async () => {
    const auth = `Bearer ${t.adminToken}`;
    const at = new Date('2026-01-14T08:00:00.000Z');
    const message = (n: number, receivedAt: Date) => ({
      _id: new Types.ObjectId(),
      receivedAt,
      via: 'http' as const,
      digest: `same-millisecond-${n}`,
      rawSize: 10,
      status: 'needs_review' as const,
      classification: 'other' as const,
      from: `tie${n}@example.com`,
      subject: `tie ${n}`,
    });
    await t.db.models.InboundMessage.insertMany([
      ...Array.from({ length: 7 }, (_, n) => message(n, at)),
      message(7, new Date(at.getTime() + 1)),
      message(8, new Date(at.getTime() - 1)),
    ]);

    type Page = { items: Array<{ id: string; receivedAt: string }>; nextCursor: string | null };
    const seen: Page['items'] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await t.http
        .get(`/api/v1/inbound?status=needs_review&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
        .set('Authorization', auth)
        .expect(200);
      const page = res.body as Page;
      expect(page.items.length).to.be.at.most(3);
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && ++pages < 100);

    const ids = seen.map((m) => m.id);
    expect(ids.length, 'no message twice').to.equal(new Set(ids).size);
    const all = await t.db.models.InboundMessage.find(
      { status: 'needs_review' },
      { _id: 1 },
    ).lean();
    expect([...ids].sort()).to.deep.equal(all.map((m) => String(m._id)).sort());
    const times = seen.map((m) => Date.parse(m.receivedAt));
    expect(times).to.deep.equal([...times].sort((a, b) => b - a));

    // The earlier paging by time still starts below it; mixing the two, or a forged cursor, is a 400.
    const below = (
      await t.http
        .get(
          `/api/v1/inbound?status=needs_review&before=${new Date(at.getTime() + 1).toISOString()}`,
        )
        .set('Authorization', auth)
        .expect(200)
    ).body as Page;
    expect(below.items.map((m) => m.receivedAt).slice(0, 7)).to.deep.equal(
      Array<string>(7).fill(at.toISOString()),
    );
    const first = (
      await t.http
        .get('/api/v1/inbound?status=needs_review&limit=1')
        .set('Authorization', auth)
        .expect(200)
    ).body as Page;
    await t.http
      .get(`/api/v1/inbound?cursor=${first.nextCursor}&before=${at.toISOString()}`)
      .set('Authorization', auth)
      .expect(400);
    for (const forged of ['nonsense', Buffer.from('d1:x:y').toString('base64url')])
      await t.http.get(`/api/v1/inbound?cursor=${forged}`).set('Authorization', auth).expect(400);
  });
});
