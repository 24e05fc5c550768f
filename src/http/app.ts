import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Adapters, Services } from '../services.js';
import { AppError } from '../shared/errors.js';
import { trackingRouter } from '../campaigns/stats/routes.js';
import { subscribeRouter } from '../subscribe/routes.js';
import { unsubscribeRouter } from '../unsubscribe/routes.js';
import { accessLog } from './access-log.js';
import { adminAppRouter } from './admin-app.js';
import { adminRoutes } from './admin-routes.js';
import { errorHandler } from './error-handler.js';
import { openApiHandler } from './openapi.js';
import { mountAdminRoutes } from './routes.js';
import { findOperatorKey } from './validate.js';

export interface AppDeps extends Adapters {
  services: Services;
}

export const JSON_LIMIT = '1mb';

/** Parses a JSON body (bounded) and refuses `$operator` keys anywhere in body or query. */
export function jsonBody(limit = JSON_LIMIT): RequestHandler[] {
  return [express.json({ limit, strict: true }), rejectOperatorKeys];
}

/** The admin API reads JSON only: a body of any other type is refused, not taken as empty. */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  // req.is: null without a body, false for a body of another type; `Content-Length: 0` is a
  // body to it, but an empty one is what a POST that takes none sends.
  const empty = req.headers['content-length'] === '0';
  if (!empty && req.is(['application/json', 'application/*+json']) === false)
    throw new AppError('unsupported_media_type', 'send the body as application/json');
  next();
};

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

  app.use(accessLog(logger));
  // HSTS over plain HTTP is ignored at best and pins a wrong promise at worst: only behind https.
  app.use(helmet({ strictTransportSecurity: deps.config.baseUrl.startsWith('https:') }));

  app.get('/healthz', async (_req, res) => {
    const ok = await db.answersQuery();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', db: ok ? 'ok' : 'down' });
  });

  // Before the others: RFC 8058 one-click POSTs are the bulk of the traffic; no paths overlap.
  app.use(unsubscribeRouter(services.unsubscribePortal));
  app.use(trackingRouter(services.linkRedirects));

  const api = express.Router();
  const routes = adminRoutes(services);
  api.get('/openapi.json', openApiHandler(routes));
  mountAdminRoutes(api, routes, services, [requireJsonBody, ...jsonBody()]);
  app.use('/api/v1', api);
  app.use(subscribeRouter(services, deps.config));
  app.get('/', (_req, res) => res.redirect(302, '/admin/'));
  app.use('/admin', adminAppRouter({ secure: deps.config.baseUrl.startsWith('https:') }));

  app.use(() => {
    throw new AppError('not_found', 'no such route');
  });
  app.use(errorHandler(logger));
  return app;
}
