import { ROLES, type Role } from '../db/models/staff.js';

/**
 * The one table of who may do what (seed §7-9: personal accounts and permissions, personal data
 * for sales and marketing staff only). Routes name one of these; src/http/routes.ts enforces it.
 */
export const PERMISSIONS = [
  'lists.read',
  'lists.write',
  'subscribers.read',
  'subscribers.write',
  'subscribers.import',
  'subscribers.export',
  'orders.read',
  'orders.write',
  'segments.read',
  'segments.write',
  'templates.read',
  'templates.write',
  'campaigns.read',
  'campaigns.write',
  'campaigns.send',
  'automations.read',
  'automations.write',
  'inbound.read',
  'inbound.write',
  'privacy.read',
  'privacy.write',
  'audit.read',
  'users.manage',
  'webhooks.manage',
  'pii.hetu.read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const marketing: Permission[] = [
  'lists.read',
  'lists.write',
  'subscribers.read',
  'subscribers.write',
  'subscribers.import',
  'subscribers.export',
  'orders.read',
  'segments.read',
  'segments.write',
  'templates.read',
  'templates.write',
  'campaigns.read',
  'campaigns.write',
  'campaigns.send',
  'automations.read',
  'automations.write',
  'inbound.read',
  'inbound.write',
];

// Sales keep customer records and orders and handle credit purchases (hence the identity
// number), but send no campaigns.
const sales: Permission[] = [
  'lists.read',
  'subscribers.read',
  'subscribers.write',
  'orders.read',
  'orders.write',
  'segments.read',
  'campaigns.read',
  'privacy.read',
  'privacy.write',
  'pii.hetu.read',
];

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(PERMISSIONS),
  marketing: new Set(marketing),
  sales: new Set(sales),
  // Auditors read the trail and nothing personal beyond it.
  auditor: new Set<Permission>(['audit.read']),
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

export { ROLES, type Role };
