import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import { ALL_LISTS, suppressionId, type SUPPRESSION_REASONS } from '../db/models/suppression.js';
import { retryTransient } from '../db/retry.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import { insertEach, writeInOrder } from '../db/bulk.js';
import { findByIds, GroupRead } from '../db/group-read.js';

export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** A suppression to be in place: address hash, scope (ALL_LISTS or a list id), why. */
export interface SuppressionSpec {
  emailHash: string;
  scope: string;
  reason: SuppressionReason;
  channel?: string;
  campaignId?: string;
  /** When the opt-out asking for it was decided; stamped before the suppression is written. */
  optedOutAt?: Date;
}

export interface SuppressionState {
  /** Names this suppression until it is lifted: a new one in the same scope has a new generation. */
  generation: Types.ObjectId;
  /** The first writer's reason stays. */
  reason: SuppressionReason;
  /** This call brought it into being. */
  created: boolean;
}

type Stored = { _id: string; generation: Types.ObjectId; reason: SuppressionReason };
const STORED = { generation: 1, reason: 1 } as const;
type Stamp = { _id: string; at: Date; reason: SuppressionReason };

/**
 * "Never mail this address (on this list)", by keyed hash so it survives erasure. Every read and
 * write is by `_id` (hash and scope, src/db/models/suppression.ts), so checking a recipient or
 * writing an opt-out costs the same at a hundred suppressions as at a million.
 *
 * An opt-out stamps its time on the suppression's stamp before it writes the suppression, and a
 * lift deletes the suppression before it reads the stamp again: whichever order the two take,
 * a lift decided before the opt-out leaves the suppression in place (see lift()).
 */
export class SuppressionService {
  private readonly reads: GroupRead<Stored>;

  constructor(
    private readonly models: Pick<Models, 'Suppression' | 'SuppressionStamp'>,
    private readonly protector: DataProtector,
    private readonly clock: Clock = systemClock,
  ) {
    this.reads = new GroupRead(models.Suppression, STORED);
  }

  hash(normalisedEmail: string): string {
    return this.protector.emailHash(normalisedEmail);
  }

  /** Suppressed for all lists, or (with listId) for that list. */
  async isSuppressed(normalisedEmail: string, listId?: string): Promise<boolean> {
    const hash = this.hash(normalisedEmail);
    const found = await Promise.all(scopesFor(listId).map((scope) => this.read(hash, scope)));
    return found.some(Boolean);
  }

  /** Of these hashes, those suppressed for all lists or for `listId`: one `_id` read for them all. */
  async suppressedHashes(hashes: string[], listId?: string): Promise<Set<string>> {
    const ids = [...new Set(hashes)].flatMap((hash) =>
      scopesFor(listId).map((scope) => suppressionId(hash, scope)),
    );
    if (ids.length === 0) return new Set();
    const found = await findByIds<Stored & { emailHash: string }>(this.models.Suppression, ids, {
      emailHash: 1,
    });
    return new Set([...found.values()].map((d) => d.emailHash));
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

  /** Idempotent: the suppression in place afterwards and whether this call created it. */
  async ensure(
    normalisedEmail: string,
    scope: string,
    reason: SuppressionReason,
    extra: { channel?: string; campaignId?: string } = {},
  ): Promise<SuppressionState> {
    const [state] = await this.ensureAll([
      { emailHash: this.hash(normalisedEmail), scope, reason, ...extra },
    ]);
    return state!;
  }

  /**
   * Idempotent, for many at once: the stamps of the opt-outs among them, then one unordered insert
   * of them all, then a read of each that already existed.
   */
  async ensureAll(specs: SuppressionSpec[]): Promise<SuppressionState[]> {
    const out: Array<SuppressionState | undefined> = specs.map(() => undefined);
    const idOf = (s: SuppressionSpec) => suppressionId(s.emailHash, s.scope);
    await this.stamp(
      specs.flatMap((s) =>
        s.optedOutAt ? [{ id: idOf(s), at: s.optedOutAt, reason: s.reason }] : [],
      ),
    );
    // A suppression lifted between our insert and our read is written again: rare, and bounded.
    for (let round = 0; round < 5 && out.some((s) => !s); round++) {
      const todo = specs.map((s, i) => ({ s, i })).filter(({ i }) => !out[i]);
      const now = this.clock.now();
      const docs = todo.map(({ s }) => ({
        _id: idOf(s),
        emailHash: s.emailHash,
        scope: s.scope,
        reason: s.reason,
        generation: new Types.ObjectId(),
        ...(s.channel ? { channel: s.channel } : {}),
        ...(s.campaignId ? { campaignId: new Types.ObjectId(s.campaignId) } : {}),
        createdAt: now,
        updatedAt: now,
      }));
      const inserted = await insertEach(this.models.Suppression.collection, docs);
      const existing = await this.readAll(docs.filter((_d, k) => !inserted[k]).map((d) => d._id));
      todo.forEach(({ s, i }, k) => {
        const ours = docs[k]!;
        if (inserted[k]) {
          out[i] = { generation: ours.generation, reason: s.reason, created: true };
          return;
        }
        const doc = existing.get(ours._id);
        // Our own insert from an attempt whose answer was lost also reads back as "already there".
        if (doc)
          out[i] = {
            generation: doc.generation,
            reason: doc.reason,
            created: doc.generation.equals(ours.generation),
          };
      });
    }
    if (out.some((s) => !s)) throw new Error('suppression kept disappearing while being written');
    return out as SuppressionState[];
  }

  /**
   * Records the latest opt-out time per suppression: an insert for a first stamp (the usual case,
   * and far cheaper than an update), `$max` on those already there, so a stamp never moves back.
   */
  private async stamp(stamps: Array<{ id: string; at: Date; reason: SuppressionReason }>) {
    const latest = new Map<string, (typeof stamps)[number]>();
    for (const s of stamps) {
      const seen = latest.get(s.id);
      if (!seen || seen.at < s.at) latest.set(s.id, s);
    }
    const all = [...latest.values()];
    const inserted = await insertEach(
      this.models.SuppressionStamp.collection,
      all.map((s) => ({ _id: s.id, at: s.at, reason: s.reason })),
    );
    await writeInOrder(
      this.models.SuppressionStamp,
      all
        .filter((_s, i) => !inserted[i])
        .map((s) => ({
          updateOne: {
            filter: { _id: s.id },
            update: { $max: { at: s.at }, $set: { reason: s.reason } },
          },
        })),
    );
  }

  /** The suppressions of this address in these scopes, with the reason each was written for. */
  async find(normalisedEmail: string, scopes: string[]): Promise<Map<string, SuppressionReason>> {
    const hash = this.hash(normalisedEmail);
    const docs = await Promise.all(scopes.map((scope) => this.read(hash, scope)));
    return new Map(
      scopes.flatMap((scope, i) => (docs[i] ? [[scope, docs[i].reason] as const] : [])),
    );
  }

  /**
   * Lifts suppressions after the person confirmed a new opt-in themselves; `reasons` narrows it so
   * a suppression written for another reason (a complaint) stays. `decidedAt` is when the caller
   * read the suppressions it decided on: an opt-out stamped after that keeps its suppression.
   *
   * Neither a filtered delete nor a compare-and-set decides a race on every database we run on
   * (docs/database.md), so the two sides write, then read what the other writes: an opt-out
   * stamps, then inserts its suppression; a lift deletes, then reads the stamp. An opt-out whose
   * stamp the second read misses inserted its suppression after the delete; one it finds is written
   * back here.
   */
  async lift(
    normalisedEmail: string,
    scopes: string[],
    decidedAt: Date,
    reasons?: SuppressionReason[],
  ): Promise<void> {
    const hash = this.hash(normalisedEmail);
    const newer = (stamp: Stamp | null) => Boolean(stamp && stamp.at > decidedAt);
    for (const scope of scopes) {
      const id = suppressionId(hash, scope);
      const [doc, before] = await Promise.all([this.read(hash, scope), this.readStamp(id)]);
      if (!doc || (reasons && !reasons.includes(doc.reason)) || newer(before)) continue;
      await retryTransient(() => this.models.Suppression.deleteOne({ _id: id }));
      const after = await this.readStamp(id);
      if (newer(after)) await this.ensureAll([{ emailHash: hash, scope, reason: after!.reason }]);
    }
  }

  private readStamp(id: string): Promise<Stamp | null> {
    return retryTransient(() => this.models.SuppressionStamp.findById(id).lean<Stamp>());
  }

  private async read(emailHash: string, scope: string): Promise<Stored | null> {
    return this.reads.byId(suppressionId(emailHash, scope));
  }

  private async readAll(ids: string[]): Promise<Map<string, Stored>> {
    return findByIds<Stored>(this.models.Suppression, ids, STORED);
  }
}

const scopesFor = (listId?: string) => (listId ? [ALL_LISTS, listId] : [ALL_LISTS]);

export { ALL_LISTS };
