import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

/** Order facts from the web shop (seed §2-4), used only for segmentation. */
export function orderSchema(clock: Clock) {
  const schema = new Schema(
    {
      externalId: { type: String, required: true },
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      orderedAt: { type: Date, required: true },
      // Minor units (cents) avoid floating-point sums.
      totalCents: { type: Number, required: true },
      currency: { type: String, required: true },
      categories: { type: [String], default: [] },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ externalId: 1 }, { unique: true });
  schema.index({ subscriberId: 1, orderedAt: -1 });
  schema.index({ categories: 1, orderedAt: -1 });
  return schema;
}

export type OrderDoc = InferSchemaType<ReturnType<typeof orderSchema>> & Timestamps;
export type OrderModel = Model<OrderDoc>;
export const orderModel = (conn: Connection, clock: Clock): OrderModel =>
  conn.model<OrderDoc>('Order', orderSchema(clock), 'orders');
