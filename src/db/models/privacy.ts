import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

export const PRIVACY_REQUEST_TYPES = ['access', 'rectification', 'erasure', 'objection'] as const;
export const PRIVACY_REQUEST_STATUSES = ['open', 'in_progress', 'done', 'rejected'] as const;
export const PRIVACY_REQUEST_CHANNELS = ['email', 'letter', 'phone', 'web', 'in_person'] as const;

/**
 * The register of data-subject requests (seed §11). The address itself is dropped when the person
 * is erased; the keyed hash and the masked form keep the request traceable (Art. 5(2)).
 */
export function privacyRequestSchema(clock: Clock) {
  const schema = new Schema(
    {
      type: { type: String, enum: PRIVACY_REQUEST_TYPES, required: true },
      subjectEmail: { type: String },
      subjectEmailHash: { type: String, required: true },
      subjectEmailMasked: { type: String, required: true },
      channel: { type: String, enum: PRIVACY_REQUEST_CHANNELS, required: true },
      receivedAt: { type: Date, required: true },
      // The register's calendar day (YYYY-MM-DD, Europe/Helsinki) by which the answer is due.
      dueDate: { type: String, required: true },
      status: { type: String, enum: PRIVACY_REQUEST_STATUSES, required: true, default: 'open' },
      notes: { type: String, default: '' },
      handledBy: { type: String },
      closedAt: { type: Date },
      inboundMessageId: { type: String },
      createdBy: { type: String },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ status: 1, dueDate: 1 });
  schema.index({ subjectEmailHash: 1 });
  schema.index({ inboundMessageId: 1 });
  return schema;
}

export const ERASURE_REASONS = ['request', 'retention'] as const;

/**
 * One erasure in progress. There are no multi-document transactions, so the steps are idempotent,
 * run in a fixed order, and each one done is recorded here; a re-run continues after the last.
 * The identifiers needed to find the person are sealed and dropped when the job finishes.
 */
export function erasureJobSchema(clock: Clock) {
  const schema = new Schema(
    {
      // One address for a request; a batch of contacts for the retention run.
      emailHashes: { type: [String], default: [] },
      identifiersSealed: { type: String },
      subscriberIds: { type: [Schema.Types.ObjectId], default: [] },
      reason: { type: String, enum: ERASURE_REASONS, required: true },
      status: { type: String, enum: ['running', 'done'], required: true },
      stepsDone: { type: [String], default: [] },
      counts: { type: Schema.Types.Mixed, default: {} },
      requestId: { type: String },
      startedBy: { type: String },
      finishedAt: { type: Date },
    },
    { timestamps: { currentTime: () => clock.now() }, minimize: false },
  );
  schema.index({ emailHashes: 1, status: 1 });
  schema.index({ status: 1 });
  return schema;
}

/** The single schedule record (`_id: 'retention'`): persisted so restarts keep the rhythm. */
export function retentionScheduleSchema(clock: Clock) {
  return new Schema(
    {
      _id: { type: String, required: true },
      nextDueAt: { type: Date, required: true },
      lastRunAt: { type: Date },
    },
    { timestamps: { currentTime: () => clock.now() }, versionKey: false },
  );
}

/**
 * Who runs the retention slot due at `slot`. Claimed by inserting `_id: <slot>#<attempt>`: FerretDB
 * 1.24 applies concurrent conditional updates (findOneAndUpdate included) without isolation, so
 * the unique `_id` is the only claim exactly one process wins. A crashed run's lease runs out and
 * the next attempt number takes over.
 */
export function retentionClaimSchema(clock: Clock) {
  const schema = new Schema(
    {
      _id: { type: String, required: true },
      slot: { type: String, required: true },
      attempt: { type: Number, required: true },
      owner: { type: String, required: true },
      leaseUntil: { type: Date, required: true },
      finishedAt: { type: Date },
      error: { type: String },
    },
    { timestamps: { currentTime: () => clock.now() }, versionKey: false },
  );
  schema.index({ slot: 1, attempt: -1 });
  return schema;
}

/** What one retention run removed: counts per rule, never who. */
export function retentionReportSchema(clock: Clock) {
  const schema = new Schema(
    {
      startedAt: { type: Date, required: true },
      finishedAt: { type: Date },
      dryRun: { type: Boolean, required: true },
      trigger: { type: String, enum: ['schedule', 'cli', 'api'], required: true },
      rules: [
        {
          _id: false,
          rule: { type: String, required: true },
          description: String,
          cutoff: Date,
          matched: Number,
          removed: Number,
        },
      ],
      error: { type: String },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ startedAt: -1 });
  return schema;
}

export type PrivacyRequestDoc = InferSchemaType<ReturnType<typeof privacyRequestSchema>> &
  Timestamps;
export type PrivacyRequestModel = Model<PrivacyRequestDoc>;
export type ErasureJobDoc = InferSchemaType<ReturnType<typeof erasureJobSchema>> & Timestamps;
export type ErasureJobModel = Model<ErasureJobDoc>;
export type RetentionScheduleDoc = InferSchemaType<ReturnType<typeof retentionScheduleSchema>>;
export type RetentionScheduleModel = Model<RetentionScheduleDoc>;
export type RetentionClaimDoc = InferSchemaType<ReturnType<typeof retentionClaimSchema>>;
export type RetentionClaimModel = Model<RetentionClaimDoc>;
export type RetentionReportDoc = InferSchemaType<ReturnType<typeof retentionReportSchema>> &
  Timestamps;
export type RetentionReportModel = Model<RetentionReportDoc>;

export const privacyRequestModel = (conn: Connection, clock: Clock): PrivacyRequestModel =>
  conn.model<PrivacyRequestDoc>('PrivacyRequest', privacyRequestSchema(clock), 'privacy_requests');
export const erasureJobModel = (conn: Connection, clock: Clock): ErasureJobModel =>
  conn.model<ErasureJobDoc>('ErasureJob', erasureJobSchema(clock), 'erasure_jobs');
export const retentionScheduleModel = (conn: Connection, clock: Clock): RetentionScheduleModel =>
  conn.model<RetentionScheduleDoc>(
    'RetentionSchedule',
    retentionScheduleSchema(clock),
    'retention_schedule',
  );
export const retentionReportModel = (conn: Connection, clock: Clock): RetentionReportModel =>
  conn.model<RetentionReportDoc>(
    'RetentionReport',
    retentionReportSchema(clock),
    'retention_reports',
  );
export const retentionClaimModel = (conn: Connection, clock: Clock): RetentionClaimModel =>
  conn.model<RetentionClaimDoc>('RetentionClaim', retentionClaimSchema(clock), 'retention_claims');
