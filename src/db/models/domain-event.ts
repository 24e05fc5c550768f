import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * The outbox of things that happened (src/events/domain-events.ts). Written by the operation that
 * made them happen, before it answers; read by the webhook dispatcher and the automation triggers,
 * each of which clears its own `pending…` flag once the event is handled. `_id` order is the order
 * of events; `key` names the occurrence, so an operation repeated after a crash emits it once.
 */
export function domainEventSchema() {
  const schema = new Schema(
    {
      key: { type: String, required: true },
      type: { type: String, required: true },
      at: { type: Date, required: true },
      subscriberId: { type: Schema.Types.ObjectId },
      data: { type: Schema.Types.Mixed, default: {} },
      webhooksPending: { type: Boolean, required: true },
      automationsPending: { type: Boolean, required: true },
    },
    { versionKey: false, minimize: false },
  );
  schema.index({ key: 1 }, { unique: true });
  schema.index({ webhooksPending: 1 });
  schema.index({ automationsPending: 1 });
  schema.index({ subscriberId: 1 });
  return schema;
}

export type DomainEventDoc = InferSchemaType<ReturnType<typeof domainEventSchema>>;
export type DomainEventModel = Model<DomainEventDoc>;
export const domainEventModel = (conn: Connection): DomainEventModel =>
  conn.model<DomainEventDoc>('DomainEvent', domainEventSchema(), 'domain_events');
