import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import { ALL_LISTS, suppressionId, type SUPPRESSION_REASONS } from '../db/models/suppression.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import { insertEach } from '../db/bulk.js';
import { mapConcurrent } from '../shared/concurrency.js';

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

/** Reads kept in flight at once: enough to keep the database busy, not flooded. */
export const READ_CONCURRENCY = 16;
/** Documents scanned in the time of one `_id` read, measured on the embedded FerretDB. */
const SCAN_BREAK_EVEN = 16;
const TOTAL_MAX_AGE_MS = 1000;

/**
 * "Never mail this address (on this list)", by keyed hash so it survives erasure. Every read and
 * write is by `_id` (hash and scope, src/db/models/suppression.ts), the one lookup the embedded
 * FerretDB answers from an index; so checking a recipient or writing an opt-out costs the same at
 * a hundred suppressions as at a million.
 */
export class SuppressionService {
  private settlePending: ((emailHash: string) => Promise<void>) | undefined;
  private total: { at: number; n: number } | undefined;

  constructor(
    private readonly models: Pick<Models, 'Suppression'>,
    private readonly protector: DataProtector,
    private readonly clock: Clock = systemClock,
  ) {}

  hash(normalisedEmail: string): string {
    return this.protector.emailHash(normalisedEmail);
  }

  /**
   * Runs before find() and lift(), the reads and writes that decide about one address (subscribe
   * form and confirmation, preference centre). The unsubscribe follow-ups use it to finish the
   * opt-outs still in flight (a one-click has no suppression until then), so a decision sees them
   * and their late membership update can never undo the resubscribe that follows.
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

  /**
   * Of these hashes, those suppressed for all lists or for `listId`. A batch of lookups against a
   * collection not much larger than the batch reads the collection once (about 14 µs a document on
   * the embedded FerretDB); otherwise each lookup is an `_id` read (about 250 µs), whose cost does
   * not grow with the collection.
   */
  async suppressedHashes(hashes: string[], listId?: string): Promise<Set<string>> {
    const scopes = scopesFor(listId);
    const distinct = [...new Set(hashes)];
    const lookups = distinct.flatMap((hash) => scopes.map((scope) => ({ hash, scope })));
    if (lookups.length === 0) return new Set();
    if ((await this.estimatedTotal()) <= lookups.length * SCAN_BREAK_EVEN) {
      const docs = await this.models.Suppression.find(
        { emailHash: { $in: distinct }, scope: { $in: scopes } },
        { emailHash: 1 },
      ).lean();
      return new Set(docs.map((d) => d.emailHash));
    }
    const hit = new Set<string>();
    await mapConcurrent(lookups, READ_CONCURRENCY, async ({ hash, scope }) => {
      if (!hit.has(hash) && (await this.read(hash, scope))) hit.add(hash);
    });
    return hit;
  }

  /**
   * The collection's size for choosing between a scan and point reads, at most a second old: the
   * send worker asks before every chunk of mails, and a stale figure only picks the slower way.
   */
  private async estimatedTotal(): Promise<number> {
    // Real time, not the injected clock: this is a cache's age, not a business decision.
    const now = Date.now();
    if (!this.total || now - this.total.at > TOTAL_MAX_AGE_MS) {
      this.total = { at: now, n: await this.models.Suppression.estimatedDocumentCount() };
    }
    return this.total.n;
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
   * follow-ups do) the reads come first and only the missing ones are inserted.
   */
  async ensureAll(
    specs: SuppressionSpec[],
    opts: { existing?: boolean } = {},
  ): Promise<SuppressionState[]> {
    const out: Array<SuppressionState | undefined> = specs.map(() => undefined);
    if (opts.existing) {
      await mapConcurrent(
        specs.map((s, i) => ({ s, i })),
        READ_CONCURRENCY,
        async ({ s, i }) => {
          const doc = await this.read(s.emailHash, s.scope);
          if (doc) out[i] = { generation: doc.generation, reason: doc.reason, created: false };
        },
      );
    }
    // A suppression lifted between our insert and our read is written again: rare, and bounded.
    for (let round = 0; round < 5 && out.some((s) => !s); round++) {
      const todo = specs.map((s, i) => ({ s, i })).filter(({ i }) => !out[i]);
      const now = this.clock.now();
      const docs = todo.map(({ s }) => ({
        _id: suppressionId(s.emailHash, s.scope),
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
      await mapConcurrent(
        todo.map((t, k) => ({ ...t, k })),
        READ_CONCURRENCY,
        async ({ s, i, k }) => {
          const ours = docs[k]!;
          if (inserted[k]) {
            out[i] = { generation: ours.generation, reason: s.reason, created: true };
            return;
          }
          const doc = await this.read(s.emailHash, s.scope);
          // Our own insert from an attempt whose answer was lost also reads back as "already there".
          if (doc) out[i] = { ...doc, created: doc.generation.equals(ours.generation) };
        },
      );
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

  private async read(
    emailHash: string,
    scope: string,
  ): Promise<{ generation: Types.ObjectId; reason: SuppressionReason } | null> {
    const doc = await this.models.Suppression.findById(suppressionId(emailHash, scope), {
      generation: 1,
      reason: 1,
    }).lean();
    return doc ? { generation: doc.generation, reason: doc.reason } : null;
  }
}

const scopesFor = (listId?: string) => (listId ? [ALL_LISTS, listId] : [ALL_LISTS]);

export { ALL_LISTS };
