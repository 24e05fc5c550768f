import { Types } from 'mongoose';
import { countMatching } from '../../db/count.js';
import { findByIds } from '../../db/group-read.js';
import { idsAfter } from '../../db/keyset.js';
import type { CampaignDoc } from '../../db/models/campaign.js';
import type { Models } from '../../db/models/index.js';
import { membershipId } from '../../db/models/membership.js';
import type { Clock } from '../../shared/clock.js';
import { isDuplicateKey } from '../../shared/errors.js';
import type { AudienceSource } from '../audience.js';

const PAGE = 1000;
/** Memberships over a campaign's lists read whole; larger audiences are walked with the subscribers. */
const SMALL_AUDIENCE = 50_000;

type Campaign = Pick<CampaignDoc, 'listIds' | 'segmentId'> & { _id: Types.ObjectId };
type SnapshotModels = Pick<
  Models,
  'Membership' | 'Subscriber' | 'CampaignRecipient' | 'CampaignBatch' | 'CampaignBatchEntries'
>;

/** A page of the audience. */
interface CandidatePage {
  candidates: Map<string, Candidate>;
}

interface Candidate {
  /** First audience list on which the person is subscribed; absent for a segment-only audience. */
  listId?: Types.ObjectId;
  /** When on none of the lists as subscribed: the membership status that excludes them. */
  excludedAs?: string;
}

/** One recipient of a batch, as campaign_batch_entries holds it. */
export interface BatchEntry {
  subscriberId: Types.ObjectId;
  /** The audience list it is sent for; absent for a segment-only audience. */
  listId?: Types.ObjectId | null;
}

/** How a batch is cut: recipients per claimed batch, and per window within it. */
export interface BatchShape {
  batchSize: number;
  windowSize: number;
}

/**
 * Freezes a campaign's audience, once per subscriber and in order: people whose memberships
 * exclude them as `skipped` campaign_recipients documents with the reason, the others as entries
 * of numbered batches (whose people and suppressions the worker checks right before each window),
 * whose entry lists the worker reads by `_id`. A batch's entry list is written before the batch,
 * and a written batch never changes, so workers send it while the rest is taken; a snapshot that
 * resumes after its predecessor died leaves out everyone it already placed.
 */
export class RecipientSnapshot {
  constructor(
    private readonly models: SnapshotModels,
    private readonly audience: AudienceSource,
    private readonly clock: Clock,
  ) {}

  /**
   * `keepAlive` is called between pages so the caller can renew its lease. Returns how many
   * recipients the campaign has: everyone placed, by this call or a predecessor. The audience is
   * taken a page of people at a time, so memory does not grow with it.
   */
  async take(
    campaign: Campaign,
    { batchSize, windowSize }: BatchShape,
    keepAlive: () => Promise<void>,
  ): Promise<number> {
    const placed = await this.resume(campaign._id);
    let batchNo = placed.nextBatchNo;
    let total = placed.subscribers.size;
    const sendable: BatchEntry[] = [];
    for await (const page of this.candidatePages(campaign)) {
      for (const id of placed.subscribers) page.candidates.delete(id);
      const skipped: Array<Record<string, unknown>> = [];
      for (const [id, c] of page.candidates) {
        const skipReason = c.excludedAs && !c.listId ? c.excludedAs : undefined;
        const subscriberId = new Types.ObjectId(id);
        if (skipReason) {
          skipped.push({
            campaignId: campaign._id,
            subscriberId,
            ...(c.listId ? { listId: c.listId } : {}),
            status: 'skipped',
            skipReason,
          });
        } else {
          sendable.push({
            subscriberId,
            ...(c.listId ? { listId: c.listId } : {}),
          });
        }
      }
      await this.insertRecipients(skipped);
      total += skipped.length;
      while (sendable.length >= batchSize) {
        const entries = sendable.splice(0, batchSize);
        await writeBatch(this.models, this.clock, campaign._id, batchNo++, entries, { windowSize });
        total += entries.length;
      }
      await keepAlive();
    }
    if (sendable.length > 0) {
      await writeBatch(this.models, this.clock, campaign._id, batchNo++, sendable, { windowSize });
      total += sendable.length;
    }
    return total;
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
      for (const e of list?.entries ?? []) subscribers.add(String(e.subscriberId));
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

  /**
   * The audience a page of people at a time, each person once, with the list each is sent for:
   * the segment's members in `_id` order; or a small audience of lists read whole from the
   * membership index; or, for large lists, the subscribers walked in `_id` order. Memberships
   * of a page are read by their pair keys.
   */
  private async *candidatePages(campaign: Campaign): AsyncGenerator<CandidatePage> {
    if (campaign.segmentId) {
      let ids: string[] = [];
      for await (const id of this.audience.segmentMembers(campaign.segmentId)) {
        ids.push(id);
        if (ids.length === PAGE) {
          yield { candidates: await this.onLists(campaign, ids) };
          ids = [];
        }
      }
      if (ids.length > 0) yield { candidates: await this.onLists(campaign, ids) };
      return;
    }
    const { Membership, Subscriber } = this.models;
    let members = 0;
    for (const listId of campaign.listIds) members += await countMatching(Membership, { listId });
    if (members <= SMALL_AUDIENCE) {
      // One read of the lists' memberships, statuses included, instead of a second by pair key.
      const rows = await Membership.find(
        { listId: { $in: campaign.listIds } },
        { subscriberId: 1, listId: 1, status: 1 },
      ).lean();
      const statuses = new Map(rows.map((m) => [String(m._id), m.status]));
      const ids = [...new Set(rows.map((m) => String(m.subscriberId)))].sort();
      for (let i = 0; i < ids.length; i += PAGE) {
        const page = ids.slice(i, i + PAGE);
        yield { candidates: standing(campaign, page, (id) => statuses.get(id)) };
      }
      return;
    }
    let after: Types.ObjectId | undefined;
    for (;;) {
      const page = await Subscriber.find({ _id: idsAfter(after) }, { _id: 1 })
        .sort({ _id: 1 })
        .limit(PAGE)
        .lean<Array<{ _id: Types.ObjectId }>>();
      if (page.length === 0) return;
      const candidates = await this.onLists(
        campaign,
        page.map((p) => String(p._id)),
      );
      yield { candidates };
      if (page.length < PAGE) return;
      after = page[page.length - 1]!._id;
    }
  }

  /** These people's standing on the campaign's lists, their memberships read by pair key. */
  private async onLists(campaign: Campaign, ids: string[]): Promise<Map<string, Candidate>> {
    if (campaign.listIds.length === 0) return standing(campaign, ids, () => undefined);
    const memberships = await findByIds<{ status: string }>(
      this.models.Membership,
      ids.flatMap((id) => campaign.listIds.map((listId) => membershipId(id, listId))),
      { status: 1 },
    );
    return standing(campaign, ids, (key) => memberships.get(key)?.status);
  }
}

/**
 * People's standing on the campaign's lists, given each membership's status by its pair key;
 * everyone when the campaign has no lists. Someone subscribed to several is sent for the first
 * of them in the campaign's order.
 */
function standing(
  campaign: Campaign,
  ids: string[],
  statusOf: (membershipKey: string) => string | undefined,
): Map<string, Candidate> {
  const out = new Map<string, Candidate>();
  for (const id of ids) {
    if (campaign.listIds.length === 0) {
      out.set(id, {});
      continue;
    }
    let candidate: Candidate | undefined;
    for (const listId of campaign.listIds) {
      const status = statusOf(membershipId(id, listId));
      if (!status) continue;
      candidate ??= {};
      if (status === 'subscribed') {
        candidate.listId ??= listId;
        delete candidate.excludedAs;
      } else if (!candidate.listId) {
        candidate.excludedAs ??= status;
      }
    }
    if (candidate) out.set(id, candidate);
  }
  return out;
}

/**
 * Writes one batch: its entry list, then the batch (claimable from then on, even while the
 * snapshot goes on). Also used by retry-unknown, whose batches count their entries as `requeued`. Returns
 * false when the batch number was taken meanwhile (a concurrent writer).
 */
export async function writeBatch(
  models: Pick<Models, 'CampaignBatch' | 'CampaignBatchEntries'>,
  clock: Clock,
  campaignId: Types.ObjectId,
  batchNo: number,
  entries: BatchEntry[],
  { windowSize, requeued = 0 }: { windowSize: number; requeued?: number },
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
      windowSize,
      requeued,
    });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    await models.CampaignBatchEntries.deleteOne({ _id });
    return false;
  }
  return true;
}
