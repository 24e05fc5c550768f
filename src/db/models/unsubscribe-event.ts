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

/** One opt-out that changed something: when, how, from which campaign, which lists. */
export function unsubscribeEventSchema(clock: Clock) {
  const schema = new Schema(
    {
      at: { type: Date, required: true, default: () => clock.now() },
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      channel: { type: String, enum: UNSUBSCRIBE_CHANNELS, required: true },
      allLists: { type: Boolean, required: true },
      listIds: { type: [Schema.Types.ObjectId], default: [] },
      campaignId: { type: Schema.Types.ObjectId },
      inboundMessageId: { type: Schema.Types.ObjectId },
    },
    { versionKey: false },
  );
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
