import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import { ALL_LISTS } from '../db/models/suppression.js';
import type { Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import { isDuplicateKey } from '../shared/errors.js';

/** Is this normalised address suppressed for all lists, or (with listId) for that list? */
export type SuppressionCheck = (normalisedEmail: string, listId?: string) => Promise<boolean>;
/** Staff removal of a contact: suppress everywhere, unsubscribe every membership and the contact. */
export type StaffUnsubscribe = (subscriberId: string) => Promise<void>;

// Interim adapters over the models until src/unsubscribe (the one place that unsubscribes) is
// wired in services.ts; ContactService only sees the two function types above.
export function suppressionCheck(
  models: Pick<Models, 'Suppression'>,
  protector: DataProtector,
): SuppressionCheck {
  return async (email, listId) =>
    (await models.Suppression.exists({
      emailHash: protector.emailHash(email),
      scope: { $in: listId ? [ALL_LISTS, listId] : [ALL_LISTS] },
    })) !== null;
}

export function staffUnsubscribe(
  models: Pick<Models, 'Suppression' | 'Subscriber' | 'Membership'>,
  protector: DataProtector,
  clock: Clock,
): StaffUnsubscribe {
  return async (subscriberId) => {
    const sub = await models.Subscriber.findById(subscriberId, { email: 1 }).lean();
    if (!sub) return;
    try {
      await models.Suppression.updateOne(
        { emailHash: protector.emailHash(sub.email), scope: ALL_LISTS },
        { $setOnInsert: { reason: 'staff', channel: 'staff' } },
        { upsert: true },
      );
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const now = clock.now();
    await models.Membership.updateMany(
      { subscriberId: new Types.ObjectId(subscriberId), status: { $ne: 'unsubscribed' } },
      { $set: { status: 'unsubscribed', unsubscribedAt: now } },
    );
    await models.Subscriber.updateOne(
      { _id: sub._id, status: { $in: ['subscribed', 'unconfirmed'] } },
      { $set: { status: 'unsubscribed' } },
    );
  };
}
