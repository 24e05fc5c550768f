import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { can, type Permission } from '../auth/permissions.js';
import type { AuthService } from '../auth/service.js';
import type { AuditLog } from '../privacy/audit.js';
import { AppError } from '../shared/errors.js';
import { parseInput } from './validate.js';

/**
 * One admin endpoint. Every route names the permission it needs; there is no way to mount an
 * admin route without one (test/unit/http/routes.test.ts walks the table).
 */
export interface RouteDef {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Relative to /api/v1. */
  path: string;
  permission: Permission;
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

export function mountAdminRoutes(
  router: Router,
  routes: RouteDef[],
  auth: AuthService,
  audit: AuditLog,
  jsonParser: RequestHandler[],
): void {
  for (const route of routes) {
    const guard: RequestHandler = async (req, _res, next) => {
      req.actor = await auth.authenticate(bearerToken(req));
      if (!can(req.actor.role, route.permission)) {
        // Who tried to reach what they may not (seed §7-9): the route, never the data asked for.
        await audit.record({ actor: req.actor, requestId: req.id }, 'access.refused', null, {
          method: req.method,
          route: route.path,
          permission: route.permission,
        });
        throw new AppError(
          'forbidden',
          `role ${req.actor.role} lacks permission ${route.permission}`,
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
