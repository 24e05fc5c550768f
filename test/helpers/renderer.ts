import Handlebars from 'handlebars';
import type {
  CampaignRenderer,
  CampaignSource,
  CompiledCampaign,
  RenderVars,
} from '../../src/campaigns/render/types.js';
import { AppError } from '../../src/shared/errors.js';

/**
 * A small renderer behind the real CampaignRenderer interface, for sending tests while the MJML
 * renderer lives on another branch: Handlebars (HTML-escaping) over the body, a footer
 * with the unsubscribe link and the operator, a text part with the tags stripped. It counts
 * compilations so tests can see that sending compiles once per campaign.
 */
export class TestRenderer implements CampaignRenderer {
  compilations = 0;

  compile(source: CampaignSource): CompiledCampaign {
    this.compilations += 1;
    const hbs = Handlebars.create();
    let subject: HandlebarsTemplateDelegate<RenderVars>;
    let body: HandlebarsTemplateDelegate<RenderVars>;
    try {
      // Parsed eagerly so template syntax errors surface at create time.
      hbs.parse(source.subject);
      hbs.parse(source.mjml);
      subject = hbs.compile<RenderVars>(source.subject, { noEscape: true });
      body = hbs.compile<RenderVars>(source.mjml);
    } catch (err) {
      throw new AppError('bad_request', `template: ${(err as Error).message}`);
    }
    const footer = hbs.compile<RenderVars>(
      '<p><a href="{{unsubscribeUrl}}">Unsubscribe</a> {{org.name}}, {{org.address}}</p>',
    );
    return {
      render(vars) {
        const html = `<html><body>${body(vars)}${footer(vars)}</body></html>`;
        const text = `${html
          .replace(/<a href="([^"]+)">([^<]*)<\/a>/g, '$2 $1')
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .trim()}`;
        return { subject: subject(vars), html, text };
      },
    };
  }
}
