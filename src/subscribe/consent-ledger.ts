import { createHash } from 'node:crypto';
import type { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import type { ConsentKind } from '../db/models/consent.js';
import { isDuplicateKey } from '../shared/errors.js';

export interface ConsentRecord {
  subscriberId: string;
  listId?: string;
  kind: ConsentKind;
  /** The form, API client, or channel: web-form:<slug>, preferences, api, email, … */
  source: string;
  locale?: string;
  /** The exact wording shown; stored once, referenced by hash. */
  text?: { body: string; version: string; locale: string };
  /** A wording already stored (e.g. a confirmation refers to what the form showed). */
  textRef?: { hash: string; version: string };
  /** Only passed when the operator turned on IP/user-agent recording. */
  ip?: string;
  userAgent?: string;
}

export function consentTextHash(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Append-only ledger of consent events; nothing here updates or deletes. */
export class ConsentLedger {
  constructor(private readonly models: Pick<Models, 'ConsentEvent' | 'ConsentText'>) {}

  async record(r: ConsentRecord): Promise<void> {
    let textHash = r.textRef?.hash;
    if (r.text) {
      textHash = consentTextHash(r.text.body);
      await this.models.ConsentText.create({
        hash: textHash,
        version: r.text.version,
        locale: r.text.locale,
        text: r.text.body,
      }).catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
      });
    }
    await this.models.ConsentEvent.create({
      subscriberId: r.subscriberId,
      listId: r.listId,
      kind: r.kind,
      source: r.source,
      textHash,
      textVersion: r.text?.version ?? r.textRef?.version,
      locale: r.locale,
      ip: r.ip,
      userAgent: r.userAgent,
    });
  }

  /**
   * Entries in one unordered write, for a batch of steps that may run again (an opt-out retried
   * after a crash): each has an `_id` derived from what it records, and those already
   * there are skipped. `at` is when it happened, if not now. Stored wordings only (no `text`).
   */
  async recordAll(
    records: Array<Omit<ConsentRecord, 'text'> & { id: Types.ObjectId; at?: Date }>,
  ): Promise<void> {
    if (records.length === 0) return;
    await this.models.ConsentEvent.insertMany(
      records.map((r) => ({
        _id: r.id,
        ...(r.at ? { at: r.at } : {}),
        subscriberId: r.subscriberId,
        listId: r.listId,
        kind: r.kind,
        source: r.source,
        textHash: r.textRef?.hash,
        textVersion: r.textRef?.version,
        locale: r.locale,
        ip: r.ip,
        userAgent: r.userAgent,
      })),
      { ordered: false },
    ).catch((err: unknown) => {
      const errors = (err as { writeErrors?: Array<{ code?: number; err?: { code?: number } }> })
        .writeErrors;
      const onlyDuplicates =
        Array.isArray(errors) &&
        errors.length > 0 &&
        errors.every((e) => (e.code ?? e.err?.code) === 11000);
      if (!onlyDuplicates && !isDuplicateKey(err)) throw err;
    });
  }

  /** The wording of the latest event of this kind for the subscriber on the list. */
  async latestText(
    subscriberId: string,
    listId: string,
    kind: ConsentKind,
  ): Promise<{ hash: string; version: string } | undefined> {
    const [event] = await this.models.ConsentEvent.find(
      { subscriberId, listId, kind, textHash: { $exists: true } },
      { textHash: 1, textVersion: 1 },
    )
      .sort({ at: -1 })
      .limit(1)
      .lean();
    return event?.textHash ? { hash: event.textHash, version: event.textVersion ?? '' } : undefined;
  }

  async forSubscriber(subscriberId: string) {
    const events = await this.models.ConsentEvent.find({ subscriberId }).sort({ at: 1 }).lean();
    const hashes = [
      ...new Set(events.map((e) => e.textHash).filter((h): h is string => Boolean(h))),
    ];
    const texts = await this.models.ConsentText.find({ hash: { $in: hashes } }).lean();
    return { events, texts };
  }
}
