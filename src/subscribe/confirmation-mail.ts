import Handlebars from 'handlebars';
import mjml2html from 'mjml';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RenderedMail } from '../campaigns/render/types.js';
import { format, messages, type PageLocale } from '../http/pages.js';
import { templatesDir } from '../shared/paths.js';

export interface ConfirmationMail {
  locale: PageLocale;
  lists: Array<{ name: string; confirmUrl: string }>;
  expiresInHours: number;
  org: { name: string; address: string };
}

/**
 * The double opt-in mail. A seam: when the shared SystemMailRenderer lands, an adapter of it
 * replaces MjmlConfirmationMail in services.ts and nothing else changes.
 */
export interface ConfirmationMailRenderer {
  render(mail: ConfirmationMail): RenderedMail;
}

/** templates/system/subscribe-confirm.mjml, compiled by MJML once, personalised by Handlebars. */
export class MjmlConfirmationMail implements ConfirmationMailRenderer {
  private html: Handlebars.TemplateDelegate | undefined;

  render(mail: ConfirmationMail): RenderedMail {
    const t = messages(mail.locale);
    const strings = {
      subject: t['mail.confirm.subject']!,
      intro: t['mail.confirm.intro']!,
      button: t['confirm.button']!,
      action: format(t['mail.confirm.action']!, { hours: mail.expiresInHours }),
      ignore: t['mail.confirm.ignore']!,
    };
    const html = this.compiled()({ ...strings, lists: mail.lists, org: mail.org });
    const text = [
      strings.intro,
      '',
      ...mail.lists.flatMap((l) => [l.name, l.confirmUrl, '']),
      strings.action,
      '',
      strings.ignore,
      '',
      '-- ',
      `${mail.org.name}, ${mail.org.address}`,
    ].join('\n');
    return { subject: strings.subject, html, text };
  }

  private compiled(): Handlebars.TemplateDelegate {
    if (!this.html) {
      const source = readFileSync(
        path.join(templatesDir, 'system', 'subscribe-confirm.mjml'),
        'utf8',
      );
      // @types/mjml 5 describes mjml 5, whose mjml2html returns a Promise; mjml 4 (ours) is sync.
      const out = (mjml2html as unknown as (s: string, o: object) => { html: string })(source, {
        validationLevel: 'strict',
      });
      this.html = Handlebars.create().compile(out.html, { strict: true });
    }
    return this.html;
  }
}
