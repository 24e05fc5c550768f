import { connect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

export interface SmtpRelay {
  host: string;
  port: number;
  /** Implicit TLS (smtps); otherwise STARTTLS is used whenever the relay offers it. */
  secure: boolean;
  auth?: { user: string; pass: string };
}

export interface SmtpEnvelope {
  /** '' for the null return path. */
  from: string;
  to: string[];
}

/** The relay's answer to an accepted transaction. */
export interface SmtpAcceptance {
  response: string;
  accepted: string[];
  rejected: string[];
}

type SmtpError = Error & { code?: string; responseCode?: number; response?: string };

interface PooledConnection {
  smtp: SMTPConnection;
  /** Ends whatever the connection is doing now (connecting, a transaction): set while it runs. */
  settle?: (err: SmtpError | null, info?: SMTPConnection.SentMessageInfo) => void;
  counted: boolean;
  /** Whether the current transaction's message has been taken to go after DATA. */
  handedOver?: boolean;
}

const CONNECT_TIMEOUT_MS = 30_000;

/**
 * Up to `maxConnections` connections to one relay, each carrying one transaction at a time and
 * kept open between transactions. Built on nodemailer's SMTPConnection rather than its pooled
 * transport, which builds a MIME tree, a message id and a boundary even for a finished message
 * and could queue a message again when its connection closed mid-send (BENCHMARKS.md).
 *
 * Failures say what is safe to repeat (src/mail/send-failure.ts): no connection (nothing was
 * sent, also when a connection is lost before the relay accepted the envelope) is `ECONNECTION`;
 * the relay's refusal keeps its reply code and text; a connection lost once the message was handed
 * over is `ECONNLOST`, since the message may have been delivered.
 */
export class SmtpConnectionPool {
  private readonly idle: PooledConnection[] = [];
  private readonly waiting: Array<{
    resolve(connection: PooledConnection): void;
    reject(err: Error): void;
  }> = [];
  private opened = 0;
  private closed = false;

  constructor(
    private readonly relay: SmtpRelay,
    private readonly maxConnections: number,
  ) {}

  async send(envelope: SmtpEnvelope, message: string | Buffer | Readable): Promise<SmtpAcceptance> {
    const connection = await this.acquire();
    try {
      const info = await this.transact(connection, envelope, message);
      this.release(connection);
      return { response: info.response, accepted: info.accepted, rejected: info.rejected };
    } catch (err) {
      const refused = (err as SmtpError).responseCode !== undefined;
      // After a refusal the session is still good once reset; anything else ends it.
      if (refused && !connection.smtp.destroyed) this.resetAndRelease(connection);
      else this.forget(connection);
      throw err;
    }
  }

  /** Quits idle connections now and busy ones when their transaction ends; later sends fail. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(closedError());
    for (const connection of this.idle.splice(0)) {
      this.uncount(connection);
      connection.smtp.quit();
    }
  }

  private acquire(): Promise<PooledConnection> {
    if (this.closed) return Promise.reject(closedError());
    const ready = this.idle.pop();
    if (ready) return Promise.resolve(ready);
    if (this.opened < this.maxConnections) return this.openCounted();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(connection: PooledConnection): void {
    if (this.closed || !connection.counted) {
      this.forget(connection);
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve(connection);
    else this.idle.push(connection);
  }

  private resetAndRelease(connection: PooledConnection): void {
    connection.settle = (err) => {
      connection.settle = undefined;
      if (err) this.forget(connection);
      else this.release(connection);
    };
    connection.smtp.reset((err) => connection.settle?.(err ?? null));
  }

  /** Closes a connection for good and hands its slot to the next waiter, if any. */
  private forget(connection: PooledConnection): void {
    connection.settle = undefined;
    this.uncount(connection);
    if (!connection.smtp.destroyed) connection.smtp.close();
  }

  private uncount(connection: PooledConnection): void {
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    if (!connection.counted) return;
    connection.counted = false;
    this.opened--;
    this.openForNextWaiter();
  }

  private async openCounted(): Promise<PooledConnection> {
    this.opened++;
    try {
      return await this.open();
    } catch (err) {
      this.opened--;
      this.openForNextWaiter();
      throw err;
    }
  }

  /** A freed slot: the next send waiting for a connection gets a new one. */
  private openForNextWaiter(): void {
    const waiter = this.waiting.shift();
    if (waiter) this.openCounted().then(waiter.resolve, waiter.reject);
  }

  /** A connected, greeted and (with credentials) logged-in session. */
  private async open(): Promise<PooledConnection> {
    const { host, port, secure, auth } = this.relay;
    const socket = await connectNoDelay(host, port);
    const smtp = new SMTPConnection({
      connection: socket,
      host,
      port,
      secure,
      // A local relay typically has a self-signed certificate; STARTTLS is still attempted.
      tls: { rejectUnauthorized: false },
    });
    // Counted in `opened` by openCounted() until it is connected, then by itself.
    const connection: PooledConnection = { smtp, counted: false };
    smtp.on('error', (err) => this.lost(connection, err));
    smtp.on('end', () => this.lost(connection, new Error('the relay closed the connection')));
    try {
      await new Promise<void>((resolve, reject) => {
        connection.settle = (err) => (err ? reject(err) : resolve());
        smtp.connect(() => connection.settle?.(null));
      });
      if (auth && (smtp as SMTPConnection & { allowsAuth: boolean }).allowsAuth) {
        await new Promise<void>((resolve, reject) => {
          connection.settle = (err) => (err ? reject(err) : resolve());
          smtp.login(auth, (err) => connection.settle?.(err ?? null));
        });
      }
    } catch (err) {
      smtp.close();
      throw asNothingSent(err as SmtpError);
    } finally {
      connection.settle = undefined;
    }
    connection.counted = true;
    return connection;
  }

  private transact(
    connection: PooledConnection,
    envelope: SmtpEnvelope,
    message: string | Buffer | Readable,
  ): Promise<SMTPConnection.SentMessageInfo> {
    return new Promise((resolve, reject) => {
      connection.handedOver = false;
      connection.settle = (err, info) => {
        connection.settle = undefined;
        if (err) reject(err);
        else resolve(info!);
      };
      connection.smtp.send(
        envelope,
        handOverMarker(message, () => (connection.handedOver = true)),
        (err, info) => connection.settle?.(err, info),
      );
    });
  }

  /**
   * The connection failed or closed: whatever it was doing ends, and it leaves the pool. Lost
   * before the message was handed over (a session the relay had just closed), nothing was sent.
   */
  private lost(connection: PooledConnection, err: SmtpError): void {
    const settle = connection.settle;
    this.forget(connection);
    if (!settle) return;
    if (err.responseCode !== undefined) settle(err);
    else if (!connection.handedOver) settle(Object.assign(err, { code: 'ECONNECTION' }));
    else
      settle(
        Object.assign(new Error(`connection lost during the transaction: ${err.message}`), {
          code: 'ECONNLOST',
        }),
      );
  }
}

/**
 * The message as SMTPConnection takes it, noting when it is taken: SMTPConnection pipes a message
 * only once the relay has accepted the envelope, so before that a lost connection sent nothing.
 */
function handOverMarker(message: string | Buffer | Readable, onHandOver: () => void): Readable {
  const stream = typeof message === 'string' || Buffer.isBuffer(message) ? undefined : message;
  const marker = {
    pipe<T extends Writable>(destination: T): T {
      onHandOver();
      if (stream) return stream.pipe(destination);
      destination.end(message);
      return destination;
    },
    on(event: string, listener: (...args: unknown[]) => void) {
      stream?.on(event, listener);
      return marker;
    },
  };
  return marker as unknown as Readable;
}

/**
 * A failure before any transaction began: nothing was sent. A refusal keeps its reply code (a
 * 421 greeting, a 535 login); anything else is reported as no connection.
 */
function asNothingSent(err: SmtpError): SmtpError {
  if (err.responseCode !== undefined) return err;
  return Object.assign(err, { code: 'ECONNECTION' });
}

/** What a send to a closed mailer fails with: nothing was sent, so trying again is safe. */
export function closedError(): SmtpError {
  return Object.assign(new Error('the mailer is closed: nothing was sent'), {
    code: 'ECONNECTION',
  });
}

/**
 * A TCP connection with Nagle's algorithm off. With it on, the short last segment of each
 * message waits for the relay to acknowledge the rest, and a relay that answers only once the
 * message is complete delays that acknowledgement (40 ms on Linux), which caps each connection
 * at a few dozen mails a second.
 */
export function connectNoDelay(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    const fail = (err: Error) => {
      socket.destroy();
      reject(Object.assign(err, { code: 'ECONNECTION' }));
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => fail(new Error('Connection timeout')));
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeListener('error', fail);
      resolve(socket);
    });
  });
}
