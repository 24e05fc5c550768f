import type { StaffActor } from '../auth/service.js';
import type { SessionActor } from '../auth/sessions.js';
import type { AuditContext } from '../privacy/audit.js';
import type { Request } from 'express';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set for every request by src/http/access-log.ts. */
    id: string;
    actor?: StaffActor;
    /** Set when the actor came from a session cookie rather than a bearer token. */
    staffSession?: SessionActor;
  }
}

/** The audit context of an authenticated admin request. */
export function auditContext(req: Request): AuditContext {
  if (!req.actor) throw new Error('auditContext on an unauthenticated request');
  return { actor: req.actor, requestId: String(req.id) };
}
