import { Schema, Types, type Connection, type InferSchemaType, type Model } from 'mongoose';
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
 * The `_id` of the suppression of this address hash in this scope. Every lookup on the hot paths
 * (one-click, per recipient at send time) is then a filter on `_id` alone, the only one the
 * embedded FerretDB answers from an index (docs/database.md), and "ensure" is one insert whose
 * duplicate-key error means "already suppressed".
 */
export const suppressionId = (emailHash: string, scope: string): string => `${emailHash}:${scope}`;

/**
 * "Never mail this address (on this list)". Keyed by a keyed HMAC of the normalised address, not
 * the address, so it survives erasure of the person (GDPR Art. 17(3), 21). `generation` is new each
 * time the suppression comes into being: the `_id` stays the same after a lift and a new opt-out,
 * the generation does not, and the opt-out event is named by it (src/unsubscribe/service.ts).
 */
export function suppressionSchema(clock: Clock) {
  const schema = new Schema(
    {
      _id: { type: String, required: true },
      emailHash: { type: String, required: true },
      scope: { type: String, required: true },
      reason: { type: String, enum: SUPPRESSION_REASONS, required: true },
      generation: {
        type: Schema.Types.ObjectId,
        required: true,
        default: () => new Types.ObjectId(),
      },
      channel: { type: String },
      campaignId: { type: Schema.Types.ObjectId },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  // Documents made through the model (staff tools, tests) get the same derived key.
  schema.pre('validate', function () {
    if (!this._id && this.emailHash && this.scope)
      this._id = suppressionId(this.emailHash, this.scope);
  });
  // Redundant with the derived `_id` on every write path; kept so a document written with any other
  // `_id` is still refused, and for reports by address hash on MongoDB.
  schema.index({ emailHash: 1, scope: 1 }, { unique: true });
  return schema;
}

export type SuppressionDoc = InferSchemaType<ReturnType<typeof suppressionSchema>> & Timestamps;
export type SuppressionModel = Model<SuppressionDoc>;
export const suppressionModel = (conn: Connection, clock: Clock): SuppressionModel =>
  conn.model<SuppressionDoc>('Suppression', suppressionSchema(clock), 'suppressions');

/**
 * The latest opt-out that asked for the suppression with the same `_id`, and why. It outlives the
 * suppression (a lift deletes only the suppression), so a lift decided before a later opt-out can
 * tell that the opt-out came after it (src/unsubscribe/suppressions.ts). Keyed by address hash like
 * the suppression, so it survives erasure and names nobody.
 */
export function suppressionStampSchema() {
  return new Schema(
    {
      _id: { type: String, required: true },
      at: { type: Date, required: true },
      reason: { type: String, enum: SUPPRESSION_REASONS, required: true },
    },
    { versionKey: false },
  );
}

export type SuppressionStampDoc = InferSchemaType<ReturnType<typeof suppressionStampSchema>>;
export type SuppressionStampModel = Model<SuppressionStampDoc>;
export const suppressionStampModel = (conn: Connection): SuppressionStampModel =>
  conn.model<SuppressionStampDoc>(
    'SuppressionStamp',
    suppressionStampSchema(),
    'suppression_stamps',
  );
