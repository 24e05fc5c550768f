import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';

/** Append-only: who read or changed whose personal data, when, in which request. */
export function auditEntrySchema(clock: Clock) {
  const schema = new Schema(
    {
      at: { type: Date, required: true, default: () => clock.now() },
      actorType: { type: String, enum: ['staff', 'system', 'subject'], required: true },
      actorId: { type: String },
      action: { type: String, required: true },
      subjectId: { type: String },
      requestId: { type: String },
      details: { type: Schema.Types.Mixed },
    },
    { versionKey: false },
  );
  schema.index({ subjectId: 1, at: -1 });
  schema.index({ actorId: 1, at: -1 });
  schema.index({ at: -1 });
  return schema;
}

export type AuditEntryDoc = InferSchemaType<ReturnType<typeof auditEntrySchema>>;
export type AuditEntryModel = Model<AuditEntryDoc>;
export const auditEntryModel = (conn: Connection, clock: Clock): AuditEntryModel =>
  conn.model<AuditEntryDoc>('AuditEntry', auditEntrySchema(clock), 'audit_log');
