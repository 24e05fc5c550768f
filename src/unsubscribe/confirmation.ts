import type { SystemMailRenderer } from '../campaigns/render/system-mail.js';
import type { Mailer } from '../mail/mailer.js';
import type { Logger } from '../shared/logger.js';

export interface ConfirmationSettings {
  enabled: boolean;
  from: string | undefined;
}

/**
 * The optional "you have been unsubscribed" mail (UNSUBSCRIBE_CONFIRMATION_MAIL, off by default:
 * RFC 8058 §4 discourages it), rendered by the system-mail renderer (templates/system/
 * unsubscribe-confirm.<locale>.mjml). Sent after the opt-out is durable; it never delays or fails
 * the answer to the person.
 */
export class UnsubscribeConfirmation {
  constructor(
    private readonly mailer: Mailer,
    private readonly renderer: SystemMailRenderer,
    private readonly settings: ConfirmationSettings,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** Resolves once the mail is handed to the relay, or the failure is logged; never rejects. */
  async send(
    to: { email: string; locale: string; name?: string },
    listNames: string[],
    preferencesUrl: string,
  ): Promise<void> {
    if (!this.settings.enabled) return;
    if (!this.settings.from) {
      this.logger.warn('unsubscribe confirmation mail is on but MAIL_FROM is not set');
      return;
    }
    try {
      const mail = this.renderer.renderSystemMail(
        'unsubscribe-confirm',
        to.locale === 'en' ? 'en' : 'fi',
        {
          ...(listNames.length > 0 ? { listName: listNames.join(', ') } : {}),
          preferencesUrl,
          ...(to.name ? { name: to.name } : {}),
        },
      );
      await this.mailer.send({
        from: this.settings.from,
        to: to.email,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'unsubscribe confirmation mail failed');
    }
  }
}
