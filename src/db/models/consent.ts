import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';

export const CONSENT_KINDS = ['subscribe', 'confirm', 'resubscribe', 'unsubscribe'] as const;
export type ConsentKind = (typeof CONSENT_KINDS)[number];

/** The exact wording a person agreed to, stored once and referenced by its SHA-256. */
export function consentTextSchema(clock: Clock) {
  const schema = new Schema(
    {
      hash: { type: String, required: true },
      version: { type: String, required: true },
      locale: { type: String, required: true },
      text: { type: String, required: true },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ hash: 1 }, { unique: true });
  return schema;
}

/**
 * Append-only consent ledger (seed §3: a lawful basis per list, provable later). IP address and
 * user agent are kept only when the operator turns that on.
 */
export function consentEventSchema(clock: Clock) {
  const schema = new Schema(
    {
      at: { type: Date, required: true, default: () => clock.now() },
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      listId: { type: Schema.Types.ObjectId },
      kind: { type: String, enum: CONSENT_KINDS, required: true },
      source: { type: String, required: true },
      textHash: { type: String },
      textVersion: { type: String },
      locale: { type: String },
      ip: { type: String },
      userAgent: { type: String },
    },
    { versionKey: false },
  );
  schema.index({ subscriberId: 1, at: 1 });
  return schema;
}

export type ConsentTextDoc = InferSchemaType<ReturnType<typeof consentTextSchema>>;
export type ConsentTextModel = Model<ConsentTextDoc>;
export type ConsentEventDoc = InferSchemaType<ReturnType<typeof consentEventSchema>>;
export type ConsentEventModel = Model<ConsentEventDoc>;
export const consentTextModel = (conn: Connection, clock: Clock): ConsentTextModel =>
  conn.model<ConsentTextDoc>('ConsentText', consentTextSchema(clock), 'consent_texts');
export const consentEventModel = (conn: Connection, clock: Clock): ConsentEventModel =>
  conn.model<ConsentEventDoc>('ConsentEvent', consentEventSchema(clock), 'consent_events');
