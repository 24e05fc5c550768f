import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

export const SUPPRESSION_REASONS = [
  'unsubscribe',
  'complaint',
  'bounce',
  'erasure',
  'staff',
] as const;
/** `scope` is this value for "all lists", or a list id. */
export const ALL_LISTS = 'all';

/**
 * "Never mail this address (on this list)". Keyed by a keyed HMAC of the normalised address, not
 * the address, so it survives erasure of the person (GDPR Art. 17(3), 21).
 */
export function suppressionSchema(clock: Clock) {
  const schema = new Schema(
    {
      emailHash: { type: String, required: true },
      scope: { type: String, required: true },
      reason: { type: String, enum: SUPPRESSION_REASONS, required: true },
      channel: { type: String },
      campaignId: { type: Schema.Types.ObjectId },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ emailHash: 1, scope: 1 }, { unique: true });
  return schema;
}

export type SuppressionDoc = InferSchemaType<ReturnType<typeof suppressionSchema>> & Timestamps;
export type SuppressionModel = Model<SuppressionDoc>;
export const suppressionModel = (conn: Connection, clock: Clock): SuppressionModel =>
  conn.model<SuppressionDoc>('Suppression', suppressionSchema(clock), 'suppressions');
