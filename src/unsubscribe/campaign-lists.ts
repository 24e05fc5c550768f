import { Types, type Connection } from 'mongoose';

/** The list ids a campaign was sent to; [] when the campaign (or the whole collection) is unknown. */
export type CampaignLists = (campaignId: string) => Promise<string[]>;

const objectId = /^[0-9a-f]{24}$/;

/**
 * Reads `campaigns.listIds` straight from the collection. Unsubscribing needs only this one fact
 * about a campaign, and must keep working for links in old mail whose campaign was deleted, or
 * before the campaigns capability exists at all; so this is a port, not a dependency on that
 * capability's model. Ids are accepted as ObjectIds or hex strings.
 */
export function campaignListsFrom(connection: Connection): CampaignLists {
  return async (campaignId) => {
    if (!objectId.test(campaignId) || !connection.db) return [];
    const doc = await connection.db
      .collection('campaigns')
      .findOne({ _id: new Types.ObjectId(campaignId) }, { projection: { listIds: 1 } });
    const ids: unknown = doc?.listIds;
    return Array.isArray(ids) ? ids.map(String).filter((id) => objectId.test(id)) : [];
  };
}
