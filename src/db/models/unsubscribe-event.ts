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
 * The `_id` is derived from the subscriber and `key` (src/unsubscribe/derived-id.ts), so "is this
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

export const UNSUBSCRIBE_REASONS = ['unsubscribe', 'complaint', 'bounce', 'staff'] as const;

/**
 * The outbox of opt-outs in flight (src/unsubscribe/follow-ups.ts): one document per group commit,
 * holding the opt-outs of every request written together, so N concurrent one-click POSTs cost one
 * insert. A page is deleted once every entry in it is complete (suppressions, memberships, status,
 * consent ledger, event). The collection holds only what is in flight, so reading all of it (the
 * send worker does, before each chunk of sends) stays short.
 */
export function unsubscribeFollowUpSchema() {
  return new Schema(
    { entries: { type: [followUpEntrySchema()], required: true } },
    { versionKey: false },
  );
}

/** One opt-out in a page of the outbox. */
function followUpEntrySchema() {
  return new Schema(
    {
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      allLists: { type: Boolean, required: true },
      listIds: { type: [Schema.Types.ObjectId], default: [] },
      reason: { type: String, enum: UNSUBSCRIBE_REASONS, required: true },
      channel: { type: String, enum: UNSUBSCRIBE_CHANNELS, required: true },
      campaignId: { type: Schema.Types.ObjectId },
      inboundMessageId: { type: Schema.Types.ObjectId },
      /** The list the one-click link named, if any: the confirmation mail links to the same page. */
      linkListId: { type: Schema.Types.ObjectId },
      /**
       * The generations the suppressions of an opt-out recorded with them (inbound mail) were given,
       * in the order of its scopes: the completion then knows which of them this opt-out created.
       */
      generations: { type: [Schema.Types.ObjectId], default: undefined },
      /** When the person asked: the time of the event and of the consent withdrawal. */
      at: { type: Date, required: true },
    },
    { _id: false },
  );
}

export type UnsubscribeFollowUpEntry = InferSchemaType<ReturnType<typeof followUpEntrySchema>>;
export type UnsubscribeFollowUpDoc = InferSchemaType<ReturnType<typeof unsubscribeFollowUpSchema>>;
export type UnsubscribeFollowUpModel = Model<UnsubscribeFollowUpDoc>;
export const unsubscribeFollowUpModel = (conn: Connection): UnsubscribeFollowUpModel =>
  conn.model<UnsubscribeFollowUpDoc>(
    'UnsubscribeFollowUp',
    unsubscribeFollowUpSchema(),
    'unsubscribe_followups',
  );
