import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

export const AUTOMATION_STATUSES = ['draft', 'active', 'paused'] as const;
export const ENROLMENT_STATUSES = ['active', 'completed', 'exited'] as const;
export const STEP_RUN_STATUSES = [
  'waited',
  'branched',
  'sending',
  'sent',
  'retry',
  'failed',
  'unknown',
] as const;

/**
 * An automation: trigger, steps and exit rules as validated JSON (src/automations/definition.ts).
 * Changed only by staff through the service; the runner never writes it (an update writes back
 * the whole document, docs/database.md), so its progress lives in the collections below.
 */
export function automationSchema(clock: Clock) {
  const schema = new Schema(
    {
      name: { type: String, required: true },
      status: { type: String, enum: AUTOMATION_STATUSES, required: true, default: 'draft' },
      trigger: { type: Schema.Types.Mixed, required: true },
      steps: { type: Schema.Types.Mixed, required: true },
      exit: { type: Schema.Types.Mixed, default: {} },
      reentry: { type: Boolean, default: false },
      fromEmail: { type: String },
      activatedAt: { type: Date },
    },
    { timestamps: { currentTime: () => clock.now() }, minimize: false },
  );
  schema.index({ status: 1 });
  return schema;
}

/**
 * One person's way through one automation. `key` makes "at most once" a unique insert; `gen`
 * counts the steps taken, and the runner claims `automation:<_id>:<gen>` before taking the next,
 * so exactly one process takes each step. Only the holder of that claim writes the document.
 */
export function enrolmentSchema(clock: Clock) {
  const schema = new Schema(
    {
      key: { type: String, required: true },
      automationId: { type: Schema.Types.ObjectId, required: true },
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      listId: { type: Schema.Types.ObjectId },
      status: { type: String, enum: ENROLMENT_STATUSES, required: true },
      step: { type: Number, required: true },
      gen: { type: Number, required: true },
      /** Attempt of the current send step (temporary SMTP failures are tried again). */
      attempt: { type: Number, default: 1 },
      dueAt: { type: Date, required: true },
      exitReason: { type: String },
      endedAt: { type: Date },
    },
    { timestamps: { currentTime: () => clock.now() }, versionKey: false },
  );
  schema.index({ key: 1 }, { unique: true });
  schema.index({ status: 1, dueAt: 1 });
  schema.index({ subscriberId: 1 });
  schema.index({ automationId: 1, status: 1 });
  return schema;
}

/**
 * What one step did for one enrolment: `_id` is `<enrolmentId>:<gen>`, inserted before the step's
 * effect. For a mail it is written `sending` before the SMTP transaction and updated after, so a
 * crash in between leaves `sending`, which the next holder turns into `unknown` instead of
 * mailing again.
 */
export function stepRunSchema() {
  const schema = new Schema(
    {
      _id: { type: String, required: true },
      automationId: { type: Schema.Types.ObjectId, required: true },
      enrolmentId: { type: Schema.Types.ObjectId, required: true },
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      step: { type: Number, required: true },
      kind: { type: String, required: true },
      status: { type: String, enum: STEP_RUN_STATUSES, required: true },
      at: { type: Date, required: true },
      branch: { type: String },
      smtpResponse: { type: String },
      messageId: { type: String },
    },
    { versionKey: false },
  );
  schema.index({ automationId: 1, step: 1 });
  schema.index({ subscriberId: 1 });
  return schema;
}

export type AutomationDoc = InferSchemaType<ReturnType<typeof automationSchema>> & Timestamps;
export type EnrolmentDoc = InferSchemaType<ReturnType<typeof enrolmentSchema>> & Timestamps;
export type StepRunDoc = InferSchemaType<ReturnType<typeof stepRunSchema>>;
export const automationModel = (conn: Connection, clock: Clock): Model<AutomationDoc> =>
  conn.model<AutomationDoc>('Automation', automationSchema(clock), 'automations');
export const enrolmentModel = (conn: Connection, clock: Clock): Model<EnrolmentDoc> =>
  conn.model<EnrolmentDoc>('AutomationEnrolment', enrolmentSchema(clock), 'automation_enrolments');
export const stepRunModel = (conn: Connection): Model<StepRunDoc> =>
  conn.model<StepRunDoc>('AutomationStepRun', stepRunSchema(), 'automation_step_runs');
