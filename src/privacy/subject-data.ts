import { Types, type Connection } from 'mongoose';
import { can } from '../auth/permissions.js';
import type { Models } from '../db/models/index.js';
import type { Role } from '../db/models/staff.js';
import type { Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import { normaliseEmail } from '../shared/email.js';
import { AppError, badRequest, notFound } from '../shared/errors.js';
import type { AuditContext, AuditLog } from './audit.js';
import { maskHetu } from './hetu.js';
import { COLLECTIONS, PERSONAL_DATA, type SubjectKeys } from './personal-data.js';

export type ExportRecord = Record<string, unknown>;

export interface SubjectExport {
  generatedAt: Date;
  subject: { email: string; subscriberIds: string[] };
  /** True when the identity number is shown in clear (the handler has pii.hetu.read). */
  hetuRevealed: boolean;
  sections: Array<{ key: string; title: string; records: ExportRecord[] }>;
}

/** Plain JSON: ObjectIds become hex strings, dates ISO strings, binary base64. */
function plain(doc: unknown): ExportRecord {
  return JSON.parse(JSON.stringify(doc)) as ExportRecord;
}

/**
 * Reads of one person's data: the access export (Art. 15) and the identity-number reveal. Every
 * read is audited, including refused reveals.
 */
export class SubjectDataService {
  constructor(
    private readonly models: Pick<Models, 'Subscriber'>,
    private readonly connection: Connection,
    private readonly protector: DataProtector,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async keys(emailInput: string): Promise<SubjectKeys> {
    const email = normaliseEmail(emailInput);
    if (!email) throw badRequest('email: not a valid email address');
    const emailHash = this.protector.emailHash(email);
    const subs = await this.models.Subscriber.find({ email }, { _id: 1 }).lean();
    return {
      emails: [email],
      emailHashes: [emailHash],
      subscriberIds: subs.map((s) => s._id as Types.ObjectId),
    };
  }

  /** The identity number as this role may see it: clear, masked, or absent. */
  hetuFor(role: Role, sealed: string | null | undefined, reveal: boolean): string | null {
    if (!sealed) return null;
    const clear = this.protector.decrypt(sealed);
    return reveal && can(role, 'pii.hetu.read') ? clear : maskHetu(clear);
  }

  async revealHetu(ctx: AuditContext, subscriberId: string): Promise<{ hetu: string | null }> {
    if (!Types.ObjectId.isValid(subscriberId)) throw notFound('subscriber');
    const actor = ctx.actor;
    const allowed = actor.type !== 'staff' || can(actor.role, 'pii.hetu.read');
    if (!allowed) {
      await this.audit.record(ctx, 'subscriber.hetu.reveal_denied', subscriberId);
      throw new AppError(
        'forbidden',
        `role ${actor.type === 'staff' ? actor.role : ''} lacks permission pii.hetu.read`,
      );
    }
    const sub = await this.models.Subscriber.findById(subscriberId, { hetuSealed: 1 }).lean();
    if (!sub) throw notFound('subscriber');
    await this.audit.record(ctx, 'subscriber.hetu.reveal', subscriberId, {
      present: Boolean(sub.hetuSealed),
    });
    return { hetu: sub.hetuSealed ? this.protector.decrypt(sub.hetuSealed) : null };
  }

  /** Everything held about one person, per the personal-data registry. Audited. */
  async export(ctx: AuditContext, emailInput: string, format: string): Promise<SubjectExport> {
    const keys = await this.keys(emailInput);
    const revealHetu = ctx.actor.type === 'staff' && can(ctx.actor.role, 'pii.hetu.read');
    const sections: SubjectExport['sections'] = [];
    for (const entry of PERSONAL_DATA) {
      const filter = entry.match(keys);
      const docs = filter
        ? await this.connection.collection(entry.collection).find(filter).limit(10_000).toArray()
        : [];
      const records = docs.map((d) => {
        const rec = plain(d);
        for (const f of entry.omit ?? []) delete rec[f];
        if (entry.collection === COLLECTIONS.subscribers) {
          const sealed = (d as { hetuSealed?: string }).hetuSealed;
          if (sealed)
            rec.hetu = revealHetu
              ? this.protector.decrypt(sealed)
              : maskHetu(this.protector.decrypt(sealed));
        }
        return rec;
      });
      sections.push({ key: entry.key, title: entry.title, records });
    }
    sections.push(await this.consentTexts(sections), await this.lists(sections));
    const subjectId = keys.subscriberIds[0] ? String(keys.subscriberIds[0]) : null;
    await this.audit.record(ctx, 'privacy.export', subjectId, {
      format,
      emailHash: keys.emailHashes[0],
      hetuRevealed: revealHetu,
    });
    return {
      generatedAt: this.clock.now(),
      subject: { email: keys.emails[0]!, subscriberIds: keys.subscriberIds.map(String) },
      hetuRevealed: revealHetu,
      sections,
    };
  }

  /** The wording the person agreed to, for every consent event that references one. */
  private async consentTexts(sections: SubjectExport['sections']) {
    const events = sections.find((s) => s.key === 'consentEvents')?.records ?? [];
    const hashes = [...new Set(events.map((e) => e.textHash).filter((h) => typeof h === 'string'))];
    const docs = hashes.length
      ? await this.connection
          .collection(COLLECTIONS.consentTexts)
          .find({ hash: { $in: hashes } })
          .toArray()
      : [];
    return { key: 'consentTexts', title: 'Consent texts agreed to', records: docs.map(plain) };
  }

  /** Names of the lists the memberships point to, so the export reads without ids. */
  private async lists(sections: SubjectExport['sections']) {
    const ids = (sections.find((s) => s.key === 'memberships')?.records ?? [])
      .map((m) => m.listId)
      .filter((id): id is string => typeof id === 'string' && Types.ObjectId.isValid(id))
      .map((id) => new Types.ObjectId(id));
    const docs = ids.length
      ? await this.connection
          .collection('lists')
          .find({ _id: { $in: ids } }, { projection: { name: 1, slug: 1, lawfulBasis: 1 } })
          .toArray()
      : [];
    return { key: 'lists', title: 'Lists', records: docs.map(plain) };
  }
}
