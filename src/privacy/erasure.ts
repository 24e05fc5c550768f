import type { DomainEvents } from '../events/domain-events.js';
import type { Connection, Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import type { ErasureJobDoc } from '../db/models/privacy.js';
import type { Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import { maskEmail } from '../shared/email.js';
import type { SuppressionService } from '../unsubscribe/suppressions.js';
import { ALL_LISTS } from '../unsubscribe/suppressions.js';
import type { AuditContext, AuditLog } from './audit.js';
import { PERSONAL_DATA, type PersonalDataEntry, type SubjectKeys } from './personal-data.js';
import type { SubjectDataService } from './subject-data.js';

/** What the steps need to find and redact; sealed in the job while it runs. */
interface Identifiers {
  emails: string[];
  names: string[];
  phones: string[];
}

export interface ErasureResult {
  jobId: string;
  status: 'done';
  stepsDone: string[];
  counts: Record<string, number>;
  /** True when this call continued a job a crash had left half done. */
  resumed: boolean;
}

/** A contact the retention run removes. */
export interface ContactToRemove {
  _id: Types.ObjectId;
  email: string;
  name?: string | null;
  phone?: string | null;
}

type Job = ErasureJobDoc & { _id: Types.ObjectId };

const SUPPRESS_STEP = 'suppress';
const AUDIT_STEP = 'record';
// Names shorter than this would match unrelated text in audit details.
const MIN_NAME_LENGTH = 3;

/**
 * Erasure (Art. 17) without multi-document transactions: a job document lists the steps done;
 * each step is idempotent; a re-run with the same address (or `resumeAll` at start) continues the
 * unfinished job. Order: the suppression first (a crash can never leave a mailable, half-erased
 * person), then every registry entry (src/privacy/personal-data.ts) in its order, then the audit
 * record, which names only the erased ids and the keyed hash.
 *
 * The retention run uses the same steps for a batch of contacts, without the suppression: a
 * contact removed for age never opted out and may subscribe again.
 */
export class ErasureService {
  constructor(
    private readonly models: Pick<Models, 'ErasureJob' | 'Subscriber'>,
    private readonly connection: Connection,
    private readonly subjects: SubjectDataService,
    private readonly suppressions: SuppressionService,
    private readonly protector: DataProtector,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly events: DomainEvents,
  ) {}

  /** A person's erasure, on request. */
  async erase(
    ctx: AuditContext,
    email: string,
    opts: { requestId?: string } = {},
  ): Promise<ErasureResult> {
    const keys = await this.subjects.keys(email);
    let job = (await this.models.ErasureJob.findOne({
      emailHashes: keys.emailHashes[0],
      status: 'running',
    }).lean()) as Job | null;
    const resumed = Boolean(job);
    if (job && job.reason !== 'request') {
      // A person asking while retention is removing them must still end up suppressed.
      await this.models.ErasureJob.updateOne({ _id: job._id }, { $set: { reason: 'request' } });
      job.reason = 'request';
    }
    if (!job) {
      const subs = await this.models.Subscriber.find(
        { _id: { $in: keys.subscriberIds } },
        { email: 1, name: 1, phone: 1 },
      ).lean();
      job = await this.createJob(
        ctx,
        'request',
        keys,
        identifiers(keys.emails, subs),
        opts.requestId,
      );
    }
    return this.run(ctx, job, resumed);
  }

  /** Removes a batch of contacts for the retention run: one job, a few queries per step. */
  async removeContacts(ctx: AuditContext, contacts: ContactToRemove[]): Promise<ErasureResult> {
    const emails = contacts.map((c) => c.email);
    const keys: SubjectKeys = {
      emails,
      emailHashes: emails.map((e) => this.protector.emailHash(e)),
      subscriberIds: contacts.map((c) => c._id),
    };
    const job = await this.createJob(ctx, 'retention', keys, identifiers(emails, contacts));
    return this.run(ctx, job, false);
  }

  /** Finishes every job a crash left running (called at start). */
  async resumeAll(ctx: AuditContext): Promise<number> {
    const jobs = (await this.models.ErasureJob.find({ status: 'running' }).lean()) as Job[];
    for (const job of jobs) await this.run(ctx, job, true);
    return jobs.length;
  }

  private async createJob(
    ctx: AuditContext,
    reason: 'request' | 'retention',
    keys: SubjectKeys,
    ids: Identifiers,
    requestId?: string,
  ): Promise<Job> {
    const doc = await this.models.ErasureJob.create({
      emailHashes: keys.emailHashes,
      identifiersSealed: this.protector.encrypt(JSON.stringify(ids)),
      subscriberIds: keys.subscriberIds,
      reason,
      status: 'running',
      requestId,
      startedBy: ctx.actor.type === 'staff' ? ctx.actor.userId : ctx.actor.type,
    });
    return doc.toObject() as Job;
  }

  private async run(ctx: AuditContext, job: Job, resumed: boolean): Promise<ErasureResult> {
    const ids = JSON.parse(this.protector.decrypt(job.identifiersSealed!)) as Identifiers;
    const keys: SubjectKeys = {
      emails: ids.emails,
      emailHashes: job.emailHashes,
      subscriberIds: job.subscriberIds as Types.ObjectId[],
    };
    const done = new Set(job.stepsDone);
    const counts: Record<string, number> = { ...(job.counts as Record<string, number>) };
    const step = async (name: string, fn: () => Promise<number>) => {
      if (done.has(name)) return;
      counts[name] = await fn();
      done.add(name);
      await this.models.ErasureJob.updateOne(
        { _id: job._id },
        { $addToSet: { stepsDone: name }, $set: { [`counts.${name}`]: counts[name] } },
      );
    };

    if (job.reason === 'request') {
      await step(SUPPRESS_STEP, async () => {
        let created = 0;
        for (const email of keys.emails) {
          if (await this.suppressions.suppress(email, ALL_LISTS, 'erasure', { channel: 'erasure' }))
            created += 1;
        }
        return created;
      });
    }
    for (const entry of PERSONAL_DATA) {
      await step(entry.key, () => this.apply(entry, keys, ids));
    }
    await step(AUDIT_STEP, async () => {
      const request = job.reason === 'request';
      await this.audit.record(
        ctx,
        request ? 'privacy.erase' : 'retention.erase',
        request && keys.subscriberIds[0] ? String(keys.subscriberIds[0]) : null,
        {
          ...(request ? { emailHash: keys.emailHashes[0] } : {}),
          subscriberIds: keys.subscriberIds.map(String),
          jobId: String(job._id),
          requestId: job.requestId,
          counts,
        },
      );
      return 1;
    });
    // Before the job is done, so a crash here emits them on resume (once: keyed by the id).
    await this.events.emit(
      keys.subscriberIds.map((id) => ({
        type: 'subscriber.erased' as const,
        key: String(id),
        subscriberId: id,
      })),
    );
    await this.models.ErasureJob.updateOne(
      { _id: job._id },
      { $set: { status: 'done', finishedAt: this.clock.now() }, $unset: { identifiersSealed: 1 } },
    );
    return { jobId: String(job._id), status: 'done', stepsDone: [...done], counts, resumed };
  }

  private async apply(
    entry: PersonalDataEntry,
    keys: SubjectKeys,
    ids: Identifiers,
  ): Promise<number> {
    const filter = entry.match(keys);
    if (!filter) return 0;
    const coll = this.connection.collection(entry.collection);
    switch (entry.erase.kind) {
      case 'delete':
        return (await coll.deleteMany(filter)).deletedCount;
      case 'unset': {
        const unset = Object.fromEntries(entry.erase.fields.map((f) => [f, '']));
        return (
          await coll.updateMany(filter, { $unset: unset, $set: { erasedAt: this.clock.now() } })
        ).modifiedCount;
      }
      case 'redact-details':
        return this.redactDetails(coll, filter, ids);
      case 'keep':
        return 0;
    }
  }

  /**
   * Audit entries stay (who did what, when), but details that name the person are replaced: the
   * trail must not keep what erasure removes everywhere else.
   */
  private async redactDetails(
    coll: ReturnType<Connection['collection']>,
    filter: Record<string, unknown>,
    ids: Identifiers,
  ): Promise<number> {
    const needles = [...ids.emails, ...ids.emails.map(maskEmail), ...ids.names, ...ids.phones].map(
      (n) => n.toLowerCase(),
    );
    let redacted = 0;
    for await (const doc of coll.find(filter, { projection: { details: 1 } })) {
      const text = JSON.stringify(doc.details ?? null).toLowerCase();
      if (!needles.some((n) => text.includes(n))) continue;
      await coll.updateOne(
        { _id: doc._id },
        { $set: { details: { redacted: true, keys: Object.keys(doc.details as object) } } },
      );
      redacted += 1;
    }
    return redacted;
  }
}

function identifiers(
  emails: string[],
  people: Array<{ name?: string | null; phone?: string | null }>,
): Identifiers {
  return {
    emails,
    names: people.map((p) => p.name ?? '').filter((n) => n.trim().length >= MIN_NAME_LENGTH),
    phones: people.map((p) => p.phone ?? '').filter(Boolean),
  };
}
