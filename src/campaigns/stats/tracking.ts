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

  /** What the renderer puts in the HTML of this campaign's mails. */
  of(campaignId: string, switches: TrackingSwitches | null | undefined): LinkTracking {
    return {
      clickUrl: switches?.clicks === false ? null : (index) => this.clickUrl(campaignId, index),
      openUrl: switches?.opens ? this.openUrl(campaignId) : null,
    };
  }

  clickUrl(campaignId: string, index: number): string {
    return `${this.baseUrl}/r/${this.tokens.signLink('click', { campaignId, index })}`;
  }

  openUrl(campaignId: string): string {
    return `${this.baseUrl}/o/${this.tokens.signLink('open', { campaignId, index: 0 })}`;
  }
}
