import type { AnyBulkWriteOperation, Types } from 'mongoose';
import { refusedAsDuplicates } from '../db/bulk.js';
import { findByIds } from '../db/group-read.js';
import type { Models } from '../db/models/index.js';
import type { SubscriberDoc } from '../db/models/subscriber.js';
import { mapConcurrent } from '../shared/concurrency.js';
import { isDuplicateKey } from '../shared/errors.js';

/** `_id` reads in flight at once for a batch of addresses. */
const LOOKUP_CONCURRENCY = 16;
// Rounds of "insert, find it refused, find the holder gone" before giving up; each round needs
// another writer to remove the address in between, so more than one is already unlikely.
const CREATE_ROUNDS = 3;

type Field = Exclude<keyof SubscriberDoc, 'email'>;
type KeyFields = { _id: string; subscriberId: Types.ObjectId };
/** A subscriber found by address: `_id`, `email` and the fields asked for. */
export type Holder<F extends Field> = Pick<SubscriberDoc, F | 'email'> & { _id: Types.ObjectId };
/** A subscriber to create; its `_id` is chosen first because the key is written before it. */
export type NewSubscriber = Partial<SubscriberDoc> & { _id: Types.ObjectId; email: string };

/**
 * Subscribers by normalised address through the email-key collection (src/db/models/email-key.ts):
 * every lookup is two `_id` reads, where a filter on `subscribers.email` may scan the collection
 * (docs/database.md). Every path that creates a subscriber or changes an address goes through
 * here; erasure deletes the keys with the subscriber (src/privacy/personal-data.ts).
 *
 * Creating writes the key first, so its unique `_id` decides between racing creators. A key whose
 * subscriber is missing or now has another address (a crash between the two writes, or an address
 * change that did not finish) reads as absent and is taken over by the next writer. Should two
 * writers take one over at once, or a subscriber hold an address without a key, the unique index
 * on `subscribers.email` refuses the second subscriber and the key is pointed at the one that holds
 * the address: the only path that still filters by email, and it runs only after such a refusal.
 */
export class EmailKeys {
  constructor(private readonly models: Pick<Models, 'EmailKey' | 'Subscriber'>) {}

  /** The subscriber holding this normalised address, or null. */
  async lookup<F extends Field>(email: string, fields: readonly F[]): Promise<Holder<F> | null> {
    const key = await this.models.EmailKey.findById(email, { subscriberId: 1 }).lean();
    return key ? this.holder(email, key.subscriberId, fields) : null;
  }

  /** `lookup` for many addresses: one read of their keys, one of the subscribers they name. */
  async lookupMany<F extends Field>(
    emails: readonly string[],
    fields: readonly F[],
  ): Promise<Map<string, Holder<F>>> {
    const keys = await findByIds<KeyFields>(this.models.EmailKey, emails, { subscriberId: 1 });
    const subs = await findByIds<Holder<F>>(
      this.models.Subscriber,
      [...keys.values()].map((k) => k.subscriberId),
      projection(fields),
    );
    const out = new Map<string, Holder<F>>();
    for (const [email, key] of keys) {
      const sub = subs.get(String(key.subscriberId));
      // A key whose subscriber is gone or has another address reads as absent (see above).
      if (sub?.email === email) out.set(email, sub);
    }
    return out;
  }

  /** Creates the subscriber unless someone holds the address: null when created, else the holder. */
  async create<F extends Field>(
    doc: NewSubscriber,
    fields: readonly F[],
  ): Promise<Holder<F> | null> {
    return (await this.createMany([doc], fields))[0]!;
  }

  /**
   * `create` for a batch with distinct addresses, in two unordered bulk inserts (keys, then
   * subscribers) plus reads only for the addresses found taken. Per input, in order.
   */
  async createMany<F extends Field>(
    docs: readonly NewSubscriber[],
    fields: readonly F[],
  ): Promise<Array<Holder<F> | null>> {
    const out = new Array<Holder<F> | null | undefined>(docs.length);
    let pending = docs.map((_d, i) => i);
    for (let round = 0; round < CREATE_ROUNDS && pending.length > 0; round += 1) {
      const keyOps: AnyBulkWriteOperation<KeyFields>[] = pending.map((i) => ({
        insertOne: { document: { _id: docs[i]!.email, subscriberId: docs[i]!._id } },
      }));
      const taken = await refusedAsDuplicates(() =>
        this.models.EmailKey.bulkWrite<KeyFields>(keyOps, { ordered: false }),
      );
      await mapConcurrent(taken, LOOKUP_CONCURRENCY, async (p) => {
        const i = pending[p]!;
        const holder = await this.claimTaken(docs[i]!.email, docs[i]!._id, fields);
        if (holder) out[i] = holder;
      });

      const ours = pending.filter((i) => out[i] === undefined);
      // Loosely typed: documents are completed by schema defaults when mongoose casts them.
      const inserts: AnyBulkWriteOperation<Record<string, unknown>>[] = ours.map((i) => ({
        insertOne: { document: { ...docs[i]! } },
      }));
      const refused = inserts.length
        ? await refusedAsDuplicates(() =>
            this.models.Subscriber.bulkWrite(inserts, { ordered: false }),
          )
        : [];
      const refusedSet = new Set(refused);
      ours.forEach((i, p) => {
        if (!refusedSet.has(p)) out[i] = null;
      });
      if (refused.length > 0) {
        const holders = await this.adopt(
          refused.map((p) => docs[ours[p]!]!.email),
          fields,
        );
        for (const p of refused) {
          const holder = holders.get(docs[ours[p]!]!.email);
          if (holder) out[ours[p]!] = holder;
        }
      }
      pending = pending.filter((i) => out[i] === undefined);
    }
    if (pending.length > 0)
      throw new Error(`${pending.length} addresses changed hands repeatedly while being created`);
    return out as Array<Holder<F> | null>;
  }

  /**
   * Points the address at an existing subscriber who is moving to it (an email change), unless
   * another subscriber holds it: null when the key is now theirs, else that holder. The caller then
   * writes the new address and `release`s the old one.
   */
  async claim<F extends Field>(
    email: string,
    subscriberId: Types.ObjectId,
    fields: readonly F[],
  ): Promise<Holder<F> | null> {
    try {
      await this.models.EmailKey.create({ _id: email, subscriberId });
      return null;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    return this.claimTaken(email, subscriberId, fields);
  }

  /** Drops the key of an address the subscriber no longer has; a key someone else took stays. */
  async release(email: string, subscriberId: Types.ObjectId): Promise<void> {
    const key = await this.models.EmailKey.findById(email, { subscriberId: 1 }).lean();
    if (key?.subscriberId.equals(subscriberId))
      await this.models.EmailKey.deleteOne({ _id: email });
  }

  /**
   * After the unique email index refused a subscriber write: the subscribers holding these
   * addresses, with their keys pointed at them. Filters by email (possibly a scan),
   * which is why it runs only after a refusal.
   */
  async adopt<F extends Field>(
    emails: readonly string[],
    fields: readonly F[],
  ): Promise<Map<string, Holder<F>>> {
    const subs = await this.models.Subscriber.find(
      { email: { $in: [...emails] } },
      projection(fields),
    ).lean<Array<Holder<F>>>();
    await mapConcurrent(subs, LOOKUP_CONCURRENCY, (s) => this.point(s.email, s._id));
    return new Map(subs.map((s) => [s.email, s]));
  }

  /** The key of `email` exists and is not `subscriberId`'s: its live holder, or take it over. */
  private async claimTaken<F extends Field>(
    email: string,
    subscriberId: Types.ObjectId,
    fields: readonly F[],
  ): Promise<Holder<F> | null> {
    const key = await this.models.EmailKey.findById(email, { subscriberId: 1 }).lean();
    if (key?.subscriberId.equals(subscriberId)) return null;
    const holder = key ? await this.holder(email, key.subscriberId, fields) : null;
    if (holder) return holder;
    await this.point(email, subscriberId);
    return null;
  }

  private async point(email: string, subscriberId: Types.ObjectId): Promise<void> {
    const write = (upsert: boolean) =>
      this.models.EmailKey.updateOne({ _id: email }, { $set: { subscriberId } }, { upsert });
    // Two upserts of a key deleted meanwhile: one inserts, the other updates what it inserted.
    await write(true).catch((err: unknown) => {
      if (!isDuplicateKey(err)) throw err;
      return write(false);
    });
  }

  /** The subscriber a key names, if it still exists and still has the key's address. */
  private async holder<F extends Field>(
    email: string,
    subscriberId: Types.ObjectId,
    fields: readonly F[],
  ): Promise<Holder<F> | null> {
    const sub = await this.models.Subscriber.findById(subscriberId, projection(fields)).lean<
      Holder<F>
    >();
    return sub?.email === email ? sub : null;
  }
}

function projection(fields: readonly string[]): Record<string, 1> {
  return Object.fromEntries([...fields, 'email'].map((f) => [f, 1]));
}
