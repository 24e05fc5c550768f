import { createHash } from 'node:crypto';
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
  /** Only passed when the operator turned on IP/user-agent recording. */
  ip?: string;
  userAgent?: string;
}

/** Append-only ledger of consent events; nothing here updates or deletes. */
export class ConsentLedger {
  constructor(private readonly models: Pick<Models, 'ConsentEvent' | 'ConsentText'>) {}

  async record(r: ConsentRecord): Promise<void> {
    let textHash: string | undefined;
    if (r.text) {
      textHash = createHash('sha256').update(r.text.body).digest('hex');
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
      textVersion: r.text?.version,
      locale: r.locale,
      ip: r.ip,
      userAgent: r.userAgent,
    });
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
