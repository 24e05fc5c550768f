import type { SendMailOptions } from 'nodemailer';
import type { AttachmentLike } from 'nodemailer/lib/mailer/index.js';
import { QuotedPrintablePart } from '../../mail/mime-parts.js';
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
 * envelope sender). Tokens carry ids only, so no address appears in any link or token.
 */
export class MailComposer {
  /** Per compiled campaign: its parts' encoders, which reuse the lines every mail shares. */
  private readonly parts = new WeakMap<
    CompiledCampaign,
    { html: QuotedPrintablePart; text: QuotedPrintablePart }
  >();

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
    mode: { test?: boolean } = {},
  ): SendMailOptions {
    const { inboundDomain } = this.opts;
    const { mail, unsubscribeUrl } = this.personalise(campaign, compiled, to, list);
    const mailtoToken = this.tokens.signAddress('unsubscribe', to.subscriberId, campaign.id);
    const bounceToken = this.tokens.signAddress('bounce', to.subscriberId, campaign.id);
    const parts = this.partsOf(compiled);
    return {
      from: campaign.fromEmail,
      to: to.email,
      subject: mode.test ? `[TEST] ${mail.subject}` : mail.subject,
      // Encoded here, not by nodemailer: see QuotedPrintablePart. Campaign text is mostly Latin
      // script, where nodemailer would pick quoted-printable too.
      html: rawPart(parts.html.part(mail.html)),
      text: rawPart(parts.text.part(mail.text)),
      ...(mode.test ? {} : { messageId: this.messageId(campaign.id, to.subscriberId) }),
      envelope: { from: `bounces+${bounceToken}@${inboundDomain}`, to: to.email },
      // Prepared: nodemailer would otherwise MIME-encode these structured values (RFC 2369 and
      // RFC 2919 parsers expect them plain); every part is ASCII and free of CR/LF by construction.
      headers: {
        'List-Unsubscribe': prepared(
          `<${unsubscribeUrl}>,\r\n <mailto:unsubscribe+${mailtoToken}@${inboundDomain}?subject=unsubscribe>`,
        ),
        'List-Unsubscribe-Post': prepared('List-Unsubscribe=One-Click'),
        'List-Id': prepared(`${quote(list.name)} <${list.slug}.${inboundDomain}>`),
        'Feedback-ID': prepared(`${campaign.id}:${list.slug}:campaign:kirje`),
      },
    };
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

/**
 * A body part nodemailer takes as it is. MailComposer honours `raw` on `html` and `text` as on
 * attachments, but nodemailer's types declare it only for attachments.
 */
const rawPart = (raw: string) => ({ raw }) as AttachmentLike;

const prepared = (value: string) => ({ prepared: true, value });

/** A List-Id phrase: an RFC 5322 quoted string, or an encoded word when the name is not ASCII. */
function quote(text: string): string {
  const clean = text.replace(/[\r\n]/g, ' ');
  if (/^[\x20-\x7e]*$/.test(clean)) return `"${clean.replace(/(["\\])/g, '\\$1')}"`;
  return `=?UTF-8?B?${Buffer.from(clean).toString('base64')}?=`;
}
