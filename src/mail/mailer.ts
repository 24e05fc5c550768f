import { connect } from 'node:net';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { DkimConfig } from '../config/config.js';
import { AppError } from '../shared/errors.js';

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
 * Pooled SMTP to SMTP_URL. Without SMTP_URL every send fails with a clear error instead of
 * silently dropping mail. With DKIM configured, nodemailer signs every message; the header list
 * adds the list headers mailbox providers check (RFC 8058 §4 asks for List-Unsubscribe and
 * List-Unsubscribe-Post to be signed).
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
  const transport: Transporter<SMTPPool.SentMessageInfo> = nodemailer.createTransport({
    // Not `url`: given one, nodemailer builds the transport from the URL alone and silently drops
    // every other option here (pool, DKIM, TLS).
    ...connectionOptions(opts.url),
    pool: true,
    maxConnections: opts.maxConnections ?? 5,
    maxMessages: Infinity,
    // A local relay typically has a self-signed certificate; STARTTLS is still attempted.
    tls: { rejectUnauthorized: false },
    getSocket: noDelaySocket,
    ...(opts.dkim
      ? {
          dkim: {
            ...opts.dkim,
            headerFieldNames:
              'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:' +
              'List-Unsubscribe:List-Unsubscribe-Post:List-Id:Feedback-ID',
          },
        }
      : {}),
  } as SMTPPool.Options);
  return {
    async send(message) {
      const info = await transport.sendMail(message);
      return {
        messageId: info.messageId,
        response: info.response,
        accepted: info.accepted.map(String),
        rejected: info.rejected.map(String),
      };
    },
    close: () => transport.close(),
  };
}

function connectionOptions(
  url: string,
): Pick<SMTPPool.Options, 'host' | 'port' | 'secure' | 'auth'> {
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

const CONNECT_TIMEOUT_MS = 30_000;

/**
 * The pool's sockets, with Nagle's algorithm off. With it on, the short last segment of each
 * message waits for the relay to acknowledge the rest, and a relay that answers only once the
 * message is complete delays that acknowledgement (40 ms on Linux), which caps each connection
 * at a few dozen mails a second (BENCHMARKS.md). nodemailer has no
 * option for it; its `getSocket` hook takes a connected socket. A failure to connect is reported as
 * nodemailer reports its own (ECONNECTION): nothing was sent, so trying again is safe.
 */
function noDelaySocket(
  options: { host?: string; port?: number },
  callback: (err: Error | null, socketOptions?: { connection: ReturnType<typeof connect> }) => void,
): void {
  // connectionOptions() always sets the port.
  const socket = connect({ host: options.host, port: Number(options.port) });
  socket.setNoDelay(true);
  const fail = (err: Error) => {
    socket.destroy();
    callback(Object.assign(err, { code: 'ECONNECTION' }));
  };
  socket.setTimeout(CONNECT_TIMEOUT_MS, () => fail(new Error('Connection timeout')));
  socket.once('error', fail);
  socket.once('connect', () => {
    socket.setTimeout(0);
    socket.removeListener('error', fail);
    callback(null, { connection: socket });
  });
}
