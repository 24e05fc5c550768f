import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

/**
 * A saved audience rule (src/segments/rules.ts). Rules are stored as validated JSON and compiled
 * at use, so order facts and memberships are always read fresh.
 */
export function segmentSchema(clock: Clock) {
  const schema = new Schema(
    {
      name: { type: String, required: true },
      description: { type: String, default: '' },
      rules: { type: Schema.Types.Mixed, required: true },
    },
    { timestamps: { currentTime: () => clock.now() }, minimize: false },
  );
  schema.index({ name: 1 });
  return schema;
}

export type SegmentDoc = InferSchemaType<ReturnType<typeof segmentSchema>> & Timestamps;
export type SegmentModel = Model<SegmentDoc>;
export const segmentModel = (conn: Connection, clock: Clock): SegmentModel =>
  conn.model<SegmentDoc>('Segment', segmentSchema(clock), 'segments');
