import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminConfig } from '../config/config.js';
import type { Models } from '../db/models/index.js';
import type { AuditLog } from '../privacy/audit.js';
import type { Clock } from '../shared/clock.js';
import { normaliseEmail } from '../shared/email.js';
import { AppError } from '../shared/errors.js';
import type { RateLimiter } from '../subscribe/rate-limiter.js';
import type { SecondFactor } from './second-factor.js';
import type { AuthService, StaffActor } from './service.js';

const hash = (value: string) => createHash('sha256').update(value).digest('hex');
// lastSeenAt is written at most this often; the idle timeout is that much less exact.
const LAST_SEEN_RESOLUTION_MS = 60_000;
const SWEEP_EVERY_MS = 10 * 60_000;
const THROTTLE_WINDOW_MS = 15 * 60_000;
/** Sign-in attempts per window: per address (known or not), and per client IP. */
export const ATTEMPTS_PER_ACCOUNT = 10;
export const ATTEMPTS_PER_IP = 50;

/** One answer for an unknown address, a wrong password and a wrong code: nothing to probe. */
const badCredentials = () => new AppError('unauthorized', 'wrong email, password or code');

export interface SignedInSession {
  /** Goes into the cookie; never stored. */
  cookieValue: string;
  csrfToken: string;
  actor: StaffActor;
}

export interface SessionActor {
  actor: StaffActor;
  sessionId: string;
  csrfToken: string;
  /** ADMIN_REQUIRE_2FA is on and this admin has no second factor yet: only enrolment is open. */
  mustEnrolTotp: boolean;
}

/**
 * Browser sign-in of staff: password (and TOTP when the user has it), then a session row whose
 * random id lives only in an HttpOnly cookie. Idle and absolute expiry are checked on every read.
 */
export class SessionService {
  private lastSweep = 0;

  constructor(
    private readonly models: Pick<Models, 'StaffSession' | 'StaffUser'>,
    private readonly auth: AuthService,
    private readonly secondFactor: SecondFactor,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly config: AdminConfig & {
      /** BASE_URL is https: the cookie is marked Secure. */
      secureCookie: boolean;
    },
  ) {}

  get secureCookie(): boolean {
    return this.config.secureCookie;
  }

  /** ADMIN_REQUIRE_2FA holds admins without a second factor to enrolling one. */
  mustEnrolTotp(user: { role: string; totpEnabled: boolean }): boolean {
    return this.config.require2fa && user.role === 'admin' && !user.totpEnabled;
  }

  get require2fa(): boolean {
    return this.config.require2fa;
  }

  async signIn(input: {
    email: string;
    password: string;
    code?: string | undefined;
    ip: string;
    userAgent?: string | undefined;
    requestId?: string;
  }): Promise<SignedInSession> {
    const email = normaliseEmail(input.email) ?? input.email.trim().toLowerCase();
    // Counted before the password is checked, so guessing costs attempts whether or not it hits.
    const allowed =
      (await this.limiter.hit('signin-ip', input.ip, ATTEMPTS_PER_IP, THROTTLE_WINDOW_MS)) &&
      (await this.limiter.hit(
        'signin-account',
        hash(email),
        ATTEMPTS_PER_ACCOUNT,
        THROTTLE_WINDOW_MS,
      ));
    if (!allowed) throw new AppError('rate_limited', 'too many sign-in attempts; wait 15 minutes');
    const actor = await this.auth.verifyPassword(email, input.password);
    if (!actor) throw badCredentials();
    if (await this.secondFactor.isEnabled(actor.userId)) {
      // Only now, after a right password, may the answer say a code is needed.
      if (!input.code)
        throw new AppError('unauthorized', 'enter the code from your authenticator app', {
          totpRequired: true,
        });
      if (!(await this.secondFactor.verify(actor.userId, input.code))) throw badCredentials();
    }
    await this.sweepOccasionally();
    const now = this.clock.now();
    const cookieValue = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.config.sessionMaxHours * 3_600_000);
    await this.models.StaffSession.create({
      idHash: hash(cookieValue),
      userId: actor.userId,
      csrfToken,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      ip: input.ip,
      userAgent: input.userAgent?.slice(0, 300),
    });
    await this.audit.record({ actor, requestId: input.requestId }, 'session.create', null, {});
    return { cookieValue, csrfToken, actor };
  }

  /** The signed-in staff member of a cookie, or a 401 when it is unknown, expired or disabled. */
  async authenticate(cookieValue: string): Promise<SessionActor> {
    const expired = () => new AppError('unauthorized', 'the session has ended; sign in again');
    if (cookieValue.length > 100) throw expired();
    const session = await this.models.StaffSession.findOne({ idHash: hash(cookieValue) });
    if (!session) throw expired();
    const now = this.clock.now();
    const idleEnd = session.lastSeenAt.getTime() + this.config.sessionIdleMinutes * 60_000;
    if (now >= session.expiresAt || now.getTime() >= idleEnd) {
      await this.models.StaffSession.deleteOne({ _id: session._id });
      throw expired();
    }
    const user = await this.models.StaffUser.findById(session.userId);
    if (!user || user.disabled) throw expired();
    if (now.getTime() - session.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS)
      await this.models.StaffSession.updateOne({ _id: session._id }, { lastSeenAt: now });
    return {
      actor: {
        type: 'staff',
        userId: String(user._id),
        email: user.email,
        role: user.role as StaffActor['role'],
      },
      sessionId: String(session._id),
      csrfToken: session.csrfToken,
      mustEnrolTotp: this.mustEnrolTotp({ role: user.role, totpEnabled: Boolean(user.totpSecret) }),
    };
  }

  static csrfMatches(session: SessionActor, sent: string | undefined): boolean {
    if (!sent) return false;
    const a = Buffer.from(session.csrfToken);
    const b = Buffer.from(sent);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async signOut(sessionId: string): Promise<void> {
    await this.models.StaffSession.deleteOne({ _id: sessionId });
  }

  /** Ends every session of the user, e.g. after a lost laptop or a password change. */
  async signOutEverywhere(userId: string): Promise<number> {
    const res = await this.models.StaffSession.deleteMany({ userId });
    return res.deletedCount;
  }

  /** Rows are removed by this sweep (no TTL indexes, docs/database.md); reads never trust them. */
  async sweepExpired(): Promise<number> {
    const now = this.clock.now();
    const idleBefore = new Date(now.getTime() - this.config.sessionIdleMinutes * 60_000);
    const res = await this.models.StaffSession.deleteMany({
      $or: [{ expiresAt: { $lte: now } }, { lastSeenAt: { $lte: idleBefore } }],
    });
    return res.deletedCount;
  }

  private async sweepOccasionally(): Promise<void> {
    const now = this.clock.now().getTime();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    await this.sweepExpired();
  }
}
