import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * Slots of the public-form limiter (src/subscribe/rate-limiter.ts). In the database, not in
 * memory, so several processes agree; keys hold keyed hashes, never an address.
 */
export function rateLimitSchema() {
  const schema = new Schema(
    {
      key: { type: String, required: true },
      // The window a counted slot belongs to; empty for once-per-interval slots.
      group: { type: String, default: '' },
      // No TTL indexes on FerretDB: the limiter deletes expired rows itself.
      expiresAt: { type: Date, required: true },
    },
    { versionKey: false },
  );
  schema.index({ key: 1 }, { unique: true });
  schema.index({ group: 1 });
  schema.index({ expiresAt: 1 });
  return schema;
}

export type RateLimitDoc = InferSchemaType<ReturnType<typeof rateLimitSchema>>;
export type RateLimitModel = Model<RateLimitDoc>;
export const rateLimitModel = (conn: Connection): RateLimitModel =>
  conn.model<RateLimitDoc>('RateLimit', rateLimitSchema(), 'rate_limits');
