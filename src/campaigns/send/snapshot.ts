import { Types } from 'mongoose';
import { findByIds, MAX_IDS_PER_READ } from '../../db/group-read.js';
import type { CampaignDoc } from '../../db/models/campaign.js';
import type { Models } from '../../db/models/index.js';
import type { Clock } from '../../shared/clock.js';
import { isDuplicateKey } from '../../shared/errors.js';
import type { SuppressionService } from '../../unsubscribe/suppressions.js';
import type { AudienceSource } from '../audience.js';

const PAGE = 1000;

type Campaign = Pick<CampaignDoc, 'listIds' | 'segmentId'> & { _id: Types.ObjectId };
type SnapshotModels = Pick<
  Models,
  'Membership' | 'Subscriber' | 'CampaignRecipient' | 'CampaignBatch' | 'CampaignBatchEntries'
>;

interface Candidate {
  /** First audience list on which the person is subscribed; absent for a segment-only audience. */
  listId?: Types.ObjectId;
  /** When on none of the lists as subscribed: the membership status that excludes them. */
  excludedAs?: string;
}

/** One recipient of a batch, as campaign_batch_entries holds it. */
export interface BatchEntry {
  r: Types.ObjectId;
  s: Types.ObjectId;
  l?: Types.ObjectId | null;
  n?: number | null;
}

/**
 * Freezes a campaign's audience, once per subscriber: excluded people as `skipped` campaign_recipients
 * documents with the reason, the sendable ones as entries of numbered batches, whose entry lists
 * the worker reads by `_id` (their recipient documents are written with their first outcome). A
 * batch's entry list is written before the batch, and workers start only once the snapshot is
 * done; a snapshot that resumes after its predecessor died leaves out everyone it already placed.
 */
export class RecipientSnapshot {
  constructor(
    private readonly models: SnapshotModels,
    private readonly suppressions: SuppressionService,
    private readonly audience: AudienceSource,
    private readonly clock: Clock,
  ) {}

  /**
   * `keepAlive` is called between pages so the caller can renew its lease. Returns how many
   * recipients the campaign has: everyone placed, by this call or a predecessor.
   */
  async take(
    campaign: Campaign,
    batchSize: number,
    keepAlive: () => Promise<void>,
  ): Promise<number> {
    const placed = await this.resume(campaign._id);
    const candidates = await this.candidates(campaign);
    await keepAlive();
    for (const id of placed.subscribers) candidates.delete(id);
    const people = await this.people([...candidates.keys()]);
    await keepAlive();
    const suppressed = await this.suppressedIds(people, candidates);
    const skipped: Array<Record<string, unknown>> = [];
    const sendable: BatchEntry[] = [];
    for (const [id, c] of candidates) {
      const person = people.get(id);
      const skipReason = !person
        ? 'erased'
        : c.excludedAs && !c.listId
          ? c.excludedAs
          : person.status !== 'subscribed'
            ? person.status
            : suppressed.has(id)
              ? 'suppressed'
              : undefined;
      const subscriberId = new Types.ObjectId(id);
      if (skipReason) {
        skipped.push({
          campaignId: campaign._id,
          subscriberId,
          ...(c.listId ? { listId: c.listId } : {}),
          status: 'skipped',
          skipReason,
          batchNo: -1,
          attempts: 0,
        });
      } else {
        sendable.push({
          r: new Types.ObjectId(),
          s: subscriberId,
          ...(c.listId ? { l: c.listId } : {}),
        });
      }
    }
    for (let i = 0; i < skipped.length; i += PAGE) {
      await this.insertRecipients(skipped.slice(i, i + PAGE));
      await keepAlive();
    }
    let batchNo = placed.nextBatchNo;
    for (let i = 0; i < sendable.length; i += batchSize) {
      await writeBatch(
        this.models,
        this.clock,
        campaign._id,
        batchNo++,
        sendable.slice(i, i + batchSize),
      );
      await keepAlive();
    }
    return placed.subscribers.size + skipped.length + sendable.length;
  }

  /**
   * What a dead predecessor left: everyone it skipped or put in a batch stays where they are. An
   * entry list whose batch was never written (it died between the two) places nobody.
   */
  private async resume(
    campaignId: Types.ObjectId,
  ): Promise<{ subscribers: Set<string>; nextBatchNo: number }> {
    const batches = await this.models.CampaignBatch.find({ campaignId }, { batchNo: 1 }).lean();
    const subscribers = new Set<string>();
    for (const b of batches) {
      const list = await this.models.CampaignBatchEntries.findById(b._id).lean();
      for (const e of list?.entries ?? []) subscribers.add(String(e.s));
    }
    const skipped = await this.models.CampaignRecipient.find(
      { campaignId },
      { subscriberId: 1 },
    ).lean();
    for (const r of skipped) subscribers.add(String(r.subscriberId));
    return {
      subscribers,
      nextBatchNo: batches.reduce((max, b) => Math.max(max, b.batchNo + 1), 0),
    };
  }

  private async insertRecipients(docs: Array<Record<string, unknown>>): Promise<void> {
    if (docs.length === 0) return;
    try {
      await this.models.CampaignRecipient.insertMany(docs, { ordered: false, lean: true });
    } catch (err) {
      // A resumed snapshot meets the entries its predecessor already wrote.
      if (!isDuplicateKey(err)) throw err;
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

  /** Address and status of each candidate, read in groups by `_id`. */
  private async people(ids: string[]): Promise<Map<string, { email: string; status: string }>> {
    const out = new Map<string, { email: string; status: string }>();
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_READ) {
      const found = await findByIds<{ email: string; status: string }>(
        this.models.Subscriber,
        ids.slice(i, i + MAX_IDS_PER_READ),
        { email: 1, status: 1 },
      );
      for (const [id, person] of found) out.set(id, person);
    }
    return out;
  }

  private async suppressedIds(
    people: Map<string, { email: string }>,
    candidates: Map<string, Candidate>,
  ): Promise<Set<string>> {
    const byList = new Map<string, Array<{ id: string; hash: string }>>();
    for (const [id, p] of people) {
      const listId = candidates.get(id)?.listId;
      const key = listId ? String(listId) : '';
      const group = byList.get(key) ?? [];
      group.push({ id, hash: this.suppressions.hash(p.email) });
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

/**
 * Writes one batch: its entry list, then the batch (claimable once the campaign's snapshot is
 * done). Also used by retry-unknown, whose entries carry `n`. Returns false when the batch number
 * was taken meanwhile (a concurrent writer).
 */
export async function writeBatch(
  models: Pick<Models, 'CampaignBatch' | 'CampaignBatchEntries'>,
  clock: Clock,
  campaignId: Types.ObjectId,
  batchNo: number,
  entries: BatchEntry[],
): Promise<boolean> {
  const _id = new Types.ObjectId();
  // Plain documents: hundreds of entries made into mongoose subdocuments showed in CPU profiles.
  await models.CampaignBatchEntries.insertMany([{ _id, campaignId, entries }], { lean: true });
  try {
    await models.CampaignBatch.create({
      _id,
      campaignId,
      batchNo,
      open: true,
      availableAt: clock.now(),
      leaseOwner: '',
      leaseExpiresAt: new Date(0),
      leaseGen: 0,
    });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    await models.CampaignBatchEntries.deleteOne({ _id });
    return false;
  }
  return true;
}
