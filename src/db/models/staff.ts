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

export type StaffUserDoc = InferSchemaType<ReturnType<typeof staffUserSchema>> & Timestamps;
export type StaffUserModel = Model<StaffUserDoc>;
export type ApiTokenDoc = InferSchemaType<ReturnType<typeof apiTokenSchema>> & Timestamps;
export type ApiTokenModel = Model<ApiTokenDoc>;
export const staffUserModel = (conn: Connection, clock: Clock): StaffUserModel =>
  conn.model<StaffUserDoc>('StaffUser', staffUserSchema(clock), 'staff_users');
export const apiTokenModel = (conn: Connection, clock: Clock): ApiTokenModel =>
  conn.model<ApiTokenDoc>('ApiToken', apiTokenSchema(clock), 'api_tokens');
