import type { Request, Response } from 'express';
import { z } from 'zod';
import { ROLES } from '../db/models/staff.js';
import { SESSION_COOKIE, sessionCookieOptions } from '../http/cookies.js';
import type { RouteDef } from '../http/routes.js';
import { auditContext } from '../http/types.js';
import { parseInput } from '../http/validate.js';
import type { AuditLog } from '../privacy/audit.js';
import { AppError } from '../shared/errors.js';
import { PERMISSIONS, ROLE_PERMISSIONS } from './permissions.js';
import type { SecondFactor } from './second-factor.js';
import type { AuthService } from './service.js';
import type { SessionService } from './sessions.js';

const locale = z.enum(['fi', 'en']);
const meView = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  locale,
  permissions: z.array(z.enum(PERMISSIONS)),
  totpEnabled: z.boolean(),
  mustEnrolTotp: z.boolean().meta({
    description: 'ADMIN_REQUIRE_2FA is on and this admin has no second factor: only /me works',
  }),
  csrfToken: z.string().nullable().meta({
    description: 'Send as X-CSRF-Token with every write made with the session cookie',
  }),
});
const signInBody = z.strictObject({
  email: z.string().max(254),
  password: z.string().max(1000),
  code: z
    .string()
    .max(40)
    .optional()
    .meta({ description: 'TOTP or recovery code, when the user has two-factor sign-in' }),
});
const meUpdateBody = z
  .strictObject({ locale: locale.optional(), name: z.string().trim().max(200).optional() })
  .refine((p) => Object.keys(p).length > 0, 'nothing to change');
const passwordBody = z.strictObject({ password: z.string().max(1000) });
const codeBody = z.strictObject({ code: z.string().max(40) });
const disableBody = z.strictObject({ password: z.string().max(1000), code: z.string().max(40) });

interface Deps {
  auth: AuthService;
  sessions: SessionService;
  secondFactor: SecondFactor;
  audit: AuditLog;
}

/** Sign-in, sign-out and the signed-in person's own profile and second factor. */
export function sessionRoutes(s: Deps): RouteDef[] {
  const me = async (req: Request) => {
    const user = await s.auth.getUser(req.actor!.userId);
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      locale: user.locale,
      permissions: [...ROLE_PERMISSIONS[user.role]],
      totpEnabled: user.totpEnabled,
      mustEnrolTotp: s.sessions.mustEnrolTotp(user),
      csrfToken: req.staffSession?.csrfToken ?? null,
    };
  };
  const checkPassword = async (req: Request, password: string) => {
    if (!(await s.auth.verifyPassword(req.actor!.email, password)))
      throw new AppError('forbidden', 'wrong password');
  };
  const clearCookie = (res: Response) =>
    res.clearCookie(SESSION_COOKIE, sessionCookieOptions(s.sessions.secureCookie));

  return [
    {
      method: 'post',
      path: '/session',
      permission: 'public',
      summary:
        'Sign in with email and password (and code): sets the session cookie. Throttled per ' +
        'address and per IP; one answer for unknown addresses and wrong passwords.',
      body: signInBody,
      response: meView,
      handler: async (req, res) => {
        const input = parseInput(signInBody, req.body);
        const signedIn = await s.sessions.signIn({
          ...input,
          ip: req.ip ?? '',
          userAgent: req.get('user-agent'),
          requestId: String(req.id),
        });
        res.cookie(
          SESSION_COOKIE,
          signedIn.cookieValue,
          sessionCookieOptions(s.sessions.secureCookie),
        );
        req.actor = signedIn.actor;
        res.json({ ...(await me(req)), csrfToken: signedIn.csrfToken });
      },
    },
    {
      method: 'delete',
      path: '/session',
      permission: 'signed-in',
      summary: 'Sign out this browser session',
      successStatus: 204,
      handler: async (req, res) => {
        if (req.staffSession) await s.sessions.signOut(req.staffSession.sessionId);
        clearCookie(res).status(204).end();
      },
    },
    {
      method: 'delete',
      path: '/sessions',
      permission: 'signed-in',
      summary: 'Sign out everywhere: ends every session of the signed-in staff member',
      response: z.object({ ended: z.number().int() }),
      handler: async (req, res) => {
        const ended = await s.sessions.signOutEverywhere(req.actor!.userId);
        await s.audit.record(auditContext(req), 'session.end-all', null, { ended });
        clearCookie(res).json({ ended });
      },
    },
    {
      method: 'get',
      path: '/me',
      permission: 'signed-in',
      summary: 'The signed-in staff member (or token owner), their permissions and CSRF token',
      response: meView,
      handler: async (req, res) => res.json(await me(req)),
    },
    {
      method: 'patch',
      path: '/me',
      permission: 'signed-in',
      summary: 'Change your own language or name',
      body: meUpdateBody,
      response: meView,
      handler: async (req, res) => {
        const patch = parseInput(meUpdateBody, req.body);
        await s.auth.updateUser(req.actor!.userId, {
          ...(patch.locale ? { locale: patch.locale } : {}),
          ...(patch.name !== undefined ? { name: patch.name } : {}),
        });
        res.json(await me(req));
      },
    },
    {
      method: 'post',
      path: '/me/totp',
      permission: 'signed-in',
      summary: 'Start setting up two-factor sign-in: a new secret to scan, pending a first code',
      body: passwordBody,
      response: z.object({ secret: z.string(), otpauthUri: z.string() }),
      handler: async (req, res) => {
        await checkPassword(req, parseInput(passwordBody, req.body).password);
        res.json(await s.secondFactor.begin(req.actor!.userId));
      },
    },
    {
      method: 'post',
      path: '/me/totp/confirm',
      permission: 'signed-in',
      summary: 'Turn two-factor sign-in on with a first code; answers recovery codes, shown once',
      body: codeBody,
      response: z.object({ recoveryCodes: z.array(z.string()) }),
      handler: async (req, res) => {
        const { code } = parseInput(codeBody, req.body);
        const recoveryCodes = await s.secondFactor.confirm(req.actor!.userId, code);
        await s.audit.record(auditContext(req), 'totp.enable', req.actor!.userId, {});
        res.json({ recoveryCodes });
      },
    },
    {
      method: 'post',
      path: '/me/totp/disable',
      permission: 'signed-in',
      summary: 'Turn two-factor sign-in off (not for admins when ADMIN_REQUIRE_2FA is on)',
      body: disableBody,
      successStatus: 204,
      handler: async (req, res) => {
        const { password, code } = parseInput(disableBody, req.body);
        if (s.sessions.require2fa && req.actor!.role === 'admin')
          throw new AppError('forbidden', 'admins must keep two-factor sign-in');
        await checkPassword(req, password);
        if (!(await s.secondFactor.verify(req.actor!.userId, code)))
          throw new AppError('forbidden', 'wrong code');
        await s.secondFactor.disable(req.actor!.userId);
        await s.audit.record(auditContext(req), 'totp.disable', req.actor!.userId, {});
        res.status(204).end();
      },
    },
  ];
}
