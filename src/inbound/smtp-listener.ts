import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import type { Logger } from '../shared/logger.js';
import type { InboundPipeline } from './pipeline.js';

export interface SmtpListenerOptions {
  domain: string;
  maxBytes: number;
  /** Simultaneous connections; more are refused with 421 by smtp-server. */
  maxClients?: number;
  maxRecipients?: number;
  host?: string;
}

const smtpError = (code: number, message: string) =>
  Object.assign(new Error(message), { responseCode: code });

/**
 * The built-in MX for INBOUND_DOMAIN. It accepts mail only for that domain (a relay for nobody),
 * refuses what is larger than INBOUND_MAX_BYTES, and answers 250 only once the pipeline recorded
 * the message; a failure of ours (database down) is a 451 so the sender tries again.
 */
export class InboundSmtpListener {
  private readonly server: SMTPServer;
  private listening = false;

  constructor(
    private readonly pipeline: InboundPipeline,
    private readonly opts: SmtpListenerOptions,
    private readonly logger: Logger,
  ) {
    const domain = opts.domain.toLowerCase();
    const maxRecipients = opts.maxRecipients ?? 20;
    this.server = new SMTPServer({
      name: domain,
      banner: 'Kirje inbound',
      size: opts.maxBytes,
      maxClients: opts.maxClients ?? 50,
      authOptional: true,
      // No certificate is configured for the listener yet; STARTTLS with smtp-server's built-in
      // self-signed key would only pretend to protect anything.
      disabledCommands: ['AUTH', 'STARTTLS'],
      socketTimeout: 60_000,
      closeTimeout: 5_000,
      logger: false,
      onMailFrom: (address, session, cb) => {
        const declared = Number((address.args || {}).SIZE ?? 0);
        if (declared > opts.maxBytes)
          return cb(smtpError(552, '5.3.4 Message size exceeds fixed limit'));
        cb();
      },
      onRcptTo: (address, session, cb) => {
        const at = address.address.lastIndexOf('@');
        if (at < 1 || address.address.slice(at + 1).toLowerCase() !== domain)
          return cb(
            smtpError(550, '5.7.1 Relaying denied: we accept mail only for our own domain'),
          );
        if (session.envelope.rcptTo.length >= maxRecipients)
          return cb(smtpError(452, '4.5.3 Too many recipients'));
        cb();
      },
      onData: (stream, session, cb) => {
        this.receive(stream).then(
          async (raw) => {
            if (!raw) return cb(smtpError(552, '5.3.4 Message size exceeds fixed limit'));
            try {
              await this.pipeline.process(raw, {
                via: 'smtp',
                mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                rcptTo: session.envelope.rcptTo.map((r) => r.address),
                remoteIp: session.remoteAddress,
                helo: session.hostNameAppearsAs,
              });
              cb();
            } catch (err) {
              this.logger.error({ err }, 'inbound message could not be recorded');
              cb(smtpError(451, '4.3.0 Temporary failure, try again later'));
            }
          },
          (err: unknown) => cb(err as Error),
        );
      },
    });
    this.server.on('error', (err) => this.logger.warn({ err }, 'inbound SMTP connection error'));
  }

  /** The whole message, or null when it exceeded the size limit (the rest is drained unread). */
  private receive(stream: SMTPServerDataStream): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= this.opts.maxBytes) chunks.push(c);
      });
      stream.on('end', () =>
        resolve(stream.sizeExceeded || size > this.opts.maxBytes ? null : Buffer.concat(chunks)),
      );
      stream.on('error', reject);
    });
  }

  async start(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.opts.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    const bound = (this.server.server.address() as AddressInfo).port;
    this.logger.info({ port: bound, domain: this.opts.domain }, 'inbound SMTP listening');
    return bound;
  }

  /** Stops accepting connections; sessions in flight get smtp-server's close timeout to finish. */
  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
