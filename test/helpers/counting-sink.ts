import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * A lean SMTP sink for crash tests and benchmarks: it keeps only envelopes, can be slowed, and can
 * hold its answers. A message counts as delivered only once the 250 reply goes out on a connection
 * that is still open, as a real MTA commits it: a client killed while waiting delivered nothing.
 */
export class CountingSink {
  /** Recipient of every delivered message, in order; duplicates stay visible. */
  readonly delivered: string[] = [];
  delayMs = 0;
  private held = false;
  /** Once this many are delivered, answers are held (see holdAfter). */
  private holdAt = Infinity;
  private waiting: Array<() => void> = [];
  /** Recipients of the messages whose answer is being held. */
  private readonly holding = new Map<string, string[]>();
  private readonly open = new Set<string>();
  private readonly closed = new Set<string>();
  private readonly server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      maxClients: 200,
      onConnect: (session, cb) => {
        this.open.add(session.id);
        cb();
      },
      onClose: (session) => {
        this.open.delete(session.id);
        this.closed.add(session.id);
      },
      onData: (stream, session, cb) => {
        stream.on('data', () => {});
        stream.on('end', async () => {
          if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
          if (this.delivered.length >= this.holdAt) this.held = true;
          if (this.held) {
            this.holding.set(
              session.id,
              session.envelope.rcptTo.map((r) => r.address),
            );
            while (this.held) await new Promise<void>((r) => this.waiting.push(r));
            this.holding.delete(session.id);
          }
          if (this.closed.has(session.id)) return cb(new Error('connection gone'));
          for (const r of session.envelope.rcptTo) this.delivered.push(r.address);
          cb();
        });
      },
    });
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Transactions in flight from now on wait for `release()`. */
  hold(): void {
    this.held = true;
  }

  /**
   * Holds every answer once `count` messages are delivered: the sink stops at that count however
   * slowly the test itself gets to look (a busy machine can stall it for seconds).
   */
  holdAfter(count: number): void {
    this.holdAt = count;
  }

  release(): void {
    this.holdAt = Infinity;
    this.held = false;
    this.waiting.splice(0).forEach((w) => w());
  }

  get heldCount(): number {
    return this.waiting.length;
  }

  /** Recipients of the messages whose answer is being held now. */
  get heldRecipients(): string[] {
    return [...this.holding.values()].flat();
  }

  /** Client connections open now. */
  get connections(): number {
    return this.open.size;
  }

  async start(): Promise<this> {
    // A killed client resets its connections; that is the point of the crash tests, not a failure.
    this.server.on('error', () => {});
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.release();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
