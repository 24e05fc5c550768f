import type { Models } from '../db/models/index.js';
import type { Clock } from '../shared/clock.js';
import { isDuplicateKey } from '../shared/errors.js';

const PURGE_EVERY_MS = 60_000;

/**
 * Fixed-window limits and "once per interval" slots that several processes sharing the database
 * agree on. Every decision is an insert on a unique key, the one write every database we run on
 * makes atomic (docs/database.md): a counter document could lose concurrent updates and let bursts
 * through, and an in-memory limiter would allow N processes N times.
 */
export class RateLimiter {
  private lastPurge = 0;

  constructor(
    private readonly models: Pick<Models, 'RateLimit'>,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts one hit; false when this window already had `limit` hits. A hit takes the first free
   * numbered slot of the window; the count only says where to start looking.
   */
  async hit(bucket: string, id: string, limit: number, windowMs: number): Promise<boolean> {
    const now = this.clock.now().getTime();
    await this.purgeOccasionally(now);
    const window = Math.floor(now / windowMs);
    const group = `${bucket}:${id}:${window}`;
    const expiresAt = new Date((window + 1) * windowMs);
    for (let n = (await this.models.RateLimit.countDocuments({ group })) + 1; n <= limit; n++) {
      if (await this.insert({ key: `${group}:${n}`, group, expiresAt })) return true;
    }
    return false;
  }

  /** Takes the slot `bucket:id` for `intervalMs`; false while an earlier taker still holds it. */
  async acquire(bucket: string, id: string, intervalMs: number): Promise<boolean> {
    const now = this.clock.now();
    const key = `${bucket}:${id}`;
    // Only an expired slot can go, so a racing caller can never delete a fresh one.
    await this.models.RateLimit.deleteOne({ key, expiresAt: { $lte: now } });
    return this.insert({ key, expiresAt: new Date(now.getTime() + intervalMs) });
  }

  /** Gives a slot back, e.g. when the mail it was taken for could not be sent. */
  async release(bucket: string, id: string): Promise<void> {
    await this.models.RateLimit.deleteOne({ key: `${bucket}:${id}` });
  }

  private async insert(doc: { key: string; group?: string; expiresAt: Date }): Promise<boolean> {
    try {
      await this.models.RateLimit.create(doc);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  private async purgeOccasionally(now: number): Promise<void> {
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    await this.models.RateLimit.deleteMany({ expiresAt: { $lte: new Date(now) } });
  }
}
