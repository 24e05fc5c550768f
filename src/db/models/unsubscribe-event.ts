import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';

export const UNSUBSCRIBE_CHANNELS = [
  'link',
  'one-click',
  'email',
  'reply',
  'complaint',
  'bounce',
  'staff',
  'preferences',
] as const;
export type UnsubscribeChannel = (typeof UNSUBSCRIBE_CHANNELS)[number];

/**
 * One opt-out: when, how, from which campaign, which lists. `key` names the suppressions the
 * opt-out established (src/unsubscribe/service.ts), so a repeat or a retry after a crash finds the
 * same event instead of writing a second one, while an opt-out after a resubscribe is a new event.
 * The `_id` is derived from the subscriber and `key` (src/unsubscribe/service.ts), so "is this
 * opt-out recorded?" is a lookup by `_id`.
 */
export function unsubscribeEventSchema(clock: Clock) {
  const schema = new Schema(
    {
      at: { type: Date, required: true, default: () => clock.now() },
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      key: { type: String, required: true },
      channel: { type: String, enum: UNSUBSCRIBE_CHANNELS, required: true },
      allLists: { type: Boolean, required: true },
      listIds: { type: [Schema.Types.ObjectId], default: [] },
      campaignId: { type: Schema.Types.ObjectId },
      inboundMessageId: { type: Schema.Types.ObjectId },
    },
    { versionKey: false },
  );
  schema.index({ subscriberId: 1, key: 1 }, { unique: true });
  schema.index({ subscriberId: 1, at: -1 });
  schema.index({ campaignId: 1 });
  return schema;
}

export type UnsubscribeEventDoc = InferSchemaType<ReturnType<typeof unsubscribeEventSchema>>;
export type UnsubscribeEventModel = Model<UnsubscribeEventDoc>;
export const unsubscribeEventModel = (conn: Connection, clock: Clock): UnsubscribeEventModel =>
  conn.model<UnsubscribeEventDoc>(
    'UnsubscribeEvent',
    unsubscribeEventSchema(clock),
    'unsubscribe_events',
  );
