import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

export const CAMPAIGN_STATUSES = [
  'draft',
  'scheduled',
  'running',
  'paused',
  'finished',
  'cancelled',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/**
 * A campaign and its lifecycle. The audience snapshot, once taken, lives in campaign_recipients;
 * `snapshot` says how far it got so a crash mid-snapshot resumes instead of starting over.
 */
export function campaignSchema(clock: Clock) {
  const schema = new Schema(
    {
      name: { type: String, required: true },
      subject: { type: String, required: true },
      mjml: { type: String, required: true },
      templateId: { type: Schema.Types.ObjectId },
      listIds: { type: [Schema.Types.ObjectId], default: [] },
      segmentId: { type: String },
      fromEmail: { type: String, required: true },
      sendAt: { type: Date },
      status: { type: String, enum: CAMPAIGN_STATUSES, required: true, default: 'draft' },
      startedAt: { type: Date },
      finishedAt: { type: Date },
      // none -> taking (under a lease) -> done: every sendable recipient sits in a batch.
      snapshot: { type: String, enum: ['none', 'taking', 'done'], default: 'none' },
      snapshotLeaseOwner: { type: String },
      snapshotLeaseExpiresAt: { type: Date },
      // Everyone the snapshot took in, excluded ones included; written with `snapshot: 'done'`.
      // Until their first outcome, the queued ones exist only as entries of their batch.
      recipientCount: { type: Number },
      // Bumped by every write, each of which first claims the version it read
      // (src/campaigns/send/lifecycle.ts).
      stateVersion: { type: Number, default: 0 },
      createdBy: { type: String },
      // Aggregate tracking (src/campaigns/stats): wrapped links and the open pixel identify no one.
      tracking: {
        clicks: { type: Boolean, default: true },
        opens: { type: Boolean, default: false },
      },
      // The campaign's distinct http(s) links in order, written whenever its content is; a click
      // token names an index into this list, so only these URLs can be redirected to.
      links: { type: [String], default: [] },
      // Why the deliverability guard paused the campaign, and the counts it judged; moved to
      // `guardAcknowledged` when the operator resumes, after which only mail since then is judged.
      pausedByGuard: {
        type: new Schema(
          {
            code: { type: String, required: true },
            message: { type: String, required: true },
            at: { type: Date, required: true },
            counts: { type: Schema.Types.Mixed, required: true },
          },
          { _id: false },
        ),
      },
      guardAcknowledged: {
        type: new Schema(
          {
            at: { type: Date, required: true },
            counts: { type: Schema.Types.Mixed, required: true },
          },
          { _id: false },
        ),
      },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ status: 1, sendAt: 1 });
  return schema;
}

export type CampaignDoc = InferSchemaType<ReturnType<typeof campaignSchema>> & Timestamps;
export type CampaignModel = Model<CampaignDoc>;
export const campaignModel = (conn: Connection, clock: Clock): CampaignModel =>
  conn.model<CampaignDoc>('Campaign', campaignSchema(clock), 'campaigns');

/**
 * Per-recipient state machine:
 *   (queued) -> sent | failed | retry | skipped | unknown;  retry -> sent | failed | retry
 *   A queued recipient is only an entry of its batch (campaign_batch_entries): its document here is
 *   inserted with its first outcome, one insert instead of an insert at the snapshot and an update
 *   per send. `pending` documents are those of campaigns snapshotted before that (counted alike).
 *   unknown: a worker claimed the attempt (claims `send:<campaign>:<subscriber>:<attempt>`, inserted
 *   just before the SMTP transaction) and died before recording its outcome; never resent by itself.
 *   skipped: excluded at snapshot or suppressed right before the send.
 * `attempts` is the number of the last attempt whose outcome is recorded here. Holds ids only: the
 * address is read from the subscriber at send time, so erasure needs no second copy deleted here.
 */
export const RECIPIENT_STATUSES = [
  'pending',
  'sent',
  'failed',
  'retry',
  'unknown',
  'skipped',
] as const;
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number];

export function campaignRecipientSchema() {
  const schema = new Schema(
    {
      campaignId: { type: Schema.Types.ObjectId, required: true },
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      // The audience list the address came through (List-Id, unsubscribe scope); absent for segments.
      listId: { type: Schema.Types.ObjectId },
      status: { type: String, enum: RECIPIENT_STATUSES, required: true },
      // -1 for entries skipped at the snapshot (no sparse indexes on FerretDB, so never absent).
      batchNo: { type: Number, required: true, default: -1 },
      attempts: { type: Number, default: 0 },
      nextAttemptAt: { type: Date },
      skipReason: { type: String },
      smtpResponse: { type: String },
      messageId: { type: String },
      sentAt: { type: Date },
    },
    { versionKey: false },
  );
  schema.index({ campaignId: 1, subscriberId: 1 }, { unique: true });
  schema.index({ campaignId: 1, batchNo: 1, status: 1 });
  schema.index({ campaignId: 1, status: 1 });
  return schema;
}

export type CampaignRecipientDoc = InferSchemaType<ReturnType<typeof campaignRecipientSchema>>;
export type CampaignRecipientModel = Model<CampaignRecipientDoc>;
export const campaignRecipientModel = (conn: Connection): CampaignRecipientModel =>
  conn.model<CampaignRecipientDoc>(
    'CampaignRecipient',
    campaignRecipientSchema(),
    'campaign_recipients',
  );

/**
 * The unit a worker claims. A claim is the insert of the key `batch:<id>:<leaseGen>` into the
 * claims collection (src/db/claims.ts): only one worker wins each generation, and the winner bumps
 * `leaseGen`, so several worker processes never hold the same batch. `availableAt` delays batches
 * whose remaining recipients wait for a retry. Its recipients are in campaign_batch_entries under
 * the same `_id`.
 */
export function campaignBatchSchema() {
  const schema = new Schema(
    {
      campaignId: { type: Schema.Types.ObjectId, required: true },
      batchNo: { type: Number, required: true },
      open: { type: Boolean, required: true, default: true },
      availableAt: { type: Date, required: true },
      leaseOwner: { type: String, default: '' },
      leaseExpiresAt: { type: Date, required: true },
      leaseGen: { type: Number, required: true, default: 0 },
    },
    { versionKey: false },
  );
  schema.index({ campaignId: 1, batchNo: 1 }, { unique: true });
  schema.index({ campaignId: 1, open: 1, availableAt: 1 });
  return schema;
}

export type CampaignBatchDoc = InferSchemaType<ReturnType<typeof campaignBatchSchema>>;
export type CampaignBatchModel = Model<CampaignBatchDoc>;
export const campaignBatchModel = (conn: Connection): CampaignBatchModel =>
  conn.model<CampaignBatchDoc>('CampaignBatch', campaignBatchSchema(), 'campaign_batches');

/**
 * The recipients of one batch, written once by the snapshot (or by retry-unknown) before the batch
 * itself, and read by `_id` (the batch's `_id`) when a worker claims the batch, so sending never
 * searches campaign_recipients. Kept apart from the batch document, which is rewritten on every
 * lease renewal. `attempt` is the attempt to make (absent: the first).
 */
export function campaignBatchEntriesSchema() {
  return new Schema(
    {
      campaignId: { type: Schema.Types.ObjectId, required: true },
      entries: {
        type: [
          new Schema(
            {
              recipientId: { type: Schema.Types.ObjectId, required: true },
              subscriberId: { type: Schema.Types.ObjectId, required: true },
              listId: { type: Schema.Types.ObjectId },
              attempt: { type: Number },
            },
            { _id: false },
          ),
        ],
        default: [],
      },
    },
    { versionKey: false },
  );
}

export type CampaignBatchEntriesDoc = InferSchemaType<
  ReturnType<typeof campaignBatchEntriesSchema>
>;
export type CampaignBatchEntriesModel = Model<CampaignBatchEntriesDoc>;
export const campaignBatchEntriesModel = (conn: Connection): CampaignBatchEntriesModel =>
  conn.model<CampaignBatchEntriesDoc>(
    'CampaignBatchEntries',
    campaignBatchEntriesSchema(),
    'campaign_batch_entries',
  );
