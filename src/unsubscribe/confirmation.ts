import { messages, pickLocale } from '../http/pages.js';
import type { Mailer } from '../mail/mailer.js';
import type { Logger } from '../shared/logger.js';

export interface ConfirmationSettings {
  enabled: boolean;
  from: string | undefined;
  orgName: string;
  orgAddress: string;
}

/**
 * The optional "you have been unsubscribed" mail (UNSUBSCRIBE_CONFIRMATION_MAIL, off by default:
 * RFC 8058 §4 discourages it). A short plain-text system mail; it is sent after the opt-out is
 * durable and never delays or fails the answer to the person.
 */
export class UnsubscribeConfirmation {
  constructor(
    private readonly mailer: Mailer,
    private readonly settings: ConfirmationSettings,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** Resolves once the mail is handed to the relay, or the failure is logged; never rejects. */
  async send(to: string, locale: string, listNames: string[], manageUrl: string): Promise<void> {
    if (!this.settings.enabled) return;
    if (!this.settings.from) {
      this.logger.warn('unsubscribe confirmation mail is on but MAIL_FROM is not set');
      return;
    }
    const t = messages(pickLocale([locale]));
    const what = listNames.length > 0 ? listNames.join(', ') : t['unsubscribe.everything'];
    const text = [
      `${t['mail.unsubscribed.body']} ${what}.`,
      '',
      `${t['mail.unsubscribed.manage']} ${manageUrl}`,
      '',
      '-- ',
      this.settings.orgName,
      this.settings.orgAddress,
    ].join('\n');
    try {
      await this.mailer.send({
        from: this.settings.from,
        to,
        subject: t['mail.unsubscribed.subject'],
        text,
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'unsubscribe confirmation mail failed');
    }
  }
}
