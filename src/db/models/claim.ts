import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';

/**
 * One row per won race. FerretDB 1.24 does not apply filtered updates atomically (docs/database.md),
 * but an insert on `_id` is: whoever inserts the claim key first owns the step.
 */
export function claimSchema(clock: Clock) {
  const schema = new Schema(
    {
      _id: { type: String, required: true },
      /** The key up to its first `:` (claimKind() in src/db/claims.ts), so sweeps find a kind by index. */
      kind: { type: String },
      owner: { type: String, required: true },
      at: { type: Date, required: true, default: () => clock.now() },
    },
    { versionKey: false },
  );
  schema.index({ kind: 1, at: 1 });
  return schema;
}

export type ClaimDoc = InferSchemaType<ReturnType<typeof claimSchema>>;
export type ClaimModel = Model<ClaimDoc>;
export const claimModel = (conn: Connection, clock: Clock): ClaimModel =>
  conn.model<ClaimDoc>('Claim', claimSchema(clock), 'claims');
