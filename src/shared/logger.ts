import { pino, destination, type Logger } from 'pino';

export type { Logger };

/**
 * Paths never written to logs: credentials, tokens (they are bearer capabilities) and the
 * national identity number.
 */
const redact = [
  'req.headers.authorization',
  'req.headers.cookie',
  'password',
  'token',
  'hetu',
  '*.password',
  '*.token',
  '*.hetu',
];

/** `fd` 2 keeps stdout free for a command's own output (the CLI prints tokens there). */
export function createLogger(level: string, fd: 1 | 2 = 1): Logger {
  return pino(
    { level, redact: { paths: redact, censor: '[redacted]' }, base: { service: 'kirje' } },
    destination({ fd, sync: fd === 2 }),
  );
}

/** Tokens travel in URL paths (/u/:token); logs keep only the route shape. */
export function redactUrl(url: string): string {
  return url
    .replace(/^(\/u\/|\/subscribe\/confirm\/|\/r\/|\/o\/)[^/?#]+/, '$1[token]')
    .replace(/([?&](token|email)=)[^&#]*/gi, '$1[redacted]');
}
