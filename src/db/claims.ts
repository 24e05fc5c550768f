import type { Connection } from 'mongoose';
import type { ClaimModel } from './models/claim.js';
import { isDuplicateKey } from '../shared/errors.js';
import { retryTransient } from './retry.js';

/**
 * Exactly-once decisions. FerretDB 1.24 applies a filtered update as read, modify, write back, so
 * `updateOne({_id, status: 'x'})` lets several racers win (docs/database.md); an insert of a
 * document whose `_id` names the decision lets exactly one win, and is the only lookup FerretDB
 * indexes. Every claim, lease and capped counter in Kirje is one of the forms below.
 */

/** The claims of sending (batches, campaign state versions, requeues), in the Claim model's collection. */
export function sendingClaims(Claim: ClaimModel): Claims {
  return new Claims(Claim.db, Claim.collection.collectionName);
}

type ClaimDoc = { _id: string } & Record<string, unknown>;

/** A claim's kind, stored beside it: its key up to the first `:` (`automation`, `batch`, …). */
export function claimKind(id: string): string {
  const colon = id.indexOf(':');
  return colon < 0 ? id : id.slice(0, colon);
}

/** The filter of the claims of these kinds taken before `before` (indexed: `kind_1_at_1`). */
export function claimsOlderThan(kinds: string[], before: Date) {
  return { kind: { $in: kinds }, at: { $lt: before } };
}

/** Claims kept in one collection; each claim document carries `at`, when it was taken. */
export class Claims {
  constructor(
    private readonly conn: Connection,
    private readonly collection: string,
  ) {}

  /** True for the one caller that inserted `id`; false for everyone after it. */
  async once(id: string, fields: Record<string, unknown>): Promise<boolean> {
    try {
      await this.conn
        .collection<ClaimDoc>(this.collection)
        .insertOne({ _id: id, kind: claimKind(id), ...fields });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /**
   * A claim whose holder may die before it finishes: the claims are `key`, `key:1`, `key:2`, …, and
   * one older than `leaseMs` counts as abandoned, so the next caller inserts the next number (the
   * unique insert again lets exactly one caller take it over), unless `stillWanted` says the step
   * was done meanwhile. Returns the claim's `_id`, or null while a live claim is held.
   */
  async lease(
    key: string,
    leaseMs: number,
    now: Date,
    fields: Record<string, unknown>,
    stillWanted: () => Promise<boolean> = async () => true,
  ): Promise<string | null> {
    for (let n = 0; ; n++) {
      const id = n === 0 ? key : `${key}:${n}`;
      if (await this.once(id, { ...fields, at: now })) return id;
      const held = await this.conn.collection<ClaimDoc>(this.collection).findOne({ _id: id });
      if (held?.at instanceof Date && now.getTime() - held.at.getTime() < leaseMs) return null;
      if (!(await stillWanted())) return null;
    }
  }

  /** Gives a lease up at once: the next caller takes the next number. */
  async expire(id: string): Promise<void> {
    await this.conn
      .collection<ClaimDoc>(this.collection)
      .updateOne({ _id: id }, { $set: { at: new Date(0) } });
  }

  /**
   * Ends a lease by removing it, so the next caller takes `key` itself again: a lease used as a
   * lock, taken and given back many times, leaves no rows behind.
   */
  async release(id: string): Promise<void> {
    await this.conn.collection<ClaimDoc>(this.collection).deleteOne({ _id: id });
  }

  /**
   * Removes the claims of these kinds taken before `before`. By `kind` rather than a pattern on
   * `_id`: the embedded database reads a regular expression or a string range by decoding every
   * claim, and answers an equality or `$in` on an indexed field from the index.
   */
  async deleteOlderThan(kinds: string[], before: Date): Promise<void> {
    await this.conn
      .collection<ClaimDoc>(this.collection)
      .deleteMany(claimsOlderThan(kinds, before));
  }

  /**
   * A counter with a ceiling: takes the lowest free of the slots `key:1` … `key:limit` and returns
   * its number (how many were taken, this one included), or null when all are taken. Concurrent
   * callers each get a different slot, so no more than `limit` ever succeed.
   */
  async slot(key: string, limit: number, fields: Record<string, unknown>): Promise<number | null> {
    for (let n = 1; n <= limit; n++) {
      if (await this.once(`${key}:${n}`, fields)) return n;
    }
    return null;
  }
}

/** Where insertOnce writes: a mongoose model of a collection with string `_id`s. */
export interface StringKeyed {
  db: Connection;
  collection: { collectionName: string };
}

/**
 * Inserts a document whose `_id` names a step that may happen once: true when it went in, false
 * when that `_id` was there already. Retried after a transient failure, so false may also mean
 * this call's own earlier try went in: callers that must know compare a field only they write.
 */
export async function insertOnce(model: StringKeyed, doc: ClaimDoc): Promise<boolean> {
  const collection = model.db.collection<ClaimDoc>(model.collection.collectionName);
  try {
    await retryTransient(() => collection.insertOne(doc));
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}
