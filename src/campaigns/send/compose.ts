import { randomUUID } from 'node:crypto';
import type { SendMailOptions } from 'nodemailer';
import { QuotedPrintablePart } from '../../mail/mime-parts.js';
import { addressHeader, AlternativeMessage, mailDate, textHeader } from '../../mail/raw-message.js';
import type { TokenService } from '../../unsubscribe/tokens.js';
import type { CompiledCampaign, RenderedMail, RenderVars } from '../render/types.js';

export interface ComposerOptions {
  baseUrl: string;
  inboundDomain: string;
  /** The DKIM signing domain when configured: Message-IDs then align with the signature. */
  messageIdDomain: string;
  org: { name: string; address: string };
}

export interface MailCampaign {
  id: string;
  subject: string;
  fromEmail: string;
}

export interface MailRecipient {
  subscriberId: string;
  email: string;
  name: string;
  locale: string;
  attributes: Record<string, string | number | boolean>;
}

export interface MailList {
  id?: string;
  /** List-Id identifier: `<slug.INBOUND_DOMAIN>`. */
  slug: string;
  name: string;
}

/** An id that unsubscribes nobody: test mails carry working-looking links to no person. */
export const NOBODY = '000000000000000000000000';

/**
 * Builds one campaign mail: personalised body plus every header the contract promises
 * (List-Unsubscribe https + mailto, one-click POST, List-Id, Feedback-ID, our Message-ID, VERP
 * envelope sender), as the whole raw message (src/mail/raw-message.ts). Tokens carry ids only, so
 * no address appears in any link or token. Usable for any mail to a subscriber that carries these
 * headers, inside a campaign or not.
 */
export class MailComposer {
  /** Per compiled campaign: its parts' encoders, which reuse the lines every mail shares. */
  private readonly parts = new WeakMap<
    CompiledCampaign,
    { html: QuotedPrintablePart; text: QuotedPrintablePart }
  >();
  private readonly message = new AlternativeMessage();
  /** From header lines by sender, encoded once. */
  private readonly fromHeaders = new Map<string, string>();

  constructor(
    private readonly tokens: TokenService,
    private readonly opts: ComposerOptions,
  ) {}

  messageId(campaignId: string, subscriberId: string): string {
    return `<${campaignId}.${subscriberId}@${this.opts.messageIdDomain}>`;
  }

  /** The personalised subject, HTML and text one recipient gets (the preview shows these). */
  render(
    campaign: MailCampaign,
    compiled: CompiledCampaign,
    to: MailRecipient,
    list: MailList,
  ): RenderedMail {
    return this.personalise(campaign, compiled, to, list).mail;
  }

  compose(
    campaign: MailCampaign,
    compiled: CompiledCampaign,
    to: MailRecipient,
    list: MailList,
    /** `messageKey`: what the Message-ID is made of with the recipient, the campaign's id by default. */
    mode: { test?: boolean; messageKey?: string } = {},
  ): SendMailOptions {
    const { inboundDomain, messageIdDomain } = this.opts;
    const { mail, unsubscribeUrl } = this.personalise(campaign, compiled, to, list);
    const mailtoToken = this.tokens.signAddress('unsubscribe', to.subscriberId, campaign.id);
    const bounceToken = this.tokens.signAddress('bounce', to.subscriberId, campaign.id);
    const parts = this.partsOf(compiled);
    const messageId = mode.test
      ? `<${randomUUID()}@${messageIdDomain}>`
      : this.messageId(mode.messageKey ?? campaign.id, to.subscriberId);
    // Structured values written plain (RFC 2369 and RFC 2919 parsers expect them so): every part
    // is ASCII and free of CR/LF by construction.
    const headerLines = [
      this.fromHeader(campaign.fromEmail),
      addressHeader('To', to.email),
      textHeader('Subject', mode.test ? `[TEST] ${mail.subject}` : mail.subject),
      `Message-ID: ${messageId}`,
      `Date: ${mailDate(new Date())}`,
      `List-Unsubscribe: <${unsubscribeUrl}>,\r\n <mailto:unsubscribe+${mailtoToken}@${inboundDomain}?subject=unsubscribe>`,
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
      `List-Id: ${quote(list.name)} <${list.slug}.${inboundDomain}>`,
      `Feedback-ID: ${campaign.id}:${list.slug}:campaign:kirje`,
    ];
    return {
      envelope: { from: `bounces+${bounceToken}@${inboundDomain}`, to: to.email },
      messageId,
      raw: this.message.build(headerLines, parts.text.part(mail.text), parts.html.part(mail.html)),
    };
  }

  private fromHeader(fromEmail: string): string {
    let line = this.fromHeaders.get(fromEmail);
    if (line === undefined) {
      line = addressHeader('From', fromEmail);
      if (this.fromHeaders.size > 100) this.fromHeaders.clear();
      this.fromHeaders.set(fromEmail, line);
    }
    return line;
  }

  /** The recipient's unsubscribe URL (also the preference centre's) and the mail rendered with it. */
  private personalise(
    campaign: MailCampaign,
    compiled: CompiledCampaign,
    to: MailRecipient,
    list: MailList,
  ): { mail: RenderedMail; unsubscribeUrl: string } {
    const token = this.tokens.sign('unsubscribe', {
      subscriberId: to.subscriberId,
      campaignId: campaign.id,
      ...(list.id ? { listId: list.id } : {}),
    });
    const unsubscribeUrl = `${this.opts.baseUrl}/u/${token}`;
    const vars: RenderVars = {
      subscriber: { name: to.name, attributes: to.attributes },
      unsubscribeUrl,
      // The /u/ page is both the unsubscribe and the preference centre (contract, public HTTP).
      preferencesUrl: unsubscribeUrl,
      org: this.opts.org,
      campaign: { subject: campaign.subject },
      locale: to.locale === 'en' ? 'en' : 'fi',
    };
    return { mail: compiled.render(vars), unsubscribeUrl };
  }

  private partsOf(compiled: CompiledCampaign) {
    let parts = this.parts.get(compiled);
    if (!parts) {
      parts = {
        html: new QuotedPrintablePart('text/html'),
        text: new QuotedPrintablePart('text/plain'),
      };
      this.parts.set(compiled, parts);
    }
    return parts;
  }
}

/** A List-Id phrase: an RFC 5322 quoted string, or an encoded word when the name is not ASCII. */
function quote(text: string): string {
  const clean = text.replace(/[\r\n]/g, ' ');
  if (/^[\x20-\x7e]*$/.test(clean)) return `"${clean.replace(/(["\\])/g, '\\$1')}"`;
  return `=?UTF-8?B?${Buffer.from(clean).toString('base64')}?=`;
}
