import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import { ALL_LISTS, suppressionId, type SUPPRESSION_REASONS } from '../db/models/suppression.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import { insertEach } from '../db/bulk.js';
import { findByIds, GroupRead } from '../db/group-read.js';

export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** A suppression to be in place: address hash, scope (ALL_LISTS or a list id), why. */
export interface SuppressionSpec {
  emailHash: string;
  scope: string;
  reason: SuppressionReason;
  channel?: string;
  campaignId?: string;
  /**
   * The generation to give it if this write creates it (else a new one): an opt-out recorded before
   * its completion names it in advance, so the completion can tell it created the suppression.
   */
  generation?: Types.ObjectId;
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

/**
 * "Never mail this address (on this list)", by keyed hash so it survives erasure. Every read and
 * write is by `_id` (hash and scope, src/db/models/suppression.ts), the one lookup the embedded
 * FerretDB answers from an index; so checking a recipient or writing an opt-out costs the same at
 * a hundred suppressions as at a million.
 */
export class SuppressionService {
  private settlePending: ((emailHash: string) => Promise<void>) | undefined;
  private readonly reads: GroupRead<Stored>;

  constructor(
    private readonly models: Pick<Models, 'Suppression'>,
    private readonly protector: DataProtector,
    private readonly clock: Clock = systemClock,
  ) {
    this.reads = new GroupRead(models.Suppression, STORED);
  }

  hash(normalisedEmail: string): string {
    return this.protector.emailHash(normalisedEmail);
  }

  /**
   * Runs before find() and lift(), the reads and writes that decide about one address (subscribe
   * form and confirmation, preference centre). The unsubscribe follow-ups use it to finish the
   * opt-outs still in flight, so a decision sees their memberships and ledger entries, and their
   * late membership update can never undo the resubscribe that follows.
   */
  settleFirst(hook: (emailHash: string) => Promise<void>): void {
    this.settlePending = hook;
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
   * Idempotent, for many at once: one unordered insert of them all, then a read of each that
   * already existed. With `{ existing: true }` (the caller expects them to be there, as the
   * follow-ups do) the reads come first and only the missing ones are inserted: on the embedded
   * FerretDB an insert refused as a duplicate costs far more than a read. A suppression whose
   * generation the spec names was created by this opt-out, whichever write brought it.
   */
  async ensureAll(
    specs: SuppressionSpec[],
    opts: { existing?: boolean } = {},
  ): Promise<SuppressionState[]> {
    const out: Array<SuppressionState | undefined> = specs.map(() => undefined);
    const idOf = (s: SuppressionSpec) => suppressionId(s.emailHash, s.scope);
    if (opts.existing) {
      const found = await this.readAll(specs.map(idOf));
      specs.forEach((s, i) => {
        const doc = found.get(idOf(s));
        // Written by the caller itself earlier when it named the generation in advance.
        const created = Boolean(s.generation && doc?.generation.equals(s.generation));
        if (doc) out[i] = { generation: doc.generation, reason: doc.reason, created };
      });
    }
    // A suppression lifted between our insert and our read is written again: rare, and bounded.
    for (let round = 0; round < 5 && out.some((s) => !s); round++) {
      const todo = specs.map((s, i) => ({ s, i })).filter(({ i }) => !out[i]);
      const now = this.clock.now();
      const docs = todo.map(({ s }) => ({
        _id: idOf(s),
        emailHash: s.emailHash,
        scope: s.scope,
        reason: s.reason,
        generation: s.generation ?? new Types.ObjectId(),
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

  /** The suppressions of this address in these scopes, with the reason each was written for. */
  async find(normalisedEmail: string, scopes: string[]): Promise<Map<string, SuppressionReason>> {
    const hash = this.hash(normalisedEmail);
    await this.settlePending?.(hash);
    const docs = await Promise.all(scopes.map((scope) => this.read(hash, scope)));
    return new Map(
      scopes.flatMap((scope, i) => (docs[i] ? [[scope, docs[i].reason] as const] : [])),
    );
  }

  /**
   * Lifts suppressions after the person confirmed a new opt-in themselves; `reasons` narrows it so
   * a suppression written for another reason (a complaint) stays.
   */
  async lift(
    normalisedEmail: string,
    scopes: string[],
    reasons?: SuppressionReason[],
  ): Promise<void> {
    const hash = this.hash(normalisedEmail);
    await this.settlePending?.(hash);
    for (const scope of scopes) {
      const doc = await this.read(hash, scope);
      if (doc && (!reasons || reasons.includes(doc.reason))) {
        await this.models.Suppression.deleteOne({ _id: suppressionId(hash, scope) });
      }
    }
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
