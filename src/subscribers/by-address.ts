import type { AnyBulkWriteOperation, Types } from 'mongoose';
import { refusedAsDuplicates } from '../db/bulk.js';
import { MAX_IDS_PER_READ } from '../db/group-read.js';
import type { Models } from '../db/models/index.js';
import type { SubscriberDoc } from '../db/models/subscriber.js';

// Rounds of "insert, find it refused, find the holder gone" before giving up; each round needs
// another writer to remove the address in between, so more than one is already unlikely.
const CREATE_ROUNDS = 3;

type Field = Exclude<keyof SubscriberDoc, 'email'>;
/** A subscriber found by address: `_id`, `email` and the fields asked for. */
export type Holder<F extends Field> = Pick<SubscriberDoc, F | 'email'> & { _id: Types.ObjectId };
/** A subscriber to create, with its `_id` chosen by the caller. */
export type NewSubscriber = Partial<SubscriberDoc> & { _id: Types.ObjectId; email: string };

/**
 * Subscribers by normalised address (src/shared/email.ts). The unique index on `subscribers.email`
 * answers every lookup and decides between writers racing to create one address: the loser's
 * insert is refused and it is given the winner.
 */
export class SubscriberAddresses {
  constructor(private readonly models: Pick<Models, 'Subscriber'>) {}

  /** The subscriber holding this normalised address, or null. */
  async lookup<F extends Field>(email: string, fields: readonly F[]): Promise<Holder<F> | null> {
    return this.models.Subscriber.findOne({ email }, projection(fields)).lean<Holder<F>>();
  }

  /** `lookup` for many addresses, one indexed `$in` read per MAX_IDS_PER_READ of them. */
  async lookupMany<F extends Field>(
    emails: readonly string[],
    fields: readonly F[],
  ): Promise<Map<string, Holder<F>>> {
    const distinct = [...new Set(emails)];
    const out = new Map<string, Holder<F>>();
    for (let i = 0; i < distinct.length; i += MAX_IDS_PER_READ) {
      const found = await this.models.Subscriber.find(
        { email: { $in: distinct.slice(i, i + MAX_IDS_PER_READ) } },
        projection(fields),
      ).lean<Array<Holder<F>>>();
      for (const holder of found) out.set(holder.email, holder);
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
   * `create` for a batch with distinct addresses: one unordered bulk insert, plus a read of the
   * holders of the addresses it found taken. Per input, in order.
   */
  async createMany<F extends Field>(
    docs: readonly NewSubscriber[],
    fields: readonly F[],
  ): Promise<Array<Holder<F> | null>> {
    const out = new Array<Holder<F> | null | undefined>(docs.length);
    let pending = docs.map((_doc, i) => i);
    for (let round = 0; round < CREATE_ROUNDS && pending.length > 0; round += 1) {
      // Loosely typed: documents are completed by schema defaults when mongoose casts them.
      const inserts: AnyBulkWriteOperation<Record<string, unknown>>[] = pending.map((i) => ({
        insertOne: { document: { ...docs[i]! } },
      }));
      const refused = new Set(
        await refusedAsDuplicates(() =>
          this.models.Subscriber.bulkWrite(inserts, { ordered: false }),
        ),
      );
      pending.forEach((i, position) => {
        if (!refused.has(position)) out[i] = null;
      });
      const taken = pending.filter((_i, position) => refused.has(position));
      const holders = await this.lookupMany(
        taken.map((i) => docs[i]!.email),
        fields,
      );
      // A holder gone between the refusal and the read leaves the address free: try again.
      for (const i of taken) out[i] = holders.get(docs[i]!.email);
      pending = taken.filter((i) => out[i] === undefined);
    }
    if (pending.length > 0)
      throw new Error(`${pending.length} addresses changed hands repeatedly while being created`);
    return out as Array<Holder<F> | null>;
  }
}

function projection(fields: readonly string[]): Record<string, 1> {
  return Object.fromEntries([...fields, 'email'].map((f) => [f, 1]));
}
