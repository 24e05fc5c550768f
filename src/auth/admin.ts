import { setTimeout as sleep } from 'node:timers/promises';
import type { Claims } from '../db/claims.js';
import type { PageRequest } from '../db/keyset.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import type { Clock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';
import type { Role } from './permissions.js';
import type { AuthService, StaffUserView } from './service.js';

/** The lock every change that may leave no enabled admin takes (src/db/claims.ts). */
const ADMINS_LOCK = 'staff:admins';
// A holder that died frees the lock after this; a live one holds it for a few round trips.
const ADMINS_LOCK_LEASE_MS = 30_000;
const ADMINS_LOCK_WAIT_MS = 5_000;

/** User and token management by admins over the API; every change lands in the audit trail. */
export class StaffAdminService {
  constructor(
    private readonly auth: AuthService,
    private readonly audit: AuditLog,
    private readonly claims: Claims,
    private readonly clock: Clock,
  ) {}

  list(request: PageRequest): Promise<{ items: StaffUserView[]; nextCursor: string | null }> {
    return this.auth.usersPage(request);
  }

  async create(
    ctx: AuditContext,
    input: { email: string; name?: string | undefined; role: Role; password?: string | undefined },
  ): Promise<StaffUserView> {
    const user = await this.auth.createUser(input);
    await this.audit.record(ctx, 'staff.create', user.id, { role: user.role });
    return user;
  }

  async update(
    ctx: AuditContext,
    userId: string,
    patch: { role?: Role | undefined; disabled?: boolean | undefined; name?: string | undefined },
  ): Promise<StaffUserView> {
    const changes = stripUndefined(patch);
    const losesAdmin = (before: StaffUserView) =>
      before.role === 'admin' &&
      !before.disabled &&
      ((changes.role !== undefined && changes.role !== 'admin') || changes.disabled === true);
    const user = await this.keepingAnAdmin(userId, losesAdmin, () =>
      this.auth.updateUser(userId, changes),
    );
    await this.audit.record(ctx, 'staff.update', userId, {
      fields: Object.keys(changes),
      role: user.role,
      disabled: user.disabled,
    });
    return user;
  }

  /** Removes a staff user and their API tokens; the audit trail keeps what they did. */
  async remove(ctx: AuditContext, userId: string): Promise<void> {
    const removed = await this.keepingAnAdmin(
      userId,
      (before) => before.role === 'admin' && !before.disabled,
      () => this.auth.deleteUser(userId),
    );
    await this.audit.record(ctx, 'staff.delete', userId, { role: removed.role });
  }

  /**
   * Applies a change to a staff user unless it would leave no enabled admin. A change that takes
   * an enabled admin away runs under one lock, so two admins disabling, demoting or deleting each
   * other at once cannot both pass the count: the second sees the first's result and gets 409.
   * The lock is a unique insert: a filtered update decides no race (docs/database.md).
   */
  private async keepingAnAdmin<T>(
    userId: string,
    losesAdmin: (before: StaffUserView) => boolean,
    change: () => Promise<T>,
  ): Promise<T> {
    if (!losesAdmin(await this.auth.getUser(userId))) return change();
    const lease = await this.takeAdminsLock();
    try {
      // Read again under the lock: the user may have changed while we waited.
      if (
        losesAdmin(await this.auth.getUser(userId)) &&
        (await this.auth.countOtherAdmins(userId)) === 0
      )
        throw new AppError(
          'invalid_state',
          'the last enabled admin cannot be demoted, disabled or removed',
        );
      return await change();
    } finally {
      await this.claims.release(lease);
    }
  }

  private async takeAdminsLock(): Promise<string> {
    const giveUpAt = Date.now() + ADMINS_LOCK_WAIT_MS;
    for (;;) {
      const lease = await this.claims.lease(ADMINS_LOCK, ADMINS_LOCK_LEASE_MS, this.clock.now(), {
        owner: 'staff-admin',
      });
      if (lease) return lease;
      if (Date.now() > giveUpAt)
        throw new AppError('conflict', 'another change to the admins is under way; try again');
      await sleep(20 + Math.random() * 30);
    }
  }

  async listTokens(userId: string) {
    await this.auth.getUser(userId);
    return this.auth.listTokens(userId);
  }

  async createToken(
    ctx: AuditContext,
    userId: string,
    name: string | undefined,
    expiresAt?: Date,
  ): Promise<{ id: string; token: string; name: string; expiresAt: Date | null }> {
    const { id, token } = await this.auth.createToken(userId, name, expiresAt);
    await this.audit.record(ctx, 'token.create', userId, { tokenId: id, expiresAt });
    return { id, token, name: name ?? 'default', expiresAt: expiresAt ?? null };
  }

  async revokeToken(ctx: AuditContext, tokenId: string): Promise<void> {
    await this.auth.revokeToken(tokenId);
    await this.audit.record(ctx, 'token.revoke', null, { tokenId });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
