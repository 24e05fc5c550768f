import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * Aggregate counts of one campaign in one UTC hour, as added by one writer (a process's
 * CampaignCounter, src/campaigns/stats/counter.ts): `_id` is `<campaignId>:<hour ISO>:<writer>`.
 * A document has a single writer, which applies its grouped increments in order; `seq` is the
 * number of the last group applied, so a group sent again after an unclear failure is not counted
 * twice (src/db/counters.ts). Totals are the sum over writers and hours. No person appears here.
 */
export function campaignCountsSchema() {
  const schema = new Schema(
    {
      _id: { type: String, required: true },
      campaignId: { type: Schema.Types.ObjectId, required: true },
      hour: { type: Date, required: true },
      writer: { type: String, required: true },
      seq: { type: Number, required: true },
      counts: { type: Schema.Types.Mixed, default: {} },
    },
    { versionKey: false, minimize: false },
  );
  schema.index({ campaignId: 1 });
  return schema;
}

export type CampaignCountsDoc = InferSchemaType<ReturnType<typeof campaignCountsSchema>>;
export type CampaignCountsModel = Model<CampaignCountsDoc>;
export const campaignCountsModel = (conn: Connection): CampaignCountsModel =>
  conn.model<CampaignCountsDoc>('CampaignCounts', campaignCountsSchema(), 'campaign_counts');
