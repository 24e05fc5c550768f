import { parentPort, workerData } from 'node:worker_threads';
import type { SendMailOptions } from 'nodemailer';
import { createSmtpMailer, type SmtpMailerOptions } from './mailer.js';
import type { ThreadReply } from './threaded-mailer.js';

/**
 * The body of the mail thread (src/mail/threaded-mailer.ts): the SMTP connection pool, MIME
 * building of system mails and DKIM signing, off the thread that serves HTTP and the database.
 */
const port = parentPort!;
const mailer = createSmtpMailer(workerData as SmtpMailerOptions);

port.on('message', (msg: { id: number; message: SendMailOptions } | 'close') => {
  if (msg === 'close') {
    mailer.close();
    port.close();
    return;
  }
  mailer.send(msg.message).then(
    (info) => port.postMessage({ id: msg.id, info } satisfies ThreadReply),
    (err: unknown) => port.postMessage({ id: msg.id, error: plain(err) } satisfies ThreadReply),
  );
});

/** What the send worker reads of a failure: a thread passes only plain data, not Error subclasses. */
function plain(err: unknown): NonNullable<ThreadReply['error']> {
  const e = err as { message?: string; code?: string; responseCode?: number; response?: string };
  return {
    message: e.message ?? String(err),
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.responseCode !== undefined ? { responseCode: e.responseCode } : {}),
    ...(e.response !== undefined ? { response: e.response } : {}),
  };
}
