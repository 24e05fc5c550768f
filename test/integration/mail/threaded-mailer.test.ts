import { createServer, type AddressInfo } from 'node:net';
import { expect } from 'chai';
import { SMTPServer } from 'smtp-server';
import { createThreadedMailer } from '../../../src/mail/threaded-mailer.js';

const mail = { from: 'news@example.com', to: 'a@example.com', subject: 's', text: 't' };

/** A port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('threaded mailer', () => {
  let server: SMTPServer;
  let url: string;
  let reply: (() => Error | undefined) | undefined;

  before(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, cb) {
        stream.resume();
        stream.on('end', () => cb(reply?.()));
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends through the thread and answers with the relay reply and our Message-ID', async () => {
    reply = undefined;
    const mailer = createThreadedMailer({ url });
    try {
      const info = await mailer.send({ ...mail, messageId: '<x.y@example.com>' });
      expect(info.response).to.match(/^250 /);
      expect(info.messageId).to.equal('<x.y@example.com>');
      expect(info.accepted).to.deep.equal(['a@example.com']);
    } finally {
      mailer.close();
    }
  });

  it('passes the SMTP reply code and text of a refusal, as the send worker decides by them', async () => {
    const mailer = createThreadedMailer({ url });
    try {
      for (const code of [451, 550]) {
        reply = () => Object.assign(new Error(`${code} 4.7.1 no thanks`), { responseCode: code });
        const err = (await mailer.send(mail).catch((e: unknown) => e)) as {
          responseCode?: number;
          response?: string;
        };
        expect(err).to.be.instanceOf(Error);
        expect(err.responseCode).to.equal(code);
        expect(err.response).to.include('no thanks');
      }
    } finally {
      mailer.close();
    }
  });

  it('reports a relay that cannot be reached as ECONNECTION (nothing sent, safe to retry)', async () => {
    const mailer = createThreadedMailer({ url: `smtp://127.0.0.1:${await closedPort()}` });
    try {
      const err = (await mailer.send(mail).catch((e: unknown) => e)) as { code?: string };
      expect(err.code).to.equal('ECONNECTION');
    } finally {
      mailer.close();
    }
  });

  it('without SMTP_URL refuses to send with a clear error', async () => {
    const mailer = createThreadedMailer({ url: undefined });
    const err = (await mailer.send(mail).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/SMTP_URL is not set/);
  });
});
