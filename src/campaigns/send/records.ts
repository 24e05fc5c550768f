import type { Types } from 'mongoose';
import { countMatching } from '../../db/count.js';
import { MAX_IDS_PER_READ } from '../../db/group-read.js';
import type { CampaignDoc } from '../../db/models/campaign.js';
import type { Models } from '../../db/models/index.js';
import type { Clock } from '../../shared/clock.js';
import { writeCampaign } from './lifecycle.js';
import type { OutcomeCounts } from './windows.js';

/** What a campaign's statistics say of its recipients' outcomes. */
export interface SendCounts {
  sent: number;
  failed: number;
  skipped: number;
  unknown: number;
}

type RecordModels = Pick<
  Models,
  | 'Campaign'
  | 'CampaignRecipient'
  | 'CampaignBatch'
  | 'CampaignBatchEntries'
  | 'CampaignWindow'
  | 'CampaignWindowOutcome'
  | 'Claim'
>;
type Campaign = Pick<CampaignDoc, 'totals'> & { _id: Types.ObjectId };

/**
 * The campaign's counters: its `totals` once its per-recipient records are gone, else the sum of
 * its window outcomes, its snapshot's exclusions, less the unknown ones already requeued (those
 * count again by their new outcome). Reads only this campaign's records.
 */
export async function countOutcomes(models: RecordModels, campaign: Campaign): Promise<SendCounts> {
  if (campaign.totals) return campaign.totals;
  const campaignId = campaign._id;
  const [outcomes, batches, excluded] = await Promise.all([
    models.CampaignWindowOutcome.find({ campaignId }, { counts: 1 }).lean<
      Array<{ counts: OutcomeCounts }>
    >(),
    models.CampaignBatch.find({ campaignId }, { requeued: 1 }).lean<Array<{ requeued?: number }>>(),
    countMatching(models.CampaignRecipient, { campaignId }),
  ]);
  const sum = (k: keyof OutcomeCounts) => outcomes.reduce((n, o) => n + o.counts[k], 0);
  const requeued = batches.reduce((n, b) => n + (b.requeued ?? 0), 0);
  return {
    sent: sum('sent'),
    failed: sum('failed'),
    skipped: sum('skipped') + excluded,
    unknown: Math.max(0, sum('unknown') - requeued),
  };
}

/**
 * Removes everything the sending of one campaign wrote, found by its `campaignId` (indexed) or
 * by the `_id`s of its own batches and windows: the cost is that campaign's records, whatever
 * other campaigns left.
 */
export async function deleteCampaignRecords(
  models: RecordModels,
  campaignId: Types.ObjectId,
): Promise<void> {
  const [batches, unknownWindows] = await Promise.all([
    models.CampaignBatch.find({ campaignId }, { leaseGen: 1 }).lean(),
    models.CampaignWindowOutcome.find(
      { campaignId, 'counts.unknown': { $gt: 0 } },
      { _id: 1 },
    ).lean<Array<{ _id: string }>>(),
  ]);
  // Claims named after its batches (each lease generation) and its requeued windows.
  const claimIds = [
    ...batches.flatMap((b) =>
      Array.from({ length: (b.leaseGen ?? 0) + 1 }, (_, gen) => `batch:${String(b._id)}:${gen}`),
    ),
    ...unknownWindows.map((w) => requeueClaimId(w._id)),
  ];
  for (let i = 0; i < claimIds.length; i += MAX_IDS_PER_READ) {
    await models.Claim.deleteMany({ _id: { $in: claimIds.slice(i, i + MAX_IDS_PER_READ) } });
  }
  await Promise.all([
    models.CampaignWindow.deleteMany({ campaignId }),
    models.CampaignWindowOutcome.deleteMany({ campaignId }),
    models.CampaignBatchEntries.deleteMany({ campaignId }),
    models.CampaignRecipient.deleteMany({ campaignId }),
  ]);
  await models.CampaignBatch.deleteMany({ campaignId });
}

/** The claim that a window's unknown recipients were requeued, so they are requeued once. */
export const requeueClaimId = (windowKey: string) => `requeue:${windowKey}`;

const DONE: Array<CampaignDoc['status']> = ['finished', 'cancelled'];
const DAY_MS = 86_400_000;

const recordsDue = (c: Pick<CampaignDoc, 'recordsKeptUntil'>, now: Date) =>
  Boolean(c.recordsKeptUntil && c.recordsKeptUntil <= now);

/**
 * Keeps a finished campaign's per-recipient records for at least another day, for a
 * retry-unknown about to requeue from them. False when they are already due to go: then there is
 * nothing to requeue. This write and the expiry's first one are both campaign writes, so one comes
 * first and the other sees it: a requeue is never made from records being deleted.
 */
export async function holdRecordExpiry(
  models: RecordModels,
  clock: Clock,
  campaign: Pick<CampaignDoc, 'status' | 'recordsKeptUntil'> & { _id: Types.ObjectId },
  owner: string,
): Promise<boolean> {
  // Running and paused campaigns have no expiry date yet: finishing sets it.
  if (campaign.status !== 'finished') return true;
  const now = clock.now();
  const atLeast = new Date(now.getTime() + DAY_MS);
  const kept = campaign.recordsKeptUntil;
  const held = await writeCampaign(
    models,
    clock,
    campaign._id,
    {
      from: ['running', 'paused', 'finished'],
      when: (c) => !recordsDue(c, now),
      set: { recordsKeptUntil: kept && kept > atLeast ? kept : atLeast },
    },
    owner,
  );
  return held !== null;
}

/**
 * Campaigns done sending whose records are past SEND_RECIPIENT_RECORD_DAYS keep only their
 * counters (seed §10: statistics that cannot be tied to a person): the totals are written first,
 * then the records go, then the date, so a crash in between is finished by the next run.
 */
export async function expireRecipientRecords(
  models: RecordModels,
  clock: Clock,
  owner: string,
): Promise<number> {
  const due = await models.Campaign.find(
    { status: { $in: DONE }, recordsKeptUntil: { $lte: clock.now() } },
    { totals: 1 },
  )
    .limit(20)
    .lean<Campaign[]>();
  let expired = 0;
  for (const campaign of due) {
    const totals = await countOutcomes(models, campaign);
    const kept = await writeCampaign(
      models,
      clock,
      campaign._id,
      { from: DONE, when: (c) => recordsDue(c, clock.now()), set: { totals } },
      owner,
    );
    // Reopened or held meanwhile (retry-unknown): its records are needed again.
    if (!kept) continue;
    await deleteCampaignRecords(models, campaign._id);
    await writeCampaign(
      models,
      clock,
      campaign._id,
      { from: DONE, set: {}, unset: { recordsKeptUntil: 1 } },
      owner,
    );
    expired += 1;
  }
  return expired;
}
