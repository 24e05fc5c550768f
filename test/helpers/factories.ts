import { randomBytes } from 'node:crypto';
import type { Role } from '../../src/auth/permissions.js';
import type { Services } from '../../src/services.js';

let seq = 0;

/** A unique address on example.com (RFC 2606), safe to mail in tests. */
export function email(prefix = 'person'): string {
  seq += 1;
  return `${prefix}${seq}.${randomBytes(3).toString('hex')}@example.com`;
}

/** A staff user of the role and a bearer token for them. */
export async function staffToken(
  services: Services,
  role: Role,
): Promise<{ userId: string; token: string }> {
  const user = await services.auth.createUser({ email: email(role), role, name: `Test ${role}` });
  const { token } = await services.auth.createToken(user.id, 'test');
  return { userId: user.id, token };
}
