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

  async release(collection: string, id: string): Promise<void> {
    await this.conn.collection<ClaimDoc>(collection).deleteOne({ _id: id });
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
