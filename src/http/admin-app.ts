import express, { type Router } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../shared/paths.js';
import { AppError } from '../shared/errors.js';

/** Where scripts/build-admin-if-stale.mjs puts the built app (never committed). */
export const ADMIN_DIST = path.join(projectRoot, 'admin', 'dist');

/**
 * The admin app at /admin: hashed assets cached for a year, every other path answered with
 * index.html so deep links (/admin/campaigns/ID) work. Its own CSP: scripts and API calls only
 * from this origin, inline styles for the editor, and mail previews in sandboxed frames.
 */
export function adminAppRouter(opts: { secure: boolean; dist?: string }): Router {
  const dist = opts.dist ?? ADMIN_DIST;
  const router = express.Router();
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: https:",
    "connect-src 'self'",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(opts.secure ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
  router.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp);
    next();
  });
  router.use(
    '/assets',
    express.static(path.join(dist, 'assets'), { immutable: true, maxAge: '365d', index: false }),
  );
  router.use(express.static(dist, { index: false, maxAge: 0 }));
  router.get('/{*rest}', (_req, res) => {
    const index = path.join(dist, 'index.html');
    if (!existsSync(index))
      throw new AppError(
        'unavailable',
        'the admin app is not built: run npm start (or npm run build:admin)',
      );
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}
