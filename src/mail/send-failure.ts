/**
 * What a failed SMTP send means for its recipient. A 5xx answer is final (`failed`). A 4xx answer,
 * no connection, or no relay configured means nothing was accepted, so sending again is safe
 * (`retry`). Anything else broke the connection with the message possibly on the wire: the
 * outcome is `unknown` and the mail must not be resent by itself.
 */
export interface SendFailure {
  status: 'failed' | 'retry' | 'unknown';
  /** The relay's reply, or the error's message when there was none. */
  reply: string;
  responseCode?: number;
  /** The error's code (nodemailer's, or Kirje's own), for logs. */
  code?: string;
}

export function sendFailureOf(err: unknown): SendFailure {
  const e = err as { responseCode?: number; response?: string; code?: string; message: string };
  const failure = { reply: e.response ?? e.message, responseCode: e.responseCode, code: e.code };
  if (e.responseCode && e.responseCode >= 500) return { status: 'failed', ...failure };
  if (
    (e.responseCode && e.responseCode >= 400) ||
    e.code === 'ECONNECTION' ||
    e.code === 'mail_not_configured'
  )
    return { status: 'retry', ...failure };
  return { status: 'unknown', ...failure };
}
