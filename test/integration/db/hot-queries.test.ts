import { expect } from 'chai';
import { Types } from 'mongoose';
import type { Database } from '../../../src/db/connection.js';
import { claimsOlderThan } from '../../../src/db/claims.js';
import { datePageFilter, idsAfter, idsBefore } from '../../../src/db/keyset.js';
import { testDatabase } from '../../helpers/db.js';

interface Explained {
  queryPlanner?: { Plan?: string[] };
  sortPushdown?: boolean;
}

/**
 * The queries people wait for, as the capabilities send them, read through an index on the
 * embedded database (its explain output shows SQLite's plan). On MongoDB the models declare the
 * same indexes; its planner's output has another shape, so these checks run on the embedded one.
 */
describe('hot queries use their indexes on the embedded database', () => {
  let db: Database;
  before(async () => {
    db = await testDatabase();
  });
  after(async () => db.close());

  const id = new Types.ObjectId();
  const cases = (): Array<[string, () => { explain(): Promise<unknown> }, RegExp, boolean?]> => {
    const m = db.models;
    return [
      ['subscriber by email', () => m.Subscriber.find({ email: 'a@example.com' }), /_email_1/],
      [
        'subscribers, a keyset page',
        () =>
          m.Subscriber.find({ _id: idsAfter(id) })
            .sort({ _id: 1 })
            .limit(51),
        /__id_/,
        true,
      ],
      [
        'subscribers with a status, first page',
        () =>
          m.Subscriber.find({ status: 'subscribed', _id: idsAfter() }).sort({ _id: 1 }).limit(51),
        /USING INDEX/,
        true,
      ],
      [
        'memberships of people',
        () => m.Membership.find({ subscriberId: { $in: [id] } }),
        /_subscriberId_1_listId_1/,
      ],
      [
        'members of a list',
        () => m.Membership.find({ listId: id, status: { $in: ['subscribed'] } }),
        /_listId_1_/,
      ],
      [
        'orders by external id',
        () => m.Order.find({ externalId: { $in: ['A-1', 'A-2'] } }),
        /_externalId_1/,
      ],
      [
        "a person's orders",
        () => m.Order.find({ subscriberId: id, _id: idsAfter() }).sort({ _id: 1 }).limit(51),
        /USING INDEX/,
        true,
      ],
      [
        "a campaign's recipients",
        () => m.CampaignRecipient.find({ campaignId: id }),
        /_campaignId_1/,
      ],
      ["a campaign's batches", () => m.CampaignBatch.find({ campaignId: id }), /_campaignId_1/],
      ["a batch's open windows", () => m.CampaignWindow.find({ batchId: id }), /_batchId_1/],
      [
        "a batch's window outcomes",
        () => m.CampaignWindowOutcome.find({ batchId: id }),
        /_batchId_1/,
      ],
      [
        "a campaign's window outcomes (statistics)",
        () => m.CampaignWindowOutcome.find({ campaignId: id }, { counts: 1 }),
        /_campaignId_1/,
      ],
      [
        "a campaign's batch entries (deletion)",
        () => m.CampaignBatchEntries.find({ campaignId: id }),
        /_campaignId_1/,
      ],
      ["a campaign's opt-outs", () => m.UnsubscribeEvent.find({ campaignId: id }), /_campaignId_1/],
      [
        'suppressions of addresses',
        () => m.Suppression.find({ emailHash: { $in: ['h1', 'h2'] } }),
        /_emailHash_1_scope_1/,
      ],
      ['staff token', () => m.ApiToken.find({ tokenHash: 'x' }), /_tokenHash_1/],
      [
        'inbound review queue, a later page',
        () =>
          m.InboundMessage.find(
            datePageFilter({ status: 'needs_review' }, 'receivedAt', {
              at: new Date(),
              id: String(id),
            }),
          )
            .sort({ receivedAt: -1, _id: -1 })
            .limit(51),
        /_status_1_receivedAt_-1/,
      ],
      [
        'old claims of a kind (the automation sweep)',
        () => m.Claim.find(claimsOlderThan(['automation', 'automation-scan'], new Date())),
        /_kind_1_at_1/,
      ],
      [
        'audit log, newest first',
        () =>
          m.AuditEntry.find({ $and: [{ _id: idsBefore() }] })
            .sort({ _id: -1 })
            .limit(51),
        /__id_/,
        true,
      ],
    ];
  };

  it('each answers through its index, and sorted pages come sorted from the _id index', async function () {
    // Told by the test harness: it started the embedded database.
    if (!process.env.KIRJE_TEST_FERRETDB_PID) this.skip();
    // Indexes exist once a collection does.
    await Promise.all(Object.values(db.models).map((model) => model.createIndexes()));
    for (const [name, query, index, sorted] of cases()) {
      const explained = (await query().explain()) as Explained | Explained[];
      const plan = Array.isArray(explained) ? explained[0]! : explained;
      const text = plan.queryPlanner?.Plan?.join('\n') ?? '';
      expect(text, `${name}: ${text}`)
        .to.match(/USING INDEX/)
        .and.to.match(index);
      expect(text, `${name}: ${text}`).not.to.match(/\bSCAN\b/);
      if (sorted) expect(plan.sortPushdown, `${name}: sorted by the index`).to.equal(true);
    }
  });
});
