import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

export const ROLES = ['admin', 'marketing', 'sales', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export function staffUserSchema(clock: Clock) {
  const schema = new Schema(
    {
      email: { type: String, required: true },
      name: { type: String, default: '' },
      role: { type: String, enum: ROLES, required: true },
      // argon2id; absent for token-only accounts.
      passwordHash: { type: String },
      disabled: { type: Boolean, default: false },
      // Language of the admin app for this person.
      locale: { type: String, enum: ['fi', 'en'], default: 'fi' },
      // TOTP (RFC 6238) secrets sealed with DATA_KEY; the pending one awaits its first code.
      totpSecret: { type: String },
      totpPendingSecret: { type: String },
      // Time step of the last accepted code: a code is refused when used a second time.
      totpLastStep: { type: Number },
      // SHA-256 of unused recovery codes (80 random bits each).
      recoveryCodeHashes: { type: [String], default: undefined },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ email: 1 }, { unique: true });
  return schema;
}

export function apiTokenSchema(clock: Clock) {
  const schema = new Schema(
    {
      userId: { type: Schema.Types.ObjectId, required: true },
      name: { type: String, default: 'default' },
      // SHA-256 of the token: tokens are 256-bit random, so a fast hash is enough and lookups stay O(1).
      tokenHash: { type: String, required: true },
      lastUsedAt: { type: Date },
      // Absent: the token works until revoked.
      expiresAt: { type: Date },
      revokedAt: { type: Date },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ tokenHash: 1 }, { unique: true });
  schema.index({ userId: 1 });
  return schema;
}

/**
 * Signed-in browser sessions of staff. The cookie holds a random id; only its SHA-256 is stored.
 * FerretDB has no TTL indexes: expiry is checked on every read and old rows are swept.
 */
export function staffSessionSchema() {
  const schema = new Schema(
    {
      idHash: { type: String, required: true },
      userId: { type: Schema.Types.ObjectId, required: true },
      // Sent back in X-CSRF-Token on every write made with this session's cookie.
      csrfToken: { type: String, required: true },
      createdAt: { type: Date, required: true },
      lastSeenAt: { type: Date, required: true },
      // The absolute end; the idle end is lastSeenAt plus the idle timeout.
      expiresAt: { type: Date, required: true },
      ip: { type: String },
      userAgent: { type: String },
    },
    { versionKey: false },
  );
  schema.index({ idHash: 1 }, { unique: true });
  schema.index({ userId: 1 });
  schema.index({ expiresAt: 1 });
  schema.index({ lastSeenAt: 1 });
  return schema;
}

export type StaffSessionDoc = InferSchemaType<ReturnType<typeof staffSessionSchema>>;
export type StaffSessionModel = Model<StaffSessionDoc>;
export const staffSessionModel = (conn: Connection): StaffSessionModel =>
  conn.model<StaffSessionDoc>('StaffSession', staffSessionSchema(), 'staff_sessions');

export type StaffUserDoc = InferSchemaType<ReturnType<typeof staffUserSchema>> & Timestamps;
export type StaffUserModel = Model<StaffUserDoc>;
export type ApiTokenDoc = InferSchemaType<ReturnType<typeof apiTokenSchema>> & Timestamps;
export type ApiTokenModel = Model<ApiTokenDoc>;
export const staffUserModel = (conn: Connection, clock: Clock): StaffUserModel =>
  conn.model<StaffUserDoc>('StaffUser', staffUserSchema(clock), 'staff_users');
export const apiTokenModel = (conn: Connection, clock: Clock): ApiTokenModel =>
  conn.model<ApiTokenDoc>('ApiToken', apiTokenSchema(clock), 'api_tokens');
