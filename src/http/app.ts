import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Adapters, Services } from '../services.js';
import { AppError } from '../shared/errors.js';
import { subscribeRouter } from '../subscribe/routes.js';
import { unsubscribeRouter } from '../unsubscribe/routes.js';
import { redactUrl } from '../shared/logger.js';
import { adminRoutes } from './admin-routes.js';
import { errorHandler } from './error-handler.js';
import { mountAdminRoutes } from './routes.js';
import { findOperatorKey } from './validate.js';

export interface AppDeps extends Adapters {
  services: Services;
}

export const JSON_LIMIT = '1mb';

const requestIdPattern = /^[A-Za-z0-9._-]{1,64}$/;

/** Parses a JSON body (bounded) and refuses `$operator` keys anywhere in body or query. */
export function jsonBody(limit = JSON_LIMIT): RequestHandler[] {
  return [express.json({ limit, strict: true }), rejectOperatorKeys];
}

export const rejectOperatorKeys: RequestHandler = (req, _res, next) => {
  const key = findOperatorKey(req.body) ?? findOperatorKey(req.query);
  if (key)
    throw new AppError('bad_request', `field names starting with "$" are not allowed (${key})`);
  next();
};

export function createApp(deps: AppDeps): Express {
  const { logger, db, services } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: redactUrl(req.url),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    }),
  );
  app.use(helmet());

  app.get('/healthz', async (_req, res) => {
    const ok = await db.ping();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', db: ok ? 'ok' : 'down' });
  });

  const api = express.Router();
  mountAdminRoutes(api, adminRoutes(services), services.auth, jsonBody());
  app.use('/api/v1', api);
  app.use(subscribeRouter(services, deps.config));
  app.use(unsubscribeRouter(services.unsubscribePortal));

  app.use(() => {
    throw new AppError('not_found', 'no such route');
  });
  app.use(errorHandler(logger));
  return app;
}
