import type { ErrorRequestHandler, Response } from 'express';
import { AppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { pageContentSecurityPolicy, renderErrorPage } from './pages.js';

interface HttpErrorLike {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

/** body-parser and friends throw errors with a status and a type; they are client errors. */
function fromParserError(err: HttpErrorLike): AppError | null {
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError('bad_request', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new AppError('payload_too_large', 'the request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', 'unsupported body encoding or charset');
    case 'request.aborted':
      return new AppError('bad_request', 'the request was aborted');
    default: {
      const status = err.status ?? err.statusCode;
      if (status && status >= 400 && status < 500 && err.expose) {
        return new AppError(
          status === 413 ? 'payload_too_large' : 'bad_request',
          (err as Error).message,
        );
      }
      return null;
    }
  }
}

/**
 * Public pages (`res.locals.htmlErrors`) get an HTML page, everything else the JSON error shape.
 * A path that is not valid percent-encoding fails while the router matches it, before any route
 * could say which it is; outside /api/ it is taken for a page.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res: Response, _next) => {
    const badPath = err instanceof URIError;
    const appError =
      err instanceof AppError
        ? err
        : badPath
          ? new AppError('bad_request', 'the path is not valid percent-encoding')
          : fromParserError(err as HttpErrorLike);
    const status = appError?.status ?? 500;
    if (status >= 500) logger.error({ err, reqId: req.id }, 'request failed');
    const code = appError?.code ?? 'internal';
    const message = appError?.message ?? 'internal error';
    if (res.headersSent) return;
    if (res.locals.htmlErrors || (badPath && !req.path.startsWith('/api/'))) {
      res.setHeader('Content-Security-Policy', pageContentSecurityPolicy());
      res.status(status).type('html').send(renderErrorPage(status, res.locals.locale));
      return;
    }
    // RFC 9110 §11.6.1: a 401 names the scheme that would be accepted.
    if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="kirje"');
    const body: Record<string, unknown> = { code, message };
    if (appError?.details) Object.assign(body, appError.details);
    res.status(status).json({ error: body });
  };
}
