import { createServer, type AddressInfo, type Socket } from 'node:net';
import { expect } from 'chai';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { sendFailureOf } from '../../../src/mail/send-failure.js';
import { SmtpConnectionPool } from '../../../src/mail/smtp-pool.js';

const raw = (n: number) => `Subject: pool ${n}\r\nFrom: news@example.com\r\n\r\nbody ${n}\r\n`;
const to = (n: number) => ({ from: 'bounces@example.com', to: [`r${n}@example.com`] });

/** A relay on loopback that records sessions and delivered messages. */
async function startRelay(options: Partial<SMTPServerOptions> = {}) {
  const sessions: string[] = [];
  const delivered: Array<{ session: string; to: string; text: string }> = [];
  const sockets = new Set<Socket>();
  let onMessage: ((recipient: string) => Error | 'drop' | undefined) | undefined;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(session, cb) {
      sessions.push(session.id);
      cb();
    },
    onRcptTo(address, _session, cb) {
      cb(
        address.address.startsWith('refused')
          ? Object.assign(new Error('no such user'), { responseCode: 550 })
          : undefined,
      );
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const recipient = session.envelope.rcptTo[0]!.address;
        const verdict = onMessage?.(recipient);
        if (verdict === 'drop') {
          // The message arrived whole, but the answer never leaves: the sender cannot know.
          for (const socket of sockets) socket.destroy();
          return;
        }
        if (!verdict)
          delivered.push({
            session: session.id,
            to: recipient,
            text: Buffer.concat(chunks).toString(),
          });
        cb(verdict);
      });
    },
    ...options,
  });
  server.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    sessions,
    delivered,
    dropAllConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    answer: (judge: typeof onMessage) => (onMessage = judge),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Relay = Awaited<ReturnType<typeof startRelay>>;

describe('SMTP connection pool', () => {
  let relay: Relay;
  let pool: SmtpConnectionPool;

  const open = (maxConnections: number, extra: { auth?: { user: string; pass: string } } = {}) =>
    (pool = new SmtpConnectionPool(
      { host: '127.0.0.1', port: relay.port, secure: false, ...extra },
      maxConnections,
    ));

  beforeEach(async () => {
    relay = await startRelay();
  });
  afterEach(async () => {
    pool?.close();
    await relay.stop();
  });

  it('carries many transactions over at most maxConnections sessions, each message once', async () => {
    open(3);
    await Promise.all(Array.from({ length: 30 }, (_, n) => pool.send(to(n), raw(n))));
    expect(relay.delivered.map((d) => d.to).sort()).to.deep.equal(
      Array.from({ length: 30 }, (_, n) => `r${n}@example.com`).sort(),
    );
    expect(relay.delivered[7]!.text).to.contain('body');
    expect(relay.sessions.length).to.be.at.most(3);
  });

  it('keeps the session after a refused recipient: the reply code is passed on, and the next mail goes through it', async () => {
    open(1);
    const refusal = await pool
      .send({ from: 'bounces@example.com', to: ['refused@example.com'] }, raw(1))
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(sendFailureOf(refusal)).to.include({ status: 'failed', responseCode: 550 });
    await pool.send(to(2), raw(2));
    expect(relay.delivered.map((d) => d.to)).to.deep.equal(['r2@example.com']);
    expect(relay.sessions).to.have.length(1);
  });

  it('passes a temporary refusal of the message on as retry', async () => {
    open(1);
    relay.answer(() => Object.assign(new Error('try later'), { responseCode: 451 }));
    const err = await pool.send(to(1), raw(1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(sendFailureOf(err)).to.include({ status: 'retry', responseCode: 451 });
  });

  it('reports a connection lost after the message was handed over as unknown, never as safe to repeat', async () => {
    open(1);
    relay.answer(() => 'drop');
    const err = await pool.send(to(1), raw(1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { code?: string }).code).to.equal('ECONNLOST');
    expect(sendFailureOf(err).status).to.equal('unknown');
    // The pool recovers with a new session.
    relay.answer(undefined);
    await pool.send(to(2), raw(2));
    expect(relay.delivered.map((d) => d.to)).to.deep.equal(['r2@example.com']);
  });

  it('opens a new session when the relay closed an idle one; a send that raced the close is safe to repeat', async () => {
    open(2);
    await Promise.all([pool.send(to(1), raw(1)), pool.send(to(2), raw(2))]);
    relay.dropAllConnections();
    // Sent at once, these may still take the closed sessions: nothing was handed over then.
    const raced = await Promise.all(
      [3, 4].map((n) =>
        pool.send(to(n), raw(n)).then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    );
    for (const err of raced.filter(Boolean)) expect(sendFailureOf(err).status).to.equal('retry');
    await Promise.all([pool.send(to(5), raw(5)), pool.send(to(6), raw(6))]);
    const delivered = relay.delivered.map((d) => d.to);
    expect(delivered).to.include.members(['r1', 'r2', 'r5', 'r6'].map((r) => `${r}@example.com`));
    expect(delivered.length).to.equal(4 + raced.filter((e) => !e).length);
  });

  it('reports a relay that cannot be reached as ECONNECTION: nothing was sent, a retry is safe', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const unreachable = new SmtpConnectionPool({ host: '127.0.0.1', port, secure: false }, 2);
    const errors = await Promise.all(
      [1, 2, 3].map((n) =>
        unreachable.send(to(n), raw(n)).then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    );
    for (const err of errors) {
      expect((err as { code?: string }).code).to.equal('ECONNECTION');
      expect(sendFailureOf(err).status).to.equal('retry');
    }
  });

  it('logs in when the relay asks for credentials, and refuses wrong ones with the relay reply', async () => {
    await relay.stop();
    relay = await startRelay({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, cb) {
        if (auth.username === 'kirje' && auth.password === 's3cret') cb(null, { user: 'kirje' });
        else cb(Object.assign(new Error('bad credentials'), { responseCode: 535 }));
      },
    });
    open(1, { auth: { user: 'kirje', pass: 's3cret' } });
    await pool.send(to(1), raw(1));
    expect(relay.delivered.map((d) => d.to)).to.deep.equal(['r1@example.com']);

    const wrong = new SmtpConnectionPool(
      { host: '127.0.0.1', port: relay.port, secure: false, auth: { user: 'kirje', pass: 'nope' } },
      1,
    );
    const err = await wrong.send(to(2), raw(2)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { responseCode?: number }).responseCode).to.equal(535);
    wrong.close();
  });

  it('after close, fails later sends as not sent', async () => {
    open(1);
    await pool.send(to(1), raw(1));
    pool.close();
    const err = await pool.send(to(2), raw(2)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(sendFailureOf(err).status).to.equal('retry');
    expect(relay.delivered).to.have.length(1);
  });
});
