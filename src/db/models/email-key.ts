import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

/**
 * Which subscriber holds a normalised address (src/shared/email.ts). The address is the `_id`, so
 * finding a subscriber by email is an `_id` read, the only lookup the embedded FerretDB answers
 * from an index, and inserting the key is what decides "one subscriber per email" between racing
 * writers. Kept by src/subscribers/email-keys.ts alone; erased with the subscriber
 * (src/privacy/personal-data.ts).
 */
export function emailKeySchema(clock: Clock) {
  const schema = new Schema(
    {
      _id: { type: String, required: true },
      subscriberId: { type: Schema.Types.ObjectId, required: true },
    },
    { timestamps: { currentTime: () => clock.now() }, versionKey: false },
  );
  // Erasure and retention find the keys of the subscribers they remove.
  schema.index({ subscriberId: 1 });
  return schema;
}

export type EmailKeyDoc = InferSchemaType<ReturnType<typeof emailKeySchema>> & Timestamps;
export type EmailKeyModel = Model<EmailKeyDoc>;
export const emailKeyModel = (conn: Connection, clock: Clock): EmailKeyModel =>
  conn.model<EmailKeyDoc>('EmailKey', emailKeySchema(clock), 'subscriber_email_keys');
