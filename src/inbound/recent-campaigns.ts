import type { Clock } from '../shared/clock.js';
import type { CampaignLists } from '../unsubscribe/campaign-lists.js';

const TTL_MS = 60_000;
const MAX_CAMPAIGNS = 1000;

/**
 * CampaignLists that remembers its answers for a minute. Mail about a campaign (mailto
 * unsubscribes, replies) comes in waves right after it is sent and names the same few campaigns,
 * each lookup a database round trip per message; and a campaign's lists no longer change once it
 * is sent (src/campaigns/service.ts edits drafts and scheduled ones only). The minute bounds how
 * long a reply to a test mail of a draft edited since then could be narrowed to its old lists.
 */
export function recentCampaignLists(lookup: CampaignLists, clock: Clock): CampaignLists {
  const known = new Map<string, { at: number; lists: Promise<string[]> }>();
  return (campaignId) => {
    const now = clock.now().getTime();
    const hit = known.get(campaignId);
    if (hit && now - hit.at < TTL_MS) return hit.lists;
    known.delete(campaignId);
    if (known.size >= MAX_CAMPAIGNS) known.delete(known.keys().next().value!);
    // Concurrent lookups of one campaign share the read; a failed read is not remembered.
    const lists = lookup(campaignId);
    known.set(campaignId, { at: now, lists });
    lists.catch(() => {
      if (known.get(campaignId)?.lists === lists) known.delete(campaignId);
    });
    return lists;
  };
}
