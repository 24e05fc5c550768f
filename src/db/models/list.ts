import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

/** Seed §3: marketing mail needs a lawful basis, recorded per list. */
export const LAWFUL_BASES = ['consent', 'customer_relationship'] as const;

export function listSchema(clock: Clock) {
  const schema = new Schema(
    {
      name: { type: String, required: true },
      slug: { type: String, required: true },
      description: { type: String, default: '' },
      doubleOptIn: { type: Boolean, default: true },
      lawfulBasis: { type: String, enum: LAWFUL_BASES, default: 'consent' },
      // Only public lists can be joined from web forms or chosen in the preference centre.
      public: { type: Boolean, default: false },
      thankYouUrl: { type: String },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ slug: 1 }, { unique: true });
  return schema;
}

export type ListDoc = InferSchemaType<ReturnType<typeof listSchema>> & Timestamps;
export type ListModel = Model<ListDoc>;
export const listModel = (conn: Connection, clock: Clock): ListModel =>
  conn.model<ListDoc>('List', listSchema(clock), 'lists');
