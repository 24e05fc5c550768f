import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import { insertEach } from '../db/bulk.js';
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
   * Entries in one unordered insert, for a batch of steps that may run again (an opt-out retried
   * after a crash): each has an `_id` derived from what it records, and those already there are
   * skipped. No wording, locale or network evidence: these are withdrawals.
   */
  async recordAll(
    records: Array<
      Pick<ConsentRecord, 'subscriberId' | 'listId' | 'kind' | 'source'> & {
        id: Types.ObjectId;
        at: Date;
      }
    >,
  ): Promise<void> {
    // The driver, not mongoose: every field is typed here, and document casting cost more CPU
    // than the insert on the opt-out path.
    await insertEach(
      this.models.ConsentEvent.collection,
      records.map((r) => ({
        _id: r.id,
        at: r.at,
        subscriberId: new Types.ObjectId(r.subscriberId),
        ...(r.listId ? { listId: new Types.ObjectId(r.listId) } : {}),
        kind: r.kind,
        source: r.source,
      })),
    );
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
