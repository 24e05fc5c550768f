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
}

export interface CampaignSource {
  subject: string;
  /** Campaign body: MJML (a full document, or mj-section content placed in the base layout). */
  mjml: string;
}

export interface CampaignRenderer {
  /** Throws AppError 400 with MJML errors (line numbers), unknown variables or bad includes. */
  compile(source: CampaignSource): CompiledCampaign;
}
