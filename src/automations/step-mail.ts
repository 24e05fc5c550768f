import type { SendMailOptions } from 'nodemailer';
import { sendFailureOf } from '../mail/send-failure.js';
import type { CampaignRenderer, CompiledCampaign } from '../campaigns/render/types.js';
import type { MailComposer, MailList, MailRecipient } from '../campaigns/send/compose.js';
import type { TemplateService } from '../campaigns/templates/service.js';
import type { Mailer } from '../mail/mailer.js';
import type { Logger } from '../shared/logger.js';

/** An automation mail's List-Id and unsubscribe scope when no list started it (order, date). */
const NO_LIST: MailList = { slug: 'automations', name: 'Automations' };
const MAX_COMPILED = 100;

export interface StepMail {
  automationId: string;
  /** Unique per mail (enrolment and step generation): the Message-ID is made from it. */
  mailKey: string;
  templateId: string;
  subject: string | undefined;
  fromEmail: string;
  to: MailRecipient;
  list: MailList | null;
}

/** What one SMTP transaction came to, in the words of the step records. */
export type MailOutcome =
  | { status: 'sent'; smtpResponse: string; messageId: string }
  | { status: 'failed' | 'unknown'; smtpResponse: string }
  | { status: 'retry'; smtpResponse: string };

/**
 * Builds and sends the mail of a send step with the campaign composer, so it carries the same
 * List-Unsubscribe (https and mailto), one-click POST, List-Id, Feedback-ID, VERP return path and
 * signed tokens as campaign mail; the automation's id stands where a campaign's would.
 */
export class StepMailer {
  private readonly compiled = new Map<string, CompiledCampaign>();

  constructor(
    private readonly deps: {
      templates: Pick<TemplateService, 'get'>;
      renderer: CampaignRenderer;
      composer: MailComposer;
      mailer: Mailer;
      logger: Logger;
    },
  ) {}

  async compose(mail: StepMail): Promise<SendMailOptions> {
    const template = await this.deps.templates.get(mail.templateId);
    const subject = mail.subject ?? template.subject ?? '';
    // Keyed by the template's version: an edited template is compiled again, once.
    const cacheKey = `${template.id}:${template.updatedAt.getTime()}:${subject}`;
    let compiled = this.compiled.get(cacheKey);
    if (!compiled) {
      // Old versions are never asked for again; a bound keeps edits from piling up.
      if (this.compiled.size >= MAX_COMPILED) this.compiled.clear();
      compiled = this.deps.renderer.compile({ subject, mjml: template.mjml });
      this.compiled.set(cacheKey, compiled);
    }
    // Each step's mail has its own Message-ID: the automation's id alone would repeat it.
    return this.deps.composer.compose(
      { id: mail.automationId, subject, fromEmail: mail.fromEmail },
      compiled,
      mail.to,
      mail.list ?? NO_LIST,
      { messageKey: mail.mailKey },
    );
  }

  async send(message: SendMailOptions): Promise<MailOutcome> {
    try {
      const info = await this.deps.mailer.send(message);
      return { status: 'sent', smtpResponse: info.response, messageId: info.messageId };
    } catch (err) {
      const { status, reply, code } = sendFailureOf(err);
      if (status === 'unknown')
        this.deps.logger.warn({ code, err: reply }, 'automation mail outcome unknown');
      return { status, smtpResponse: reply };
    }
  }
}
