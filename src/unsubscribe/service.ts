import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import type { UnsubscribeChannel } from '../db/models/unsubscribe-event.js';
import type { ConsentLedger } from '../subscribe/consent-ledger.js';
import type { Clock } from '../shared/clock.js';
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
  /** False when the person was already unsubscribed from everything asked: nothing changed. */
  changed: boolean;
  /** False when the subscriber no longer exists (erased); the suppression by hash remains. */
  found: boolean;
}

/**
 * THE place that unsubscribes. Link, one-click POST, mailto, reply, complaint, bounce and staff all
 * end here. The suppression is written first (it is what stops mail), then memberships and status,
 * then the event; only then does the caller answer "done". Idempotent: a repeat changes nothing
 * and writes no second event.
 */
export class UnsubscribeService {
  constructor(
    private readonly models: Pick<Models, 'Subscriber' | 'Membership' | 'UnsubscribeEvent'>,
    private readonly suppressions: SuppressionService,
    private readonly consent: ConsentLedger,
    private readonly clock: Clock,
  ) {}

  async unsubscribe(req: UnsubscribeRequest): Promise<UnsubscribeResult> {
    const subscriber = await this.models.Subscriber.findById(req.subscriberId, {
      email: 1,
      status: 1,
    }).lean();
    if (!subscriber) return { changed: false, found: false };
    const now = this.clock.now();
    const reason = req.reason ?? (req.channel === 'staff' ? 'staff' : 'unsubscribe');
    const listIds = req.scope.all ? [] : req.scope.listIds;
    const scopes = req.scope.all ? [ALL_LISTS] : listIds;

    let changed = false;
    for (const scope of scopes) {
      if (
        await this.suppressions.suppress(subscriber.email, scope, reason, {
          channel: req.channel,
          campaignId: req.campaignId,
        })
      ) {
        changed = true;
      }
    }

    const membershipFilter = {
      subscriberId: subscriber._id,
      status: { $ne: 'unsubscribed' },
      ...(req.scope.all ? {} : { listId: { $in: listIds.map((id) => new Types.ObjectId(id)) } }),
    };
    const affected = await this.models.Membership.find(membershipFilter, { listId: 1 }).lean();
    if (affected.length > 0) {
      await this.models.Membership.updateMany(
        { _id: { $in: affected.map((m) => m._id) } },
        { $set: { status: 'unsubscribed', unsubscribedAt: now } },
      );
      changed = true;
    }

    if (req.scope.all) {
      const terminal =
        reason === 'complaint' ? 'complained' : reason === 'bounce' ? 'bounced' : 'unsubscribed';
      const res = await this.models.Subscriber.updateOne(
        { _id: subscriber._id, status: { $ne: terminal } },
        { $set: { status: terminal } },
      );
      if (res.modifiedCount > 0) changed = true;
    }

    if (changed) {
      await this.models.UnsubscribeEvent.create({
        at: now,
        subscriberId: subscriber._id,
        channel: req.channel,
        allLists: req.scope.all,
        listIds: req.scope.all ? affected.map((m) => m.listId) : listIds,
        campaignId: req.campaignId,
        inboundMessageId: req.inboundMessageId,
      });
      const ledgerLists = req.scope.all ? affected.map((m) => String(m.listId)) : listIds;
      for (const listId of ledgerLists.length > 0 ? ledgerLists : [undefined]) {
        await this.consent.record({
          subscriberId: String(subscriber._id),
          listId,
          kind: 'unsubscribe',
          source: req.channel,
        });
      }
    }
    return { changed, found: true };
  }
}
