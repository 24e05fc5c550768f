import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import { ALL_LISTS, type SUPPRESSION_REASONS } from '../db/models/suppression.js';
import type { DataProtector } from '../shared/crypto.js';
import { isDuplicateKey } from '../shared/errors.js';

export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** "Never mail this address (on this list)", by keyed hash so it survives erasure. */
export class SuppressionService {
  constructor(
    private readonly models: Pick<Models, 'Suppression'>,
    private readonly protector: DataProtector,
  ) {}

  hash(normalisedEmail: string): string {
    return this.protector.emailHash(normalisedEmail);
  }

  /** Suppressed for all lists, or (with listId) for that list. */
  async isSuppressed(normalisedEmail: string, listId?: string): Promise<boolean> {
    const scopes = listId ? [ALL_LISTS, listId] : [ALL_LISTS];
    return (
      (await this.models.Suppression.exists({
        emailHash: this.hash(normalisedEmail),
        scope: { $in: scopes },
      })) !== null
    );
  }

  /** Of these hashes, those suppressed for all lists or for `listId`: one query for a batch. */
  async suppressedHashes(hashes: string[], listId?: string): Promise<Set<string>> {
    if (hashes.length === 0) return new Set();
    const scopes = listId ? [ALL_LISTS, listId] : [ALL_LISTS];
    const docs = await this.models.Suppression.find(
      { emailHash: { $in: hashes }, scope: { $in: scopes } },
      { emailHash: 1 },
    ).lean();
    return new Set(docs.map((d) => d.emailHash));
  }

  /** Idempotent; true when this call created the suppression. */
  async suppress(
    normalisedEmail: string,
    scope: string,
    reason: SuppressionReason,
    extra: { channel?: string; campaignId?: string } = {},
  ): Promise<boolean> {
    return (await this.ensure(normalisedEmail, scope, reason, extra)).created;
  }

  /**
   * Idempotent; the suppression's id (it identifies this opt-out until it is lifted) and whether
   * this call created it. The first writer's reason and channel stay.
   */
  async ensure(
    normalisedEmail: string,
    scope: string,
    reason: SuppressionReason,
    extra: { channel?: string; campaignId?: string } = {},
  ): Promise<{ id: string; reason: SuppressionReason; created: boolean }> {
    const filter = { emailHash: this.hash(normalisedEmail), scope };
    const proposed = new Types.ObjectId();
    try {
      const doc = await this.models.Suppression.findOneAndUpdate(
        filter,
        {
          $setOnInsert: {
            _id: proposed,
            reason,
            channel: extra.channel,
            campaignId: extra.campaignId,
          },
        },
        // No projection: FerretDB 1.24's findAndModify does not implement `fields`.
        { upsert: true, new: true },
      ).lean();
      return { id: String(doc._id), reason: doc.reason, created: doc._id.equals(proposed) };
    } catch (err) {
      // Two concurrent upserts of the same key: the other one won, the suppression exists.
      if (!isDuplicateKey(err)) throw err;
      const doc = await this.models.Suppression.findOne(filter, { _id: 1, reason: 1 }).lean();
      if (!doc) throw err;
      return { id: String(doc._id), reason: doc.reason, created: false };
    }
  }

  /** The suppressions of this address in these scopes, with the reason each was written for. */
  async find(normalisedEmail: string, scopes: string[]): Promise<Map<string, SuppressionReason>> {
    const docs = await this.models.Suppression.find(
      { emailHash: this.hash(normalisedEmail), scope: { $in: scopes } },
      { scope: 1, reason: 1 },
    ).lean();
    return new Map(docs.map((d) => [d.scope, d.reason]));
  }

  /**
   * Lifts suppressions after the person confirmed a new opt-in themselves; `reasons` narrows it so
   * a suppression written meanwhile for another reason (a complaint) stays.
   */
  async lift(
    normalisedEmail: string,
    scopes: string[],
    reasons?: SuppressionReason[],
  ): Promise<void> {
    await this.models.Suppression.deleteMany({
      emailHash: this.hash(normalisedEmail),
      scope: { $in: scopes },
      ...(reasons ? { reason: { $in: reasons } } : {}),
    });
  }
}

export { ALL_LISTS };
