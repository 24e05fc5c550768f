import type { SendMailOptions } from 'nodemailer';
import DKIM from 'nodemailer/lib/dkim/index.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { DkimConfig } from '../config/config.js';
import { AppError } from '../shared/errors.js';
import { SmtpConnectionPool, type SmtpEnvelope, type SmtpRelay } from './smtp-pool.js';

export interface SentInfo {
  messageId: string;
  response: string;
  accepted: string[];
  rejected: string[];
}

/** The outgoing mail port. Campaign sending and system mails see only this. */
export interface Mailer {
  send(message: SendMailOptions): Promise<SentInfo>;
  close(): void;
}

export interface SmtpMailerOptions {
  url: string | undefined;
  dkim?: DkimConfig;
  maxConnections?: number;
}

/**
 * Pooled SMTP to SMTP_URL (src/mail/smtp-pool.ts). Without SMTP_URL every send fails with a clear
 * error instead of silently dropping mail. A finished message (`raw`, with its envelope) goes as it
 * is; any other is built by nodemailer's MailComposer. With DKIM configured every message is
 * signed; the header list adds the list headers mailbox providers check (RFC 8058 §4 asks for
 * List-Unsubscribe and List-Unsubscribe-Post to be signed).
 */
export function createSmtpMailer(opts: SmtpMailerOptions): Mailer {
  if (!opts.url) {
    return {
      send: async () => {
        throw new AppError(
          'mail_not_configured',
          'SMTP_URL is not set: configure the outgoing relay to send mail',
        );
      },
      close: () => {},
    };
  }
  const pool = new SmtpConnectionPool(relayOf(opts.url), opts.maxConnections ?? 5);
  const signer = opts.dkim
    ? new DKIM({
        ...opts.dkim,
        headerFieldNames:
          'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:' +
          'List-Unsubscribe:List-Unsubscribe-Post:List-Id:Feedback-ID',
      })
    : undefined;
  return {
    async send(message) {
      const { envelope, content, messageId } = await wireForm(message);
      const info = await pool.send(envelope, signer ? signer.sign(content) : content);
      return { messageId, ...info };
    },
    close: () => pool.close(),
  };
}

/** A message as the relay gets it: its envelope, its whole text and the Message-ID it carries. */
async function wireForm(
  message: SendMailOptions,
): Promise<{ envelope: SmtpEnvelope; content: string | Buffer; messageId: string }> {
  if (message.raw !== undefined) {
    if (!message.envelope || !(typeof message.raw === 'string' || Buffer.isBuffer(message.raw))) {
      // A caller's mistake, never a recipient's: every raw message here is built by Kirje.
      throw new TypeError('a raw message is sent as text, with its envelope');
    }
    return {
      envelope: envelopeOf(message.envelope),
      content: message.raw,
      messageId: message.messageId ?? '',
    };
  }
  const root = new MailComposer(message).compile();
  return {
    envelope: envelopeOf(message.envelope ?? root.getEnvelope()),
    content: await root.build(),
    messageId: root.messageId(),
  };
}

type EnvelopeAddress = string | false | { address: string } | undefined;

function envelopeOf(envelope: {
  from?: EnvelopeAddress;
  to?: EnvelopeAddress | EnvelopeAddress[];
}): SmtpEnvelope {
  const address = (a: EnvelopeAddress) => (typeof a === 'object' ? a.address : a || '');
  const to = Array.isArray(envelope.to) ? envelope.to : [envelope.to];
  return { from: address(envelope.from), to: to.map(address).filter(Boolean) };
}

function relayOf(url: string): SmtpRelay {
  const u = new URL(url);
  const secure = u.protocol === 'smtps:';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    ...(u.username
      ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } }
      : {}),
  };
}
