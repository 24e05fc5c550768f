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
 * A campaign and its lifecycle. The audience snapshot, once taken, lives in its batches;
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
      // Set when it finished or was cancelled: per-recipient records go after this date, leaving
      // `totals` (src/campaigns/send/records.ts).
      recordsKeptUntil: { type: Date },
      // Finished, and its `campaign.finished` event not yet known to be stored.
      finishedEventDue: { type: Boolean },
      totals: {
        type: new Schema(
          {
            sent: { type: Number, required: true },
            failed: { type: Number, required: true },
            skipped: { type: Number, required: true },
            unknown: { type: Number, required: true },
          },
          { _id: false },
        ),
      },
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
 * People the snapshot left out (not subscribed, suppressed, erased), one document each with the
 * reason. Everyone sendable is an entry of a batch instead, and their outcomes are recorded per
 * window (campaign_window_outcomes). Holds ids only: the address is read from the subscriber at
 * send time, so erasure needs no second copy deleted here.
 */
export function campaignRecipientSchema() {
  const schema = new Schema(
    {
      campaignId: { type: Schema.Types.ObjectId, required: true },
      subscriberId: { type: Schema.Types.ObjectId, required: true },
      // The audience list the address came through; absent for segments.
      listId: { type: Schema.Types.ObjectId },
      status: { type: String, enum: ['skipped'], required: true },
      skipReason: { type: String },
    },
    { versionKey: false },
  );
  schema.index({ campaignId: 1, subscriberId: 1 }, { unique: true });
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
 * `leaseGen`, so several worker processes rarely contend for one batch (the window records decide
 * who sends, see campaign_windows). `availableAt` delays batches whose remaining recipients wait
 * for a retry. Its recipients are in campaign_batch_entries under the same `_id`, cut into windows
 * of `windowSize` entries.
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
      windowSize: { type: Number, required: true },
      // Entries that resend recipients whose outcome was unknown (retry-unknown); 0 otherwise.
      requeued: { type: Number, required: true, default: 0 },
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
 * The recipients of one batch, in send order, written once by the snapshot (or by retry-unknown)
 * before the batch itself, and read by `_id` (the batch's `_id`) when a worker claims the batch.
 * Window records name recipients by their index in `entries`. Kept apart from the batch document,
 * which is rewritten on every lease renewal.
 */
export function campaignBatchEntriesSchema() {
  return new Schema(
    {
      campaignId: { type: Schema.Types.ObjectId, required: true },
      entries: {
        type: [
          new Schema(
            {
              subscriberId: { type: Schema.Types.ObjectId, required: true },
              listId: { type: Schema.Types.ObjectId },
            },
            { _id: false },
          ),
        ],
        default: [],
      },
    },
    { versionKey: false },
  ).index({ campaignId: 1 });
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

/** What names a window (src/campaigns/send/windows.ts): the key of its open and outcome records. */
const windowRef = {
  _id: { type: String, required: true },
  campaignId: { type: Schema.Types.ObjectId, required: true },
  batchId: { type: Schema.Types.ObjectId, required: true },
  attempt: { type: Number, required: true },
  cell: { type: Number, required: true },
} as const;

/** A window's records are read by their campaign (statistics, deletion) and batch (its holder). */
function indexWindowRecords(schema: Schema): void {
  schema.index({ campaignId: 1 });
  schema.index({ batchId: 1 });
}

/**
 * The durable record written before a window of recipients is handed to SMTP: `_id` is
 * `<batchId>:<attempt>:<cell>` (cell k holds the batch's entries k·windowSize … (k+1)·windowSize−1),
 * inserted once, so whoever inserts it is the only one to send those attempts. `entryIndexes` are
 * the entries actually handed to SMTP (the others of the cell were skipped or are not in this
 * attempt). A window without an outcome record after its holder is gone is settled as unknown.
 */
export function campaignWindowSchema() {
  const schema = new Schema(
    {
      ...windowRef,
      entryIndexes: { type: [Number], default: [] },
      owner: { type: String, required: true },
      openedAt: { type: Date, required: true },
    },
    { versionKey: false },
  );
  indexWindowRecords(schema);
  return schema;
}

export type CampaignWindowDoc = InferSchemaType<ReturnType<typeof campaignWindowSchema>>;
export type CampaignWindowModel = Model<CampaignWindowDoc>;
export const campaignWindowModel = (conn: Connection): CampaignWindowModel =>
  conn.model<CampaignWindowDoc>('CampaignWindow', campaignWindowSchema(), 'campaign_windows');

const indexed = { i: { type: Number, required: true } };
const withText = (field: string) =>
  new Schema({ ...indexed, [field]: { type: String } }, { _id: false });

/**
 * What became of one window: its key is the window's, inserted once, by its sender or, for a
 * window whose sender is gone, by whoever settles it as unknown. Recipients are entry indexes of
 * the batch; the relay's reply is kept for failures and retries only. `counts` are what the
 * campaign's statistics add up, and all that remains once the per-recipient records expire.
 */
export function campaignWindowOutcomeSchema() {
  const schema = new Schema(
    {
      ...windowRef,
      sent: { type: [Number], default: [] },
      failed: { type: [withText('reply')], default: [] },
      retry: {
        type: [new Schema({ ...indexed, reply: { type: String }, tries: Number }, { _id: false })],
        default: [],
      },
      retryAt: { type: Date },
      skipped: { type: [withText('reason')], default: [] },
      unknown: { type: [Number], default: [] },
      counts: {
        sent: { type: Number, required: true },
        failed: { type: Number, required: true },
        retry: { type: Number, required: true },
        skipped: { type: Number, required: true },
        unknown: { type: Number, required: true },
      },
      recordedAt: { type: Date, required: true },
    },
    { versionKey: false },
  );
  indexWindowRecords(schema);
  return schema;
}

export type CampaignWindowOutcomeDoc = InferSchemaType<
  ReturnType<typeof campaignWindowOutcomeSchema>
>;
export type CampaignWindowOutcomeModel = Model<CampaignWindowOutcomeDoc>;
export const campaignWindowOutcomeModel = (conn: Connection): CampaignWindowOutcomeModel =>
  conn.model<CampaignWindowOutcomeDoc>(
    'CampaignWindowOutcome',
    campaignWindowOutcomeSchema(),
    'campaign_window_outcomes',
  );
