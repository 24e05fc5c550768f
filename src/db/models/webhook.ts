import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

/**
 * A receiver of signed webhooks. `secretSealed` is the `whsec_…` signing secret, encrypted with
 * DATA_KEY; it is shown once, when created or rotated. Failure state is written only by the holder
 * of the endpoint's delivery lease (src/webhooks/dispatcher.ts).
 */
export function webhookEndpointSchema(clock: Clock) {
  const schema = new Schema(
    {
      url: { type: String, required: true },
      description: { type: String, default: '' },
      eventTypes: { type: [String], required: true },
      secretSealed: { type: String, required: true },
      enabled: { type: Boolean, required: true, default: true },
      consecutiveFailures: { type: Number, default: 0 },
      /** No attempt before this: the endpoint's back-off after a failure. */
      retryAt: { type: Date },
      disabledAt: { type: Date },
      disabledReason: { type: String },
      lastError: { type: String },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ enabled: 1 });
  return schema;
}

export const DELIVERY_STATUSES = ['pending', 'delivered'] as const;

/** One event for one endpoint; `key` (`<endpointId>:<eventId>`) makes the fan-out idempotent. */
export function webhookDeliverySchema() {
  const schema = new Schema(
    {
      key: { type: String, required: true },
      endpointId: { type: Schema.Types.ObjectId, required: true },
      eventId: { type: Schema.Types.ObjectId, required: true },
      eventType: { type: String, required: true },
      status: { type: String, enum: DELIVERY_STATUSES, required: true },
      attempts: { type: Number, default: 0 },
      lastAttemptAt: { type: Date },
      lastStatus: { type: Number },
      lastError: { type: String },
      deliveredAt: { type: Date },
    },
    { versionKey: false },
  );
  schema.index({ key: 1 }, { unique: true });
  schema.index({ endpointId: 1, status: 1 });
  return schema;
}

export type WebhookEndpointDoc = InferSchemaType<ReturnType<typeof webhookEndpointSchema>> &
  Timestamps;
export type WebhookDeliveryDoc = InferSchemaType<ReturnType<typeof webhookDeliverySchema>>;
export const webhookEndpointModel = (conn: Connection, clock: Clock): Model<WebhookEndpointDoc> =>
  conn.model<WebhookEndpointDoc>(
    'WebhookEndpoint',
    webhookEndpointSchema(clock),
    'webhook_endpoints',
  );
export const webhookDeliveryModel = (conn: Connection): Model<WebhookDeliveryDoc> =>
  conn.model<WebhookDeliveryDoc>('WebhookDelivery', webhookDeliverySchema(), 'webhook_deliveries');
