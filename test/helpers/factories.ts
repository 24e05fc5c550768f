import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import type { Role } from '../../src/auth/permissions.js';
import type { SubscriberDoc } from '../../src/db/models/subscriber.js';
import type { Services } from '../../src/services.js';
import type { NewSubscriber } from '../../src/subscribers/by-address.js';

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

/**
 * A subscriber stored as the services store one, for tests that seed the register directly.
 * Fails when the address is taken.
 */
export async function createSubscriber(
  services: Pick<Services, 'addresses'>,
  doc: Omit<NewSubscriber, '_id'> & Pick<SubscriberDoc, 'source' | 'status'>,
): Promise<Types.ObjectId> {
  const _id = new Types.ObjectId();
  const holder = await services.addresses.create({ ...doc, _id }, []);
  if (holder) throw new Error(`${doc.email} is already subscriber ${String(holder._id)}`);
  return _id;
}
