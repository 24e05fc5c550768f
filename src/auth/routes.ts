import { z } from 'zod';
import { ROLES } from '../db/models/staff.js';
import type { RouteDef } from '../http/routes.js';
import { cursorQuery, dateTime, objectId, page, singleLine } from '../http/schemas.js';
import { auditContext } from '../http/types.js';
import { parseInput } from '../http/validate.js';
import type { StaffAdminService } from './admin.js';

export const userView = z.object({
  id: objectId,
  email: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  disabled: z.boolean(),
  locale: z.enum(['fi', 'en']),
  totpEnabled: z.boolean(),
  createdAt: dateTime,
});
const userListQuery = z.strictObject({ ...cursorQuery });
const userCreateBody = z.strictObject({
  email: z.string().max(254),
  name: singleLine(200).optional(),
  role: z.enum(ROLES),
  password: z.string().min(12).max(1000).optional(),
});
const userUpdateBody = z
  .strictObject({
    role: z.enum(ROLES).optional(),
    disabled: z.boolean().optional(),
    name: singleLine(200).optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'nothing to change');
const tokenCreateBody = z.strictObject({
  name: singleLine(100).min(1).optional(),
  expiresAt: z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 date and time' })
    .optional()
    .meta({ description: 'When the token stops working; absent: until revoked.' }),
});
const tokenView = z.object({
  id: objectId,
  name: z.string(),
  lastUsedAt: dateTime.nullable().optional(),
  expiresAt: dateTime.nullable().optional(),
  revokedAt: dateTime.nullable().optional(),
  createdAt: dateTime,
});
const newToken = z.object({
  id: objectId,
  name: z.string(),
  token: z.string().meta({ description: 'Shown once; only its hash is stored.' }),
  expiresAt: dateTime.nullable(),
});

/** Staff accounts and API tokens: admins only (seed §7-9, personal accounts). */
export function userRoutes(s: { staffAdmin: StaffAdminService }): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/users',
      permission: 'users.manage',
      summary: 'Staff users, oldest first, paged by cursor',
      query: userListQuery,
      response: page(userView),
      handler: async (req, res) =>
        res.json(await s.staffAdmin.list(parseInput(userListQuery, req.query))),
    },
    {
      method: 'post',
      path: '/users',
      permission: 'users.manage',
      summary: 'Create a staff user',
      body: userCreateBody,
      response: userView,
      successStatus: 201,
      handler: async (req, res) =>
        res
          .status(201)
          .json(await s.staffAdmin.create(auditContext(req), parseInput(userCreateBody, req.body))),
    },
    {
      method: 'patch',
      path: '/users/:id',
      permission: 'users.manage',
      summary: "Change a staff user's role, name or disabled flag",
      body: userUpdateBody,
      response: userView,
      handler: async (req, res) =>
        res.json(
          await s.staffAdmin.update(
            auditContext(req),
            String(req.params.id),
            parseInput(userUpdateBody, req.body),
          ),
        ),
    },
    {
      method: 'get',
      path: '/users/:id/tokens',
      permission: 'users.manage',
      summary: "List a staff user's API tokens (never the tokens themselves)",
      response: z.object({ items: z.array(tokenView) }),
      handler: async (req, res) =>
        res.json({ items: await s.staffAdmin.listTokens(String(req.params.id)) }),
    },
    {
      method: 'post',
      path: '/users/:id/tokens',
      permission: 'users.manage',
      summary: 'Create an API token for a staff user; the answer is the only time it is shown',
      body: tokenCreateBody,
      response: newToken,
      successStatus: 201,
      handler: async (req, res) => {
        const { name, expiresAt } = parseInput(tokenCreateBody, req.body ?? {});
        const created = await s.staffAdmin.createToken(
          auditContext(req),
          String(req.params.id),
          name,
          expiresAt === undefined ? undefined : new Date(expiresAt),
        );
        res.status(201).json(created);
      },
    },
    {
      method: 'delete',
      path: '/users/:id',
      permission: 'users.manage',
      summary: 'Remove a staff user and their API tokens (never the last enabled admin)',
      successStatus: 204,
      handler: async (req, res) => {
        await s.staffAdmin.remove(auditContext(req), String(req.params.id));
        res.status(204).end();
      },
    },
    {
      method: 'delete',
      path: '/tokens/:id',
      permission: 'users.manage',
      summary: 'Revoke an API token',
      successStatus: 204,
      handler: async (req, res) => {
        await s.staffAdmin.revokeToken(auditContext(req), String(req.params.id));
        res.status(204).end();
      },
    },
  ];
}
