import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

export const IMPORT_STATUSES = ['running', 'completed', 'failed'] as const;
export const IMPORT_MODES = ['add', 'upsert'] as const;

/**
 * Every data row lands in exactly one of these, so they always add up to `total`;
 * `addedToList` counts list memberships created and overlaps the others.
 */
export const IMPORT_COUNTERS = [
  'total',
  'created',
  'updated',
  'unchanged',
  'skippedSuppressed',
  'skippedUnsubscribed',
  'duplicates',
  'invalid',
  'addedToList',
] as const;
export type ImportCounter = (typeof IMPORT_COUNTERS)[number];

/** One CSV import: its options, progress counters and the first row errors (line numbers). */
export function importJobSchema(clock: Clock) {
  const counts = Object.fromEntries(IMPORT_COUNTERS.map((c) => [c, { type: Number, default: 0 }]));
  const schema = new Schema(
    {
      status: { type: String, enum: IMPORT_STATUSES, required: true },
      mode: { type: String, enum: IMPORT_MODES, required: true },
      listId: { type: Schema.Types.ObjectId },
      // CSV header -> target field; stored as pairs because headers may contain dots or `$`.
      mapping: [{ _id: false, column: String, field: String }],
      counts: { type: counts, default: () => ({}) },
      // Capped (src/subscribers/csv-import.ts); errorCount counts them all. Not `errors`: mongoose
      // documents reserve that name.
      rowErrors: [{ _id: false, line: Number, message: String }],
      errorCount: { type: Number, default: 0 },
      failure: { type: String },
      createdBy: { type: String },
      finishedAt: { type: Date },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ createdAt: -1 });
  return schema;
}

export type ImportJobDoc = InferSchemaType<ReturnType<typeof importJobSchema>> & Timestamps;
export type ImportJobModel = Model<ImportJobDoc>;
export const importJobModel = (conn: Connection, clock: Clock): ImportJobModel =>
  conn.model<ImportJobDoc>('ImportJob', importJobSchema(clock), 'import_jobs');
