import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * Counters of the public-form limiter (src/subscribe/rate-limiter.ts). In the database, not in
 * memory, so several processes behind one address agree; keys hold keyed hashes, never an address.
 */
export function rateLimitSchema() {
  const schema = new Schema(
    {
      key: { type: String, required: true },
      count: { type: Number, required: true },
      // No TTL indexes on FerretDB: the limiter deletes expired rows itself.
      expiresAt: { type: Date, required: true },
    },
    { versionKey: false },
  );
  schema.index({ key: 1 }, { unique: true });
  schema.index({ expiresAt: 1 });
  return schema;
}

export type RateLimitDoc = InferSchemaType<ReturnType<typeof rateLimitSchema>>;
export type RateLimitModel = Model<RateLimitDoc>;
export const rateLimitModel = (conn: Connection): RateLimitModel =>
  conn.model<RateLimitDoc>('RateLimit', rateLimitSchema(), 'rate_limits');
