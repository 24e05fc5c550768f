import { templatesDir as defaultTemplatesDir } from '../../shared/paths.js';
import { MailCompiler, type MailCompilerOptions, type MailLocale } from './mail-compiler.js';
import { CAMPAIGN_VARIABLES, ownAttributes, type VariablePolicy } from './personalise.js';
import type {
  CampaignRenderer,
  CampaignSource,
  CompiledCampaign,
  RenderedMail,
  RenderVars,
} from './types.js';

/** The layout adds the footer strings and the document language to the author's variables. */
const ASSEMBLED_VARIABLES: VariablePolicy = {
  exact: new Set([...CAMPAIGN_VARIABLES.exact, 'locale']),
  open: new Set([...CAMPAIGN_VARIABLES.open, 'mail.footer']),
};

const PROBE: RenderVars = {
  subscriber: { name: 'Probe', attributes: {} },
  unsubscribeUrl: 'https://kirje.invalid/u/probe-unsubscribe',
  preferencesUrl: 'https://kirje.invalid/u/probe-preferences',
  org: { name: 'Probe Operator Oy', address: 'Probe Street 1' },
  campaign: { subject: 'Probe' },
  locale: 'en',
};

/**
 * Campaign MJML → CompiledCampaign (src/campaigns/render/types.ts). Two forms are accepted:
 * - mj-body content (mj-section, mj-wrapper, mj-hero, mj-include of partials): placed into
 *   templates/layouts/base.mjml, which gives head styles, the title and the footer;
 * - a full `<mjml>` document: kept as written, with templates/partials/footer.mjml injected as
 *   the last section of its mj-body.
 * Either way the footer (operator identity, unsubscribe and preferences links in the recipient's
 * locale) is in every mail; compile() refuses a template whose rendering loses it.
 */
export class MjmlCampaignRenderer implements CampaignRenderer {
  private readonly compiler: MailCompiler;

  constructor(opts: Partial<MailCompilerOptions> = {}) {
    this.compiler = new MailCompiler({
      templatesDir: opts.templatesDir ?? defaultTemplatesDir,
      compileMjml: opts.compileMjml,
    });
  }

  /** MJML compilations so far (one per compile() that got that far). */
  get compileCount(): number {
    return this.compiler.compileCount;
  }

  compile(source: CampaignSource): CompiledCampaign {
    const strings = this.compiler.strings;
    const mail = this.compiler.compile({
      mjml: source.mjml,
      subject: source.subject,
      layout: 'layouts/base.mjml',
      footerPartial: 'partials/footer.mjml',
      policy: CAMPAIGN_VARIABLES,
      assembledPolicy: ASSEMBLED_VARIABLES,
      probe: {
        context: context(PROBE, strings),
        mustShow: [PROBE.unsubscribeUrl, PROBE.preferencesUrl, PROBE.org.name, PROBE.org.address],
      },
      tracking: source.tracking,
    });
    return {
      links: mail.links,
      render(vars: RenderVars): RenderedMail {
        const ctx = context(vars, strings);
        return { subject: mail.subject(ctx), html: mail.html(ctx), text: mail.text(ctx) };
      },
    };
  }
}

/** Only the contract's fields reach the template, whatever else the caller's objects carry. */
function context(vars: RenderVars, strings: MailCompiler['strings']) {
  const locale: MailLocale = vars.locale === 'en' ? 'en' : 'fi';
  return {
    subscriber: {
      name: vars.subscriber.name,
      attributes: ownAttributes(vars.subscriber.attributes),
    },
    unsubscribeUrl: vars.unsubscribeUrl,
    preferencesUrl: vars.preferencesUrl,
    org: { name: vars.org.name, address: vars.org.address },
    campaign: { subject: vars.campaign.subject },
    locale,
    mail: strings[locale],
  };
}
