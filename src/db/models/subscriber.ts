import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

export const SUBSCRIBER_STATUSES = [
  'subscribed',
  'unconfirmed',
  'unsubscribed',
  'bounced',
  'complained',
] as const;
export const LOCALES = ['fi', 'en', 'sv'] as const;

export function subscriberSchema(clock: Clock) {
  const schema = new Schema(
    {
      // Normalised (src/shared/email.ts); the unique index is what refuses duplicates.
      email: { type: String, required: true },
      name: { type: String, default: '' },
      phone: { type: String },
      address: {
        street: String,
        postalCode: String,
        city: String,
        country: String,
      },
      locale: { type: String, enum: LOCALES, default: 'fi' },
      // Flat, validated key/value pairs (no `$` or `.` in keys); used in templates and segments.
      attributes: { type: Schema.Types.Mixed, default: {} },
      // Where the contact came from (seed §5): web-form:<slug>, api, import:<id>, phone, email, …
      source: { type: String, required: true },
      customerSegment: { type: String },
      // Henkilötunnus, AES-256-GCM sealed (src/shared/crypto.ts); never indexed, never in clear.
      hetuSealed: { type: String },
      status: { type: String, enum: SUBSCRIBER_STATUSES, required: true },
      // When the customer relationship was last confirmed by an order or a contract (retention).
      lastActivityAt: { type: Date },
    },
    { timestamps: { currentTime: () => clock.now() }, minimize: false },
  );
  schema.index({ email: 1 }, { unique: true });
  schema.index({ status: 1, _id: 1 });
  schema.index({ name: 1 });
  schema.index({ createdAt: 1 });
  // Segment rules compare these by equality.
  schema.index({ locale: 1 });
  schema.index({ customerSegment: 1 });
  schema.index({ source: 1 });
  return schema;
}

export type SubscriberDoc = InferSchemaType<ReturnType<typeof subscriberSchema>> & Timestamps;
export type SubscriberModel = Model<SubscriberDoc>;

export const subscriberModel = (conn: Connection, clock: Clock): SubscriberModel =>
  conn.model<SubscriberDoc>('Subscriber', subscriberSchema(clock), 'subscribers');
