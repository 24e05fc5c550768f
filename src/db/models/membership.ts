import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

export const MEMBERSHIP_STATUSES = ['unconfirmed', 'subscribed', 'unsubscribed'] as const;

/** One subscriber on one list; its own collection so no document grows an array without bound. */
export function membershipSchema(clock: Clock) {
  const schema = new Schema(
    {
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      listId: { type: Schema.Types.ObjectId, required: true },
      status: { type: String, enum: MEMBERSHIP_STATUSES, required: true },
      source: { type: String },
      subscribedAt: { type: Date },
      unsubscribedAt: { type: Date },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ subscriberId: 1, listId: 1 }, { unique: true });
  schema.index({ listId: 1, status: 1 });
  // Paging a list's members in subscriber-id order (keyset cursors).
  schema.index({ listId: 1, subscriberId: 1 });
  return schema;
}

export type MembershipDoc = InferSchemaType<ReturnType<typeof membershipSchema>> & Timestamps;
export type MembershipModel = Model<MembershipDoc>;
export const membershipModel = (conn: Connection, clock: Clock): MembershipModel =>
  conn.model<MembershipDoc>('Membership', membershipSchema(clock), 'memberships');
