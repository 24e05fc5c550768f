import { Types } from 'mongoose';
import type { WindowOutcomes } from '../../src/campaigns/send/windows.js';
import type { Models } from '../../src/db/models/index.js';

/** One recipient's last recorded outcome in a campaign, as the send protocol's records say. */
export interface RecipientOutcome {
  status: 'sent' | 'failed' | 'retry' | 'skipped' | 'unknown';
  /** The attempt within its batch (1 for the first). */
  attempt: number;
  /** The relay's reply (failed, retry) or the reason (skipped). */
  detail?: string;
}

/**
 * Every recipient's outcome by subscriber id, read straight from the records: the snapshot's
 * exclusions, then each batch's windows in attempt order, later batches (requeues) last.
 */
export async function recipientOutcomes(
  models: Models,
  campaignId: string,
): Promise<Map<string, RecipientOutcome>> {
  const id = new Types.ObjectId(campaignId);
  const out = new Map<string, RecipientOutcome>();
  for (const r of await models.CampaignRecipient.find({ campaignId: id }).lean()) {
    out.set(String(r.subscriberId), {
      status: 'skipped',
      attempt: 0,
      detail: r.skipReason ?? undefined,
    });
  }
  const batches = await models.CampaignBatch.find({ campaignId: id }).sort({ batchNo: 1 }).lean();
  const outcomes = await models.CampaignWindowOutcome.find({ campaignId: id }).lean<
    Array<WindowOutcomes & { batchId: Types.ObjectId; attempt: number }>
  >();
  for (const batch of batches) {
    const entries = (await models.CampaignBatchEntries.findById(batch._id).lean())!.entries;
    const who = (i: number) => String(entries[i]!.subscriberId);
    const mine = outcomes
      .filter((o) => String(o.batchId) === String(batch._id))
      .sort((a, b) => a.attempt - b.attempt);
    for (const o of mine) {
      const attempt = o.attempt;
      for (const i of o.sent) out.set(who(i), { status: 'sent', attempt });
      for (const i of o.unknown) out.set(who(i), { status: 'unknown', attempt });
      for (const f of o.failed) out.set(who(f.i), { status: 'failed', attempt, detail: f.reply });
      for (const f of o.retry) out.set(who(f.i), { status: 'retry', attempt, detail: f.reply });
      for (const f of o.skipped) {
        out.set(who(f.i), { status: 'skipped', attempt, detail: f.reason });
      }
    }
  }
  return out;
}

/**
 * Rewrites a sent recipient's window outcome as unknown, as if the worker had died inside that
 * SMTP transaction: the state a crash leaves, for tests of what staff do about it.
 */
export async function markSentAsUnknown(
  models: Models,
  campaignId: string,
  subscriberId: string,
): Promise<void> {
  const id = new Types.ObjectId(campaignId);
  for (const batch of await models.CampaignBatch.find({ campaignId: id }).lean()) {
    const entries = (await models.CampaignBatchEntries.findById(batch._id).lean())!.entries;
    const index = entries.findIndex((e) => String(e.subscriberId) === subscriberId);
    if (index < 0) continue;
    const outcome = await models.CampaignWindowOutcome.findOne({
      batchId: batch._id,
      sent: index,
    }).lean();
    if (!outcome) continue;
    await models.CampaignWindowOutcome.updateOne(
      { _id: outcome._id },
      {
        $set: {
          sent: outcome.sent.filter((i) => i !== index),
          unknown: [...outcome.unknown, index],
          'counts.sent': outcome.counts!.sent - 1,
          'counts.unknown': outcome.counts!.unknown + 1,
        },
      },
    );
    return;
  }
  throw new Error(`no sent outcome of ${subscriberId} in campaign ${campaignId}`);
}
