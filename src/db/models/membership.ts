import { Schema, type Connection, type InferSchemaType, type Model, type Types } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

export const MEMBERSHIP_STATUSES = ['unconfirmed', 'subscribed', 'unsubscribed'] as const;

type Id = Types.ObjectId | string;

/**
 * The `_id` of the membership of one subscriber on one list. Derived from both ids, so the pair is
 * found, upserted and decided between racing writers by `_id` alone: the only filter the embedded
 * FerretDB answers from an index (docs/database.md).
 */
export const membershipId = (subscriberId: Id, listId: Id): string =>
  `${String(subscriberId)}:${String(listId)}`;

/** One subscriber on one list; its own collection so no document grows an array without bound. */
export function membershipSchema(clock: Clock) {
  const schema = new Schema(
    {
      _id: { type: String, required: true },
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      listId: { type: Schema.Types.ObjectId, required: true },
      status: { type: String, enum: MEMBERSHIP_STATUSES, required: true },
      source: { type: String },
      subscribedAt: { type: Date },
      unsubscribedAt: { type: Date },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  // Inserts (create, insertMany, bulkWrite insertOne) that name only the pair get its `_id`;
  // upserts must filter by `membershipId(...)` themselves.
  schema.pre('validate', function () {
    if (this._id === undefined && this.subscriberId && this.listId)
      this._id = membershipId(this.subscriberId, this.listId);
  });
  // Also refuses a second document for a pair written with some other `_id`.
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
