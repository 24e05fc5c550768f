import type { AuditContext, AuditLog } from '../privacy/audit.js';
import { AppError } from '../shared/errors.js';
import type { Role } from './permissions.js';
import type { AuthService, StaffUserView } from './service.js';

/** User and token management by admins over the API; every change lands in the audit trail. */
export class StaffAdminService {
  constructor(
    private readonly auth: AuthService,
    private readonly audit: AuditLog,
  ) {}

  list(): Promise<StaffUserView[]> {
    return this.auth.listUsers();
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
    const before = await this.auth.getUser(userId);
    const losesAdmin =
      before.role === 'admin' &&
      !before.disabled &&
      ((patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true);
    if (losesAdmin && (await this.auth.countOtherAdmins(userId)) === 0)
      throw new AppError('invalid_state', 'the last enabled admin cannot be demoted or disabled');
    const user = await this.auth.updateUser(userId, stripUndefined(patch));
    await this.audit.record(ctx, 'staff.update', userId, {
      fields: Object.keys(stripUndefined(patch)),
      role: user.role,
      disabled: user.disabled,
    });
    return user;
  }

  async listTokens(userId: string) {
    await this.auth.getUser(userId);
    return this.auth.listTokens(userId);
  }

  async createToken(
    ctx: AuditContext,
    userId: string,
    name: string | undefined,
  ): Promise<{ id: string; token: string; name: string }> {
    const { id, token } = await this.auth.createToken(userId, name);
    await this.audit.record(ctx, 'token.create', userId, { tokenId: id });
    return { id, token, name: name ?? 'default' };
  }

  async revokeToken(ctx: AuditContext, tokenId: string): Promise<void> {
    await this.auth.revokeToken(tokenId);
    await this.audit.record(ctx, 'token.revoke', null, { tokenId });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
