import { Types } from 'mongoose';
import type { CampaignDoc } from '../../db/models/campaign.js';
import type { Models } from '../../db/models/index.js';
import type { Clock } from '../../shared/clock.js';
import { isDuplicateKey } from '../../shared/errors.js';
import type { SuppressionService } from '../../unsubscribe/suppressions.js';
import type { AudienceSource } from '../audience.js';

const PAGE = 500;

type Campaign = Pick<CampaignDoc, 'listIds' | 'segmentId'> & { _id: Types.ObjectId };

interface Candidate {
  /** First audience list on which the person is subscribed; absent for a segment-only audience. */
  listId?: Types.ObjectId;
  /** When on none of the lists as subscribed: the membership status that excludes them. */
  excludedAs?: string;
}

/**
 * Freezes a campaign's audience into campaign_recipients: one entry per subscriber (the unique
 * index {campaignId, subscriberId} is what guarantees it), excluded people as `skipped` with the
 * reason, the sendable ones numbered into claimable batches as they are written. Every step is
 * idempotent, so a worker that dies half-way leaves a snapshot the next one simply completes.
 */
export class RecipientSnapshot {
  constructor(
    private readonly models: Pick<
      Models,
      'Membership' | 'Subscriber' | 'CampaignRecipient' | 'CampaignBatch'
    >,
    private readonly suppressions: SuppressionService,
    private readonly audience: AudienceSource,
    private readonly clock: Clock,
  ) {}

  /** `keepAlive` is called between pages so the caller can renew its lease. */
  async take(campaign: Campaign, batchSize: number, keepAlive: () => Promise<void>): Promise<void> {
    const candidates = await this.candidates(campaign);
    const ids = [...candidates.keys()];
    // A resumed snapshot numbers its batches after its predecessor's; entries that predecessor
    // already wrote keep theirs (the unique index refuses the second copy).
    const last = await this.models.CampaignBatch.findOne(
      { campaignId: campaign._id },
      { batchNo: 1 },
    )
      .sort({ batchNo: -1 })
      .lean();
    const numbering = { next: last ? last.batchNo + 1 : 0, filled: 0, batchSize };
    for (let i = 0; i < ids.length; i += PAGE) {
      await this.insertPage(campaign._id, ids.slice(i, i + PAGE), candidates, numbering);
      await keepAlive();
    }
  }

  private async candidates(campaign: Campaign): Promise<Map<string, Candidate>> {
    let inSegment: Set<string> | undefined;
    if (campaign.segmentId) {
      inSegment = new Set();
      for await (const id of this.audience.segmentMembers(campaign.segmentId)) inSegment.add(id);
    }
    const out = new Map<string, Candidate>();
    if (campaign.listIds.length === 0) {
      for (const id of inSegment ?? []) out.set(id, {});
      return out;
    }
    const order = new Map(campaign.listIds.map((id, i) => [String(id), i]));
    const cursor = this.models.Membership.find(
      { listId: { $in: campaign.listIds } },
      { subscriberId: 1, listId: 1, status: 1 },
    )
      .lean()
      .cursor({ batchSize: 1000 });
    for await (const m of cursor) {
      const id = String(m.subscriberId);
      if (inSegment && !inSegment.has(id)) continue;
      const seen = out.get(id) ?? {};
      if (m.status === 'subscribed') {
        // Deterministic choice between several subscribed lists: the campaign's list order.
        if (!seen.listId || order.get(String(m.listId))! < order.get(String(seen.listId))!) {
          seen.listId = m.listId;
        }
        delete seen.excludedAs;
      } else if (!seen.listId) {
        seen.excludedAs = m.status;
      }
      out.set(id, seen);
    }
    return out;
  }

  private async insertPage(
    campaignId: Types.ObjectId,
    ids: string[],
    candidates: Map<string, Candidate>,
    numbering: { next: number; filled: number; batchSize: number },
  ): Promise<void> {
    const people = await this.models.Subscriber.find(
      { _id: { $in: ids.map((id) => new Types.ObjectId(id)) } },
      { email: 1, status: 1 },
    ).lean();
    const byId = new Map(people.map((p) => [String(p._id), p]));
    const suppressed = await this.suppressedIds(people, candidates);
    const docs = ids.map((id) => {
      const c = candidates.get(id)!;
      const person = byId.get(id);
      const skipReason = !person
        ? 'erased'
        : c.excludedAs && !c.listId
          ? c.excludedAs
          : person.status !== 'subscribed'
            ? person.status
            : suppressed.has(id)
              ? 'suppressed'
              : undefined;
      let batchNo = -1;
      if (!skipReason) {
        if (numbering.filled === numbering.batchSize) {
          numbering.next += 1;
          numbering.filled = 0;
        }
        numbering.filled += 1;
        batchNo = numbering.next;
      }
      return {
        campaignId,
        subscriberId: new Types.ObjectId(id),
        ...(c.listId ? { listId: c.listId } : {}),
        status: skipReason ? 'skipped' : 'pending',
        ...(skipReason ? { skipReason } : {}),
        batchNo,
        attempts: 0,
      };
    });
    // Batches exist before entries point at them: a crash in between leaves an empty batch, which
    // a worker closes, never an entry in a batch nobody can claim.
    const batchNos = [...new Set(docs.map((d) => d.batchNo).filter((n) => n >= 0))];
    if (batchNos.length > 0) {
      await this.models.CampaignBatch.bulkWrite(
        batchNos.map((batchNo) => ({
          updateOne: {
            filter: { campaignId, batchNo },
            update: {
              $setOnInsert: {
                open: true,
                availableAt: this.clock.now(),
                leaseOwner: '',
                leaseExpiresAt: new Date(0),
              },
            },
            upsert: true,
          },
        })),
        { ordered: false },
      );
    }
    try {
      await this.models.CampaignRecipient.insertMany(docs, { ordered: false, lean: true });
    } catch (err) {
      // A resumed snapshot meets the entries its predecessor already wrote.
      if (!isDuplicateKey(err)) throw err;
    }
  }

  private async suppressedIds(
    people: Array<{ _id: Types.ObjectId; email: string }>,
    candidates: Map<string, Candidate>,
  ): Promise<Set<string>> {
    const byList = new Map<string, Array<{ id: string; hash: string }>>();
    for (const p of people) {
      const listId = candidates.get(String(p._id))?.listId;
      const key = listId ? String(listId) : '';
      const group = byList.get(key) ?? [];
      group.push({ id: String(p._id), hash: this.suppressions.hash(p.email) });
      byList.set(key, group);
    }
    const out = new Set<string>();
    for (const [listId, group] of byList) {
      const hit = await this.suppressions.suppressedHashes(
        group.map((g) => g.hash),
        listId || undefined,
      );
      for (const g of group) if (hit.has(g.hash)) out.add(g.id);
    }
    return out;
  }
}
