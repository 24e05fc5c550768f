import Handlebars from 'handlebars';
import { randomUUID } from 'node:crypto';
import type { Mailer } from '../mail/mailer.js';
import { messages, pickLocale } from '../http/pages.js';
import type { TokenService } from '../unsubscribe/tokens.js';
import type { SubscriberRef } from './ports.js';

export interface ConfirmationConfig {
  baseUrl: string;
  mailFrom: string | undefined;
  orgName: string;
  /** Domain of our Message-IDs (the DKIM domain, else INBOUND_DOMAIN). */
  messageIdDomain: string;
}

const render = (template: string, data: Record<string, string>) =>
  Handlebars.compile(template, { noEscape: true, strict: false })(data);

/**
 * The mail sent instead of acting on an unsubscribe request we could not attribute to the
 * subscriber: a one-click link only the subscriber's own mailbox receives. It is an automatic
 * answer (RFC 3834): Auto-Submitted, and a null return path so a bounce of it cannot loop back.
 */
export class ConfirmationSender {
  constructor(
    private readonly mailer: Mailer,
    private readonly tokens: TokenService,
    private readonly cfg: ConfirmationConfig,
  ) {}

  async send(subscriber: SubscriberRef, campaignId: string | undefined): Promise<void> {
    const token = this.tokens.sign('unsubscribe', {
      subscriberId: subscriber.id,
      ...(campaignId ? { campaignId } : {}),
    });
    const url = `${this.cfg.baseUrl}/u/${token}`;
    // Swedish has no page strings yet; English reads better to a Swede than Finnish.
    const t = messages(pickLocale([subscriber.locale === 'sv' ? 'en' : subscriber.locale]));
    const data = { email: subscriber.email, url, org: this.cfg.orgName };
    await this.mailer.send({
      from: this.cfg.mailFrom,
      to: subscriber.email,
      subject: render(t['inbound.confirm.subject']!, data),
      text: render(t['inbound.confirm.body']!, data),
      headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
      envelope: { from: '', to: subscriber.email },
      // With the null return path nodemailer would name the id after `localhost`.
      messageId: `<${randomUUID()}@${this.cfg.messageIdDomain}>`,
    });
  }
}
