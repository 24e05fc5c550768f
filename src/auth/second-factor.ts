import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import type { Models } from '../db/models/index.js';
import type { Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import { AppError, notFound } from '../shared/errors.js';

const ISSUER = 'Kirje';
const RECOVERY_CODES = 10;
// 80 random bits as four groups of five hex digits, easy to type from paper.
const recoveryCode = () =>
  (randomBytes(10).toString('hex').match(/.{5}/g) ?? []).join('-').toUpperCase();
const hashCode = (code: string) =>
  createHash('sha256').update(code.replace(/[\s-]/g, '').toUpperCase()).digest('hex');

function totpOf(secretBase32: string, label: string): TOTP {
  return new TOTP({
    issuer: ISSUER,
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    secret: Secret.fromBase32(secretBase32),
  });
}

/**
 * Optional TOTP second factor of a staff user (RFC 6238, 30 s steps, one step of clock drift),
 * with single-use recovery codes. Secrets are sealed with DATA_KEY at rest.
 */
export class SecondFactor {
  constructor(
    private readonly models: Pick<Models, 'StaffUser'>,
    private readonly protector: DataProtector,
    private readonly clock: Clock,
  ) {}

  async isEnabled(userId: string): Promise<boolean> {
    const user = await this.models.StaffUser.findById(userId, { totpSecret: 1 });
    return Boolean(user?.totpSecret);
  }

  /** A new secret waiting for its first code; replaces any earlier pending one. */
  async begin(userId: string): Promise<{ secret: string; otpauthUri: string }> {
    const user = await this.models.StaffUser.findById(userId);
    if (!user) throw notFound('staff user');
    if (user.totpSecret) throw new AppError('invalid_state', 'two-factor sign-in is already on');
    const secret = new Secret({ size: 20 }).base32;
    await this.models.StaffUser.updateOne(
      { _id: user._id },
      { $set: { totpPendingSecret: this.protector.encrypt(secret) } },
    );
    return { secret, otpauthUri: totpOf(secret, user.email).toString() };
  }

  /** Turns the pending secret on when `code` matches it; returns recovery codes, shown once. */
  async confirm(userId: string, code: string): Promise<string[]> {
    const user = await this.models.StaffUser.findById(userId);
    if (!user?.totpPendingSecret)
      throw new AppError('invalid_state', 'start two-factor set-up first');
    const secret = this.protector.decrypt(user.totpPendingSecret);
    const step = this.matchingStep(secret, user.email, code);
    if (step === null) throw new AppError('bad_request', 'code: does not match; try the next one');
    const codes = Array.from({ length: RECOVERY_CODES }, recoveryCode);
    await this.models.StaffUser.updateOne(
      { _id: user._id },
      {
        $set: {
          totpSecret: user.totpPendingSecret,
          totpLastStep: step,
          recoveryCodeHashes: codes.map(hashCode),
        },
        $unset: { totpPendingSecret: 1 },
      },
    );
    return codes;
  }

  async disable(userId: string): Promise<void> {
    await this.models.StaffUser.updateOne(
      { _id: userId },
      { $unset: { totpSecret: 1, totpPendingSecret: 1, totpLastStep: 1, recoveryCodeHashes: 1 } },
    );
  }

  /**
   * Checks a six-digit code (each accepted at most once) or a recovery code (then used up).
   * False for anything else, including a user without a second factor.
   */
  async verify(userId: string, code: string): Promise<boolean> {
    const user = await this.models.StaffUser.findById(userId);
    if (!user?.totpSecret) return false;
    const trimmed = code.trim();
    if (/^\d{6}$/.test(trimmed)) {
      const step = this.matchingStep(this.protector.decrypt(user.totpSecret), user.email, trimmed);
      if (step === null || step <= (user.totpLastStep ?? -1)) return false;
      // Conditional on the last step, so two concurrent uses of one code cannot both pass.
      const res = await this.models.StaffUser.updateOne(
        { _id: user._id, totpLastStep: user.totpLastStep ?? null },
        { $set: { totpLastStep: step } },
      );
      return res.modifiedCount === 1;
    }
    const hash = hashCode(trimmed);
    const known = (user.recoveryCodeHashes ?? []).some((h) =>
      timingSafeEqual(Buffer.from(h), Buffer.from(hash)),
    );
    if (!known) return false;
    const res = await this.models.StaffUser.updateOne(
      { _id: user._id, recoveryCodeHashes: hash },
      { $pull: { recoveryCodeHashes: hash } },
    );
    return res.modifiedCount === 1;
  }

  private matchingStep(secret: string, label: string, code: string): number | null {
    const timestamp = this.clock.now().getTime();
    const totp = totpOf(secret, label);
    const delta = totp.validate({ token: code.trim(), timestamp, window: 1 });
    return delta === null ? null : totp.counter({ timestamp }) + delta;
  }
}
