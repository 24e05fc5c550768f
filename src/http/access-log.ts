import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { redactUrl, type Logger } from '../shared/logger.js';

const requestIdPattern = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The request id (the caller's X-Request-Id when well formed, else a new one; echoed back and
 * named in audit entries) and one log line per answered request: `req` (id, method, URL with its
 * tokens redacted), `res` (status) and `responseTime` in ms, at `error` for a 5xx and `info`
 * otherwise. Nothing else is built per request unless the line is written: pino-http, used before,
 * made a child logger and ran serializers and redaction for every request even with logging off,
 * a measurable share of the CPU of an RFC 8058 one-click POST.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    const started = performance.now();
    res.on('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id, method: req.method, url: redactUrl(req.originalUrl) },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        },
        'request completed',
      );
    });
    next();
  };
}
