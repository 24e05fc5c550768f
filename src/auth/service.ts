import argon2 from 'argon2';
import { createHash, randomBytes } from 'node:crypto';
import { readPage, type PageRequest } from '../db/keyset.js';
import type { Models } from '../db/models/index.js';
import type { Role } from '../db/models/staff.js';
import type { Clock } from '../shared/clock.js';
import { normaliseEmail } from '../shared/email.js';
import { AppError, badRequest, conflict, isDuplicateKey, notFound } from '../shared/errors.js';

/** Who is acting; passed from the HTTP layer (or the CLI) into services that audit. */
export interface StaffActor {
  type: 'staff';
  userId: string;
  email: string;
  role: Role;
}

export interface StaffUserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  locale: StaffLocale;
  totpEnabled: boolean;
  createdAt: Date;
}

export type StaffLocale = 'fi' | 'en';

const TOKEN_PREFIX = 'kirje_';
const MIN_PASSWORD = 12;
const USERS_PAGE = 50;
let dummy: Promise<string> | undefined;
const dummyHash = () =>
  (dummy ??= argon2.hash(randomBytes(16).toString('hex'), { type: argon2.argon2id }));
const isObjectId = (id: string) => /^[0-9a-f]{24}$/.test(id);
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
// Last-used times are informative; writing them on every request would double the write load.
const LAST_USED_RESOLUTION_MS = 60_000;

export class AuthService {
  constructor(
    private readonly models: Pick<Models, 'StaffUser' | 'ApiToken'>,
    private readonly clock: Clock,
  ) {}

  async createUser(input: {
    email: string;
    name?: string;
    role: Role;
    password?: string;
  }): Promise<StaffUserView> {
    const email = normaliseEmail(input.email);
    if (!email) throw badRequest('email: not a valid email address');
    if (input.password !== undefined && input.password.length < MIN_PASSWORD) {
      throw badRequest(`password: must be at least ${MIN_PASSWORD} characters`);
    }
    const passwordHash = input.password
      ? await argon2.hash(input.password, { type: argon2.argon2id })
      : undefined;
    try {
      const user = await this.models.StaffUser.create({
        email,
        name: input.name ?? '',
        role: input.role,
        passwordHash,
      });
      return toView(user);
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`a staff user ${email} already exists`);
      throw err;
    }
  }

  async listUsers(): Promise<StaffUserView[]> {
    const users = await this.models.StaffUser.find().sort({ email: 1 });
    return users.map(toView);
  }

  /** Staff users, oldest first, paged by cursor (the admin's list; the CLI lists them all). */
  async usersPage(
    request: PageRequest,
  ): Promise<{ items: StaffUserView[]; nextCursor: string | null }> {
    const { docs, nextCursor } = await readPage(
      this.models.StaffUser,
      {},
      {
        ...request,
        defaultLimit: USERS_PAGE,
      },
    );
    return { items: docs.map(toView), nextCursor };
  }

  async findUserByEmail(emailInput: string): Promise<StaffUserView> {
    const email = normaliseEmail(emailInput);
    const user = email ? await this.models.StaffUser.findOne({ email }) : null;
    if (!user) throw notFound(`staff user ${emailInput}`);
    return toView(user);
  }

  async setDisabled(userId: string, disabled: boolean): Promise<StaffUserView> {
    return this.updateUser(userId, { disabled });
  }

  async getUser(userId: string): Promise<StaffUserView> {
    const user = isObjectId(userId) ? await this.models.StaffUser.findById(userId) : null;
    if (!user) throw notFound('staff user');
    return toView(user);
  }

  async updateUser(
    userId: string,
    patch: { role?: Role; disabled?: boolean; name?: string; locale?: StaffLocale },
  ): Promise<StaffUserView> {
    const user = isObjectId(userId)
      ? await this.models.StaffUser.findByIdAndUpdate(userId, { $set: patch }, { new: true })
      : null;
    if (!user) throw notFound('staff user');
    return toView(user);
  }

  /** Removes the user and every API token of theirs; returns the user as they were. */
  async deleteUser(userId: string): Promise<StaffUserView> {
    const user = isObjectId(userId) ? await this.models.StaffUser.findByIdAndDelete(userId) : null;
    if (!user) throw notFound('staff user');
    await this.models.ApiToken.deleteMany({ userId: user._id });
    return toView(user);
  }

  /** Enabled admins other than `exceptUserId`: the last one may not be demoted or disabled. */
  async countOtherAdmins(exceptUserId: string): Promise<number> {
    return this.models.StaffUser.countDocuments({
      role: 'admin',
      disabled: { $ne: true },
      _id: { $ne: exceptUserId },
    });
  }

  async verifyPassword(emailInput: string, password: string): Promise<StaffActor | null> {
    const email = normaliseEmail(emailInput);
    const user = email ? await this.models.StaffUser.findOne({ email }) : null;
    // An unknown address costs one argon2 verification too, so timing does not tell it apart.
    const passwordHash = user?.passwordHash ?? (await dummyHash());
    const matches = await argon2.verify(passwordHash, password);
    if (!user?.passwordHash || user.disabled || !matches) return null;
    return { type: 'staff', userId: String(user._id), email: user.email, role: user.role as Role };
  }

  async setPassword(userId: string, password: string): Promise<void> {
    if (password.length < MIN_PASSWORD)
      throw badRequest(`password: must be at least ${MIN_PASSWORD} characters`);
    const passwordHash = await argon2.hash(password, { type: argon2.argon2id });
    const res = isObjectId(userId)
      ? await this.models.StaffUser.updateOne({ _id: userId }, { $set: { passwordHash } })
      : null;
    if (!res?.matchedCount) throw notFound('staff user');
  }

  /** Returns the token itself, which is never stored and cannot be shown again. */
  async createToken(
    userId: string,
    name = 'default',
    expiresAt?: Date,
  ): Promise<{ id: string; token: string }> {
    if (expiresAt && expiresAt.getTime() <= this.clock.now().getTime())
      throw badRequest('expiresAt: must be in the future');
    const user = isObjectId(userId) ? await this.models.StaffUser.findById(userId) : null;
    if (!user) throw notFound('staff user');
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const doc = await this.models.ApiToken.create({
      userId: user._id,
      name,
      tokenHash: hashToken(token),
      expiresAt,
    });
    return { id: String(doc._id), token };
  }

  async revokeToken(tokenId: string): Promise<void> {
    if (!isObjectId(tokenId)) throw notFound('API token');
    const res = await this.models.ApiToken.updateOne(
      { _id: tokenId, revokedAt: null },
      { revokedAt: this.clock.now() },
    );
    if (res.matchedCount === 0 && !(await this.models.ApiToken.exists({ _id: tokenId })))
      throw notFound('API token');
  }

  async listTokens(userId: string) {
    const tokens = await this.models.ApiToken.find({ userId }).sort({ createdAt: 1 });
    return tokens.map((t) => ({
      id: String(t._id),
      name: t.name,
      lastUsedAt: t.lastUsedAt,
      expiresAt: t.expiresAt,
      revokedAt: t.revokedAt,
      createdAt: t.createdAt,
    }));
  }

  /** The bearer token's owner, or a 401. */
  async authenticate(token: string | undefined): Promise<StaffActor> {
    if (!token || !token.startsWith(TOKEN_PREFIX) || token.length > 200) {
      throw new AppError(
        'unauthorized',
        'a valid API token is required (Authorization: Bearer <token>)',
      );
    }
    const doc = await this.models.ApiToken.findOne({ tokenHash: hashToken(token) });
    const now = this.clock.now();
    const live = doc && !doc.revokedAt && !(doc.expiresAt && doc.expiresAt <= now);
    const user = live ? await this.models.StaffUser.findById(doc.userId) : null;
    if (!doc || !user || user.disabled)
      throw new AppError(
        'unauthorized',
        'the API token is invalid, expired, revoked or its user disabled',
      );
    if (!doc.lastUsedAt || now.getTime() - doc.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.models.ApiToken.updateOne({ _id: doc._id }, { lastUsedAt: now });
    }
    return { type: 'staff', userId: String(user._id), email: user.email, role: user.role as Role };
  }
}

function toView(u: {
  _id: unknown;
  email: string;
  name?: string | null;
  role: string;
  disabled?: boolean | null;
  locale?: string | null;
  totpSecret?: string | null;
  createdAt: Date;
}): StaffUserView {
  return {
    id: String(u._id),
    email: u.email,
    name: u.name ?? '',
    role: u.role as Role,
    disabled: Boolean(u.disabled),
    locale: u.locale === 'en' ? 'en' : 'fi',
    totpEnabled: Boolean(u.totpSecret),
    createdAt: u.createdAt,
  };
}
