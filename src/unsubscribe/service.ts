import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import { retryTransient } from '../db/retry.js';
import type { SUBSCRIBER_STATUSES } from '../db/models/subscriber.js';
import type { UnsubscribeChannel } from '../db/models/unsubscribe-event.js';
import type { ConsentLedger } from '../subscribe/consent-ledger.js';
import type { Clock } from '../shared/clock.js';
import { isDuplicateKey } from '../shared/errors.js';
import { ALL_LISTS, type SuppressionService } from './suppressions.js';

export type UnsubscribeScope = { all: true } | { all: false; listIds: string[] };

export interface UnsubscribeRequest {
  subscriberId: string;
  scope: UnsubscribeScope;
  channel: UnsubscribeChannel;
  campaignId?: string;
  inboundMessageId?: string;
  /** complaint and bounce suppress with their own reason; everything else is an unsubscribe. */
  reason?: 'unsubscribe' | 'complaint' | 'bounce' | 'staff';
}

export interface UnsubscribeResult {
  /** False when this opt-out was already recorded (a repeat): nothing new was written. */
  changed: boolean;
  /** False when the subscriber no longer exists (erased); the suppression by hash remains. */
  found: boolean;
  /** Who it was, for an answer in their language or a confirmation mail. */
  subscriber?: { email: string; locale: string; name: string };
}

type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number];

// A later opt-out never softens an earlier one: a complaint stays a complaint when the person also
// clicks "unsubscribe", and a bounce is not turned back into a plain unsubscribe.
const STATUS_RANK: Record<SubscriberStatus, number> = {
  unconfirmed: 0,
  subscribed: 0,
  unsubscribed: 1,
  bounced: 2,
  complained: 3,
};

/**
 * THE place that unsubscribes. Link, one-click POST, mailto, reply, complaint, bounce and staff all
 * end here. The suppression is written first (it is what stops mail), then memberships and status,
 * then the consent-ledger entries and the event; only then does the caller answer "done".
 *
 * Idempotent and safe to retry: the event is keyed by the suppressions the opt-out established,
 * not by "did this call change something". A process that dies after the suppression but before
 * the event writes the event on the retry (a "changed?" test would see nothing to change and lose
 * it for good), and two concurrent requests of the same person meet on the event's unique index
 * instead of both writing one. A new opt-out after a resubscribe has a new suppression, so a new
 * event. Under exact concurrency of one person the ledger may get the same withdrawal twice: a
 * duplicate withdrawal proves nothing false, a lost one would.
 */
export class UnsubscribeService {
  constructor(
    private readonly models: Pick<Models, 'Subscriber' | 'Membership' | 'UnsubscribeEvent'>,
    private readonly suppressions: SuppressionService,
    private readonly consent: ConsentLedger,
    private readonly clock: Clock,
  ) {}

  /**
   * Retried as a whole on a transient database error: every step finds what an earlier attempt
   * wrote, so the answer "done" is only given once everything is.
   */
  unsubscribe(req: UnsubscribeRequest): Promise<UnsubscribeResult> {
    return retryTransient(() => this.attempt(req));
  }

  private async attempt(req: UnsubscribeRequest): Promise<UnsubscribeResult> {
    const subscriber = await this.models.Subscriber.findById(req.subscriberId, {
      email: 1,
      locale: 1,
      name: 1,
    }).lean();
    if (!subscriber) return { changed: false, found: false };
    const who = { email: subscriber.email, locale: subscriber.locale, name: subscriber.name ?? '' };
    const now = this.clock.now();
    const reason = req.reason ?? (req.channel === 'staff' ? 'staff' : 'unsubscribe');
    const listIds = req.scope.all ? [] : [...new Set(req.scope.listIds)].sort();
    if (!req.scope.all && listIds.length === 0)
      throw new Error('a list-scoped opt-out needs lists');
    const scopes = req.scope.all ? [ALL_LISTS] : listIds;

    const suppressions = await Promise.all(
      scopes.map((scope) =>
        this.suppressions.ensure(subscriber.email, scope, reason, {
          channel: req.channel,
          campaignId: req.campaignId,
        }),
      ),
    );

    // A list-scoped opt-out names its lists; only "everything" has to find out which they were.
    const affected = req.scope.all
      ? await this.models.Membership.find(
          { subscriberId: subscriber._id, status: { $ne: 'unsubscribed' } },
          { listId: 1 },
        ).lean()
      : [];
    await this.models.Membership.updateMany(
      {
        subscriberId: subscriber._id,
        status: { $ne: 'unsubscribed' },
        ...(req.scope.all ? {} : { listId: { $in: listIds.map((id) => new Types.ObjectId(id)) } }),
      },
      { $set: { status: 'unsubscribed', unsubscribedAt: now } },
    );

    if (req.scope.all) {
      const terminal: SubscriberStatus =
        reason === 'complaint' ? 'complained' : reason === 'bounce' ? 'bounced' : 'unsubscribed';
      const weaker = (Object.keys(STATUS_RANK) as SubscriberStatus[]).filter(
        (s) => STATUS_RANK[s] < STATUS_RANK[terminal],
      );
      await this.models.Subscriber.updateOne(
        { _id: subscriber._id, status: { $in: weaker } },
        { $set: { status: terminal } },
      );
    }

    const key = eventKey(
      scopes,
      suppressions.map((s) => s.id),
    );
    if (await this.models.UnsubscribeEvent.exists({ subscriberId: subscriber._id, key })) {
      return { changed: false, found: true, subscriber: who };
    }
    const eventLists = req.scope.all ? affected.map((m) => String(m.listId)) : listIds;
    await Promise.all(
      (eventLists.length > 0 ? eventLists : [undefined]).map((listId) =>
        this.consent.record({
          subscriberId: String(subscriber._id),
          listId,
          kind: 'unsubscribe',
          source: req.channel,
        }),
      ),
    );
    try {
      const res = await this.models.UnsubscribeEvent.updateOne(
        { subscriberId: subscriber._id, key },
        {
          $setOnInsert: {
            at: now,
            channel: req.channel,
            allLists: req.scope.all,
            listIds: eventLists,
            campaignId: req.campaignId,
            inboundMessageId: req.inboundMessageId,
          },
        },
        { upsert: true },
      );
      return { changed: res.upsertedCount > 0, found: true, subscriber: who };
    } catch (err) {
      if (isDuplicateKey(err)) return { changed: false, found: true, subscriber: who };
      throw err;
    }
  }

  /** Opt-outs attributed to each campaign (from the campaign id in the link): counts only. */
  async countByCampaign(campaignIds: string[]): Promise<Map<string, number>> {
    const ids = campaignIds.filter((id) => /^[0-9a-f]{24}$/.test(id));
    const counts = new Map(ids.map((id) => [id, 0]));
    if (ids.length === 0) return counts;
    const rows = await this.models.UnsubscribeEvent.aggregate<{ _id: Types.ObjectId; n: number }>([
      { $match: { campaignId: { $in: ids.map((id) => new Types.ObjectId(id)) } } },
      { $group: { _id: '$campaignId', n: { $sum: 1 } } },
    ]);
    for (const row of rows) counts.set(String(row._id), row.n);
    return counts;
  }
}

/** Names the opt-out by the suppressions it rests on: same suppressions, same event. */
function eventKey(scopes: string[], suppressionIds: string[]): string {
  const h = createHash('sha256');
  scopes.forEach((scope, i) => h.update(`${scope}=${suppressionIds[i]};`));
  return h.digest('base64url').slice(0, 22);
}
