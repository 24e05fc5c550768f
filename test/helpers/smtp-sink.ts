import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface SunkMessage {
  raw: Buffer;
  parsed: ParsedMail;
  mailFrom: string;
  rcptTo: string[];
}

/** Lets a test answer a delivery with an SMTP error (e.g. 451 then 250). */
export type Responder = (
  rcpt: string,
  session: SMTPServerSession,
) => { code: number; message: string } | null;

/** A real SMTP server on a loopback port that keeps what it receives, parsed by mailparser. */
export class SmtpSink {
  readonly messages: SunkMessage[] = [];
  responder: Responder | null = null;
  private readonly server: SMTPServer;
  private waiters: Array<() => void> = [];
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo: (address, session, cb) => {
        const answer = this.responder?.(address.address, session);
        if (answer && answer.code >= 400) {
          const err = new Error(answer.message) as Error & { responseCode: number };
          err.responseCode = answer.code;
          return cb(err);
        }
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then((parsed) => {
            this.messages.push({
              raw,
              parsed,
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
            });
            this.waiters.forEach((w) => w());
            cb();
          }, cb);
        });
      },
    });
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    // A service killed mid-transaction resets its connection (the crash tests do so on purpose);
    // smtp-server reports that here, and unheard it would end the test process.
    this.server.on('error', () => {});
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  /** Resolves when at least `count` messages arrived, or rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 25_000): Promise<SunkMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`expected ${count} messages in the SMTP sink, got ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
      this.waiters = [];
    }
    return this.messages;
  }

  to(address: string): SunkMessage[] {
    return this.messages.filter((m) => m.rcptTo.includes(address));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
