import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { can, type Permission } from '../auth/permissions.js';
import type { AuthService } from '../auth/service.js';
import { SessionService } from '../auth/sessions.js';
import type { AuditLog } from '../privacy/audit.js';
import { AppError } from '../shared/errors.js';
import { SESSION_COOKIE, readCookie } from './cookies.js';
import { parseInput } from './validate.js';

/**
 * Who may call a route: holders of a permission; any signed-in staff member (their own session
 * and profile); or anyone (signing in).
 */
export type Access = Permission | 'signed-in' | 'public';

/**
 * One admin endpoint. Every route names the permission it needs; there is no way to mount an
 * admin route without one (test/unit/http/routes.test.ts walks the table).
 */
export interface RouteDef {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Relative to /api/v1. */
  path: string;
  permission: Access;
  handler: (req: Request, res: Response) => Promise<unknown> | unknown;
  /** Handlers that read the body themselves (streams: CSV, raw MIME) skip the JSON parser. */
  rawBody?: boolean;
  /**
   * The schemas the handler validates with (parseInput) and answers with; the OpenAPI document is
   * generated from them, so it cannot drift from what the code accepts.
   */
  summary?: string;
  body?: z.ZodType;
  query?: z.ZodType;
  response?: z.ZodType;
  /** Status of a successful answer when not 200 (201 created, 202 accepted, 204). */
  successStatus?: number;
}

export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  const match = header && /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1] : undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Sets req.actor from a bearer token (scripts) or else the session cookie (the admin app). A
 * cookie rides along on any request the browser makes, so every cookie write must also carry
 * the session's CSRF token, which only our own pages can read.
 */
async function identify(
  req: Request,
  identity: { auth: AuthService; sessions: SessionService },
): Promise<void> {
  const token = bearerToken(req);
  const cookie = token ? undefined : readCookie(req, SESSION_COOKIE);
  if (!cookie) {
    req.actor = await identity.auth.authenticate(token);
    return;
  }
  const session = await identity.sessions.authenticate(cookie);
  if (
    !SAFE_METHODS.has(req.method) &&
    !SessionService.csrfMatches(session, req.get('x-csrf-token'))
  )
    throw new AppError('forbidden', 'missing or wrong X-CSRF-Token header');
  req.actor = session.actor;
  req.staffSession = session;
}

export function mountAdminRoutes(
  router: Router,
  routes: RouteDef[],
  identity: { auth: AuthService; sessions: SessionService; audit: AuditLog },
  jsonParser: RequestHandler[],
): void {
  for (const route of routes) {
    const guard: RequestHandler = async (req, _res, next) => {
      if (route.permission === 'public') return next();
      await identify(req, identity);
      if (route.permission === 'signed-in') return next();
      if (req.staffSession?.mustEnrolTotp)
        throw new AppError('forbidden', 'set up two-factor sign-in first (required for admins)');
      if (!can(req.actor!.role, route.permission)) {
        // Who tried to reach what they may not (seed §7-9): the route, never the data asked for.
        await identity.audit.record(
          { actor: req.actor!, requestId: req.id },
          'access.refused',
          null,
          {
            method: req.method,
            route: route.path,
            permission: route.permission,
          },
        );
        throw new AppError(
          'forbidden',
          `role ${req.actor!.role} lacks permission ${route.permission}`,
        );
      }
      // Checked here too, before any body is read, so a bad query is named as one.
      if (route.query) parseInput(route.query, req.query, 'query');
      next();
    };
    const stack: RequestHandler[] = [guard];
    if (!route.rawBody) stack.push(...jsonParser);
    stack.push(async (req, res) => {
      await route.handler(req, res);
    });
    router[route.method](route.path, ...stack);
  }
}
