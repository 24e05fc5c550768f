/**
 * The seam between rendering and sending: MJML is compiled once per campaign into a
 * CompiledCampaign; per recipient only `render` (personalisation) runs.
 */
export interface RenderVars {
  subscriber: { name: string; attributes: Record<string, string | number | boolean> };
  unsubscribeUrl: string;
  preferencesUrl: string;
  org: { name: string; address: string };
  campaign: { subject: string };
  /** Footer and system strings in the recipient's language. */
  locale: 'fi' | 'en';
}

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

export interface CompiledCampaign {
  render(vars: RenderVars): RenderedMail;
  /** The distinct http(s) links of the HTML, in order (what link tracking indexes). */
  links?: string[];
}

/**
 * Aggregate tracking, decided once per campaign: the same URLs go to every recipient, so nothing
 * in them can tell people apart (src/campaigns/stats/tracking.ts builds them).
 */
export interface LinkTracking {
  /**
   * The redirect that stands for the link of this index and URL, or null to leave it as written
   * (for example when the campaign's stored list of links does not have that URL at that index).
   */
  clickUrl: (index: number, url: string) => string | null;
  /** The 1×1 image added to the HTML, or null for none. */
  openUrl: string | null;
}

export interface CampaignSource {
  subject: string;
  /** Campaign body: MJML (a full document, or mj-section content placed in the base layout). */
  mjml: string;
  tracking?: LinkTracking;
}

export interface CampaignRenderer {
  /** Throws AppError 400 with MJML errors (line numbers), unknown variables or bad includes. */
  compile(source: CampaignSource): CompiledCampaign;
}
