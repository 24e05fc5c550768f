import type { TokenService } from '../../unsubscribe/tokens.js';
import type { LinkTracking } from '../render/types.js';

/** A campaign's tracking switches as stored (absent on campaigns older than tracking). */
export interface TrackingSwitches {
  clicks?: boolean | null;
  opens?: boolean | null;
}

/**
 * The redirect and pixel URLs of a campaign: one token per link and one for the pixel, the same
 * in every recipient's mail, so they hold the campaign and the link's index only.
 */
export class CampaignTracking {
  constructor(
    private readonly tokens: TokenService,
    private readonly baseUrl: string,
  ) {}

  /**
   * What the renderer puts in the HTML of this campaign's mails. A link is wrapped only when the
   * campaign's stored list has that very URL at its index, since that list is what the redirect
   * answers from (a campaign stored before tracking existed has none: its links stay as written).
   */
  of(
    campaign: { id: string; links?: string[] | null },
    switches: TrackingSwitches | null | undefined,
  ): LinkTracking {
    const stored = campaign.links ?? [];
    return {
      clickUrl: (index, url) =>
        switches?.clicks !== false && stored[index] === url
          ? this.clickUrl(campaign.id, index)
          : null,
      openUrl: switches?.opens ? this.openUrl(campaign.id) : null,
    };
  }

  clickUrl(campaignId: string, index: number): string {
    return `${this.baseUrl}/r/${this.tokens.signLink('click', { campaignId, index })}`;
  }

  openUrl(campaignId: string): string {
    return `${this.baseUrl}/o/${this.tokens.signLink('open', { campaignId, index: 0 })}`;
  }
}
