import type { Models } from '../db/models/index.js';
import type { Clock } from '../shared/clock.js';
import { isDuplicateKey } from '../shared/errors.js';

const PURGE_EVERY_MS = 60_000;

/**
 * Fixed-window counters and "once per interval" slots on one collection, each a single atomic
 * findOneAndUpdate on a unique key, so any number of processes sharing the database agree without
 * locks. (An in-memory limiter would let N processes allow N times the limit.)
 */
export class RateLimiter {
  private lastPurge = 0;

  constructor(
    private readonly models: Pick<Models, 'RateLimit'>,
    private readonly clock: Clock,
  ) {}

  /** Counts one hit; false when this window already had `limit` hits. */
  async hit(bucket: string, id: string, limit: number, windowMs: number): Promise<boolean> {
    const now = this.clock.now().getTime();
    await this.purgeOccasionally(now);
    const window = Math.floor(now / windowMs);
    const key = `${bucket}:${id}:${window}`;
    const update = () =>
      this.models.RateLimit.findOneAndUpdate(
        { key },
        { $inc: { count: 1 }, $setOnInsert: { expiresAt: new Date((window + 1) * windowMs) } },
        { upsert: true, new: true, lean: true },
      );
    // Two first hits racing on one key: one upsert loses on the unique index; the retry updates.
    const doc = await update().catch((err: unknown) => {
      if (isDuplicateKey(err)) return update();
      throw err;
    });
    return (doc?.count ?? 1) <= limit;
  }

  /**
   * Takes the slot `bucket:id` for `intervalMs`; false while a previous taker still holds it.
   * The filter only matches an expired slot, so when the slot is held the upsert collides with
   * the unique key: that collision is the "no".
   */
  async acquire(bucket: string, id: string, intervalMs: number): Promise<boolean> {
    const now = this.clock.now();
    try {
      await this.models.RateLimit.findOneAndUpdate(
        { key: `${bucket}:${id}`, expiresAt: { $lte: now } },
        { $set: { count: 1, expiresAt: new Date(now.getTime() + intervalMs) } },
        { upsert: true },
      );
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** Gives a slot back, e.g. when the mail it was taken for could not be sent. */
  async release(bucket: string, id: string): Promise<void> {
    await this.models.RateLimit.deleteOne({ key: `${bucket}:${id}` });
  }

  private async purgeOccasionally(now: number): Promise<void> {
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    await this.models.RateLimit.deleteMany({ expiresAt: { $lte: new Date(now) } });
  }
}
