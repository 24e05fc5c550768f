import type { Connection } from 'mongoose';
import { isDuplicateKey } from '../shared/errors.js';

/**
 * Exactly-once decisions of inbound mail. FerretDB applies a filtered update as read, modify,
 * write back, so `updateOne({_id, status: 'x'})` lets several racers win (docs/database.md); an
 * insert of a document whose `_id` names the decision lets exactly one win, and is the only
 * lookup FerretDB indexes.
 */
export const INBOUND_CLAIMS = 'inbound_claims';
/** Hard bounces per subscriber; the privacy register erases it by `subscriberId`. */
export const BOUNCE_COUNTS = 'bounce_counts';

type ClaimDoc = { _id: string } & Record<string, unknown>;

export class Claims {
  constructor(private readonly conn: Connection) {}

  /** True for the one caller that inserted `_id`; false for everyone after it. */
  async once(collection: string, id: string, fields: Record<string, unknown>): Promise<boolean> {
    try {
      await this.conn.collection<ClaimDoc>(collection).insertOne({ _id: id, ...fields });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /**
   * A claim whose holder may die before it finishes (a crash between claiming a staff action and
   * recording it must not leave the message stuck): the claims are numbered `key:1`, `key:2`, …
   * and one older than `leaseMs` counts as abandoned, so the next caller inserts the next number;
   * the unique insert again lets exactly one caller take it over. Returns the claim's `_id`, or
   * null while a live claim is held.
   */
  async lease(
    collection: string,
    key: string,
    leaseMs: number,
    now: Date,
    fields: Record<string, unknown>,
  ): Promise<string | null> {
    for (let n = 1; ; n++) {
      const id = `${key}:${n}`;
      if (await this.once(collection, id, { ...fields, at: now })) return id;
      const held = await this.conn.collection<ClaimDoc>(collection).findOne({ _id: id });
      if (held?.at instanceof Date && now.getTime() - held.at.getTime() < leaseMs) return null;
    }
  }

  /** Gives a lease up at once: the next caller takes the next number. */
  async expire(collection: string, id: string): Promise<void> {
    await this.conn
      .collection<ClaimDoc>(collection)
      .updateOne({ _id: id }, { $set: { at: new Date(0) } });
  }

  /**
   * A counter with a ceiling: takes the lowest free of the slots `key:1` … `key:limit` and returns
   * its number (how many were taken, this one included), or null when all are taken. Concurrent
   * callers each get a different slot, so no more than `limit` ever succeed.
   */
  async slot(
    collection: string,
    key: string,
    limit: number,
    fields: Record<string, unknown>,
  ): Promise<number | null> {
    for (let n = 1; n <= limit; n++) {
      if (await this.once(collection, `${key}:${n}`, fields)) return n;
    }
    return null;
  }
}
