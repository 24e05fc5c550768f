import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

export const INBOUND_VIAS = ['smtp', 'imap', 'http'] as const;
export const INBOUND_STATUSES = ['processing', 'done', 'needs_review', 'error'] as const;
export const INBOUND_CLASSIFICATIONS = [
  'auto_reply',
  'complaint',
  'bounce',
  'unsubscribe_address',
  'reply_unsubscribe',
  'ambiguous',
  'privacy_request',
  'loop',
  'other',
  'malformed',
] as const;
export type InboundVia = (typeof INBOUND_VIAS)[number];
export type InboundStatus = (typeof INBOUND_STATUSES)[number];
export type InboundClassification = (typeof INBOUND_CLASSIFICATIONS)[number];

/**
 * Every message that reached us, whatever came of it. `messageId` + `digest` is the identity of a
 * message across re-deliveries: the `_id` is derived from both (src/inbound/pipeline.ts), so a
 * second delivery fails its insert and costs one indexed read.
 * `messageId` is '' when the mail had none: FerretDB ignores sparse, so the field is never absent.
 * Retention of these records belongs to the privacy capability (receivedAt is indexed for it).
 */
export function inboundMessageSchema(clock: Clock) {
  const schema = new Schema(
    {
      receivedAt: { type: Date, required: true },
      via: { type: String, enum: INBOUND_VIAS, required: true },
      messageId: { type: String, default: '' },
      digest: { type: String, required: true },
      mailFrom: { type: String, default: '' },
      rcptTo: { type: [String], default: [] },
      remoteIp: { type: String },
      from: { type: String, default: '' },
      subject: { type: String, default: '' },
      // Capped at INBOUND_STORE_BYTES; rawSize is the size that arrived.
      raw: { type: Buffer },
      rawSize: { type: Number, required: true },
      rawTruncated: { type: Boolean, default: false },
      status: { type: String, enum: INBOUND_STATUSES, required: true },
      classification: { type: String, enum: INBOUND_CLASSIFICATIONS },
      // What was done, e.g. unsubscribed, bounce_counted, confirmation_sent, no_action.
      outcome: { type: String },
      // Why, in words staff can read (never the body).
      detail: { type: String },
      error: { type: String },
      subscriberId: { type: Schema.Types.ObjectId },
      campaignId: { type: Schema.Types.ObjectId },
      auth: {
        spf: String,
        dkim: String,
        dmarc: String,
      },
      bounce: { kind: String, status: String },
      // Keyed hash of where a confirmation went, for staff and erasure; the per-address limit is
      // kept in numbered claims (src/db/claims.ts), not counted from these records.
      confirmationHash: { type: String },
      actedBy: { type: String },
      actedAt: { type: Date },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ receivedAt: 1 });
  schema.index({ status: 1, receivedAt: -1 });
  schema.index({ subscriberId: 1, receivedAt: -1 });
  return schema;
}

export type InboundMessageDoc = InferSchemaType<ReturnType<typeof inboundMessageSchema>> &
  Timestamps;
export type InboundMessageModel = Model<InboundMessageDoc>;
export const inboundMessageModel = (conn: Connection, clock: Clock): InboundMessageModel =>
  conn.model<InboundMessageDoc>('InboundMessage', inboundMessageSchema(clock), 'inbound_messages');
