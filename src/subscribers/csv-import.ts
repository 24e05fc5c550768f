import { subscriberCreated, type DomainEvent, type DomainEvents } from '../events/domain-events.js';
import { Types, type AnyBulkWriteOperation } from 'mongoose';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import {
  IMPORT_COUNTERS,
  IMPORT_MODES,
  type ImportCounter,
  type ImportJobDoc,
} from '../db/models/import-job.js';
import { refusedAsDuplicates } from '../db/bulk.js';
import type { Models } from '../db/models/index.js';
import { membershipId, type MembershipDoc } from '../db/models/membership.js';
import { LOCALES } from '../db/models/subscriber.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import { ATTRIBUTE_KEY } from '../segments/rules.js';
import type { Clock } from '../shared/clock.js';
import { KeyedQueue, Semaphore } from '../shared/concurrency.js';
import type { DataProtector } from '../shared/crypto.js';
import { normaliseEmail } from '../shared/email.js';
import { findByIds } from '../db/group-read.js';
import { AppError, notFound } from '../shared/errors.js';
import type { SuppressionService } from '../unsubscribe/suppressions.js';
import { csvRecords } from './csv-records.js';
import type { Holder, SubscriberAddresses } from './by-address.js';

/** Plain fields an import may set; the identity number is never importable in bulk. */
export const IMPORT_FIELDS = ['email', 'name', 'phone', 'locale', 'customerSegment'] as const;
const importTarget = z.union([
  z.enum(IMPORT_FIELDS),
  z
    .string()
    .regex(
      new RegExp(`^attributes\\.${ATTRIBUTE_KEY.source.slice(1, -1)}$`),
      'a field (email, name, phone, locale, customerSegment) or attributes.KEY',
    ),
]);

/** The options of an import, from multipart fields or query parameters (strings). */
export const importOptionsSchema = z.strictObject({
  mode: z.enum(IMPORT_MODES).default('add'),
  // Spreadsheets in Finnish locales save CSV with semicolons; the admin app detects which.
  delimiter: z.enum([',', ';', '\t']).optional(),
  list: z.string().min(1).max(200).optional(),
  // CSV header -> target; JSON in a form field or query parameter.
  mapping: z
    .string()
    .max(20_000)
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string().min(1).max(200), importTarget))
    .optional(),
});
export type ImportOptions = z.output<typeof importOptionsSchema>;

export const BATCH_SIZE = 1000;
export const MAX_STORED_ERRORS = 1000;
const RECORD_LIMITS = { maxRecordChars: 64 * 1024, maxRecordLines: 100 };
/** Imports reading at once, across lists; the others wait their turn. */
const MAX_RUNNING_IMPORTS = 2;
const NOT_MAILABLE = new Set(['unsubscribed', 'complained', 'bounced']);
const limits = { name: 200, phone: 50, customerSegment: 100, attribute: 1000 };

type Counts = Record<ImportCounter, number>;

export interface ImportJobView {
  id: string;
  status: string;
  mode: string;
  listId: string | null;
  counts: Counts;
  errors: Array<{ line: number; message: string }>;
  errorCount: number;
  failure: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

type MembershipFields = Omit<MembershipDoc, 'createdAt' | 'updatedAt'>;

interface Join {
  subscriberId: Types.ObjectId;
  status: 'subscribed' | 'unconfirmed';
}

interface Row {
  line: number;
  email: string;
  hash: string;
  set: Record<string, string>;
}

/** A started import: the job exists and a CSV stream can be fed to it. */
interface Job {
  delimiter: string;
  id: Types.ObjectId;
  mode: ImportOptions['mode'];
  listId?: Types.ObjectId;
  mapping?: Record<string, string>;
  counts: Counts;
  errors: Array<{ line: number; message: string }>;
  errorCount: number;
  seen: Set<string>;
  /** The line where the last record read starts, named when the upload breaks off. */
  lastLine: number;
}

/**
 * Streams a CSV into subscribers and one list. Memory is bounded by one batch of rows plus the
 * set of email hashes already seen (needed to merge duplicates across the whole file). Each batch
 * costs one read of suppressions, unordered bulk inserts of subscribers and memberships, and,
 * for addresses already known, an indexed read of their holders and a few `_id` reads each (a bounded number at a
 * time). Nothing here ever makes an unsubscribed, complained, bounced or suppressed address
 * mailable again, nor touches an unsubscribed membership: such rows are counted as skipped.
 */
export class ImportService {
  constructor(
    private readonly models: Pick<Models, 'ImportJob' | 'Subscriber' | 'Membership' | 'List'>,
    private readonly addresses: SubscriberAddresses,
    private readonly suppressions: Pick<SuppressionService, 'suppressedHashes'>,
    private readonly protector: DataProtector,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly events: DomainEvents,
  ) {}

  private readonly perList = new KeyedQueue();
  private readonly running = new Semaphore(MAX_RUNNING_IMPORTS);

  /** Validates the options and records the job; the caller then feeds the CSV to `run`. */
  async start(ctx: AuditContext, options: ImportOptions): Promise<Job> {
    const mapping = options.mapping;
    if (mapping && !Object.values(mapping).includes('email'))
      throw new AppError('validation_failed', 'mapping: no column is mapped to email');
    let listId: Types.ObjectId | undefined;
    if (options.list) {
      const list = await this.models.List.findOne(
        Types.ObjectId.isValid(options.list)
          ? { $or: [{ _id: options.list }, { slug: options.list }] }
          : { slug: options.list },
      ).select('_id');
      if (!list) throw new AppError('validation_failed', `list: no list ${options.list}`);
      listId = list._id;
    }
    const doc = await this.models.ImportJob.create({
      status: 'running',
      mode: options.mode,
      listId,
      mapping: mapping ? Object.entries(mapping).map(([column, field]) => ({ column, field })) : [],
      createdBy: ctx.actor.type === 'staff' ? ctx.actor.userId : undefined,
    });
    const counts = Object.fromEntries(IMPORT_COUNTERS.map((c) => [c, 0])) as Counts;
    return {
      id: doc._id,
      mode: options.mode,
      listId,
      mapping,
      delimiter: options.delimiter ?? ',',
      counts,
      errors: [],
      errorCount: 0,
      seen: new Set(),
      lastLine: 0,
    };
  }

  /**
   * Reads the CSV to its end. A stream that fails (a broken upload, no email column) marks the
   * job failed and rethrows; rows already written stay written and are in the counts.
   */
  async run(ctx: AuditContext, job: Job, input: Readable): Promise<ImportJobView> {
    try {
      // One import per list at a time, and few at all: the rest wait with their upload paused,
      // so bulk work never takes the capacity that opt-outs and pages need.
      await this.perList.run(String(job.listId ?? ''), () =>
        this.running.run(() => this.consume(job, input)),
      );
      await this.save(job, { status: 'completed', finishedAt: this.clock.now() });
    } catch (err) {
      const failure = err instanceof AppError ? err.message : 'the CSV could not be read';
      await this.save(job, { status: 'failed', failure, finishedAt: this.clock.now() });
      throw err instanceof AppError ? err : new AppError('bad_request', failure);
    } finally {
      job.seen.clear();
      await this.audit.record(ctx, 'subscribers.import', null, {
        jobId: String(job.id),
        listId: job.listId ? String(job.listId) : undefined,
        mode: job.mode,
        counts: job.counts,
      });
    }
    return this.get(String(job.id));
  }

  async get(id: string): Promise<ImportJobView> {
    const doc = Types.ObjectId.isValid(id) ? await this.models.ImportJob.findById(id) : null;
    if (!doc) throw notFound('import');
    return toView(doc);
  }

  private async consume(job: Job, input: Readable): Promise<void> {
    let columns: Array<string | false> | undefined;
    let batch: Row[] = [];
    try {
      for await (const record of csvRecords(input, {
        ...RECORD_LIMITS,
        delimiter: job.delimiter,
      })) {
        job.lastLine = record.line;
        if (!columns) {
          if (record.error !== undefined)
            throw new AppError('validation_failed', `file: the header line ${record.error}`);
          columns = this.columnsFor(job, record.fields);
          continue;
        }
        job.counts.total += 1;
        if (record.error !== undefined) {
          this.invalid(job, record.line, `not a well-formed CSV record: ${record.error}`);
        } else if (record.fields.length !== columns.length) {
          this.invalid(
            job,
            record.line,
            `not a well-formed CSV record: ${record.fields.length} fields, the header has ${columns.length}`,
          );
        } else {
          const row = this.row(job, named(columns, record.fields), record.line);
          if (row) batch.push(row);
        }
        if (batch.length >= BATCH_SIZE) {
          await this.flush(job, batch);
          batch = [];
        }
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError(
        'bad_request',
        `the upload broke off after line ${job.lastLine}; the rest of the file was not read`,
      );
    }
    if (!columns) throw new AppError('validation_failed', 'file: the CSV is empty');
    await this.flush(job, batch);
  }

  /** Header -> our field names; `false` for the columns the import drops. */
  private columnsFor(job: Job, header: string[]): Array<string | false> {
    const wanted = (h: string): string | undefined => {
      if (job.mapping) return job.mapping[h];
      // Without a mapping, headers that already name a field (any case) are taken as they are.
      const plain = IMPORT_FIELDS.find((f) => f.toLowerCase() === h.toLowerCase());
      return plain ?? (importTarget.safeParse(h).success ? h : undefined);
    };
    const columns = header.map((h) => wanted(h) ?? false);
    if (!columns.includes('email')) {
      throw new AppError(
        'validation_failed',
        job.mapping
          ? 'mapping: the CSV has no column mapped to email'
          : 'file: no "email" column; give a mapping',
      );
    }
    return columns;
  }

  /** One parsed record, validated; null when it is invalid or a duplicate (counted). */
  private row(job: Job, record: Record<string, string>, line: number): Row | null {
    const email = normaliseEmail(record.email);
    if (!email) return this.invalid(job, line, 'email: not a valid email address');
    const set: Record<string, string> = {};
    for (const [field, value] of Object.entries(record)) {
      if (field === 'email' || value === '') continue;
      const limit = field.startsWith('attributes.')
        ? limits.attribute
        : limits[field as keyof typeof limits];
      if (value.length > limit)
        return this.invalid(job, line, `${field}: longer than ${limit} characters`);
      if (field === 'locale' && !(LOCALES as readonly string[]).includes(value))
        return this.invalid(job, line, `locale: must be one of ${LOCALES.join(', ')}`);
      set[field] = value;
    }
    const hash = this.protector.emailHash(email);
    if (job.seen.has(hash)) {
      job.counts.duplicates += 1;
      return null;
    }
    job.seen.add(hash);
    return { line, email, hash, set };
  }

  private invalid(job: Job, line: number, message: string): null {
    job.counts.invalid += 1;
    job.errorCount += 1;
    if (job.errors.length < MAX_STORED_ERRORS) job.errors.push({ line, message });
    return null;
  }

  private async flush(job: Job, rows: Row[]): Promise<void> {
    if (rows.length > 0) await this.writeBatch(job, rows);
    await this.save(job, {});
  }

  /**
   * Suppressions are checked before anything is written. Then every row is created unless its
   * address is taken (src/subscribers/by-address.ts): a batch of new addresses costs one bulk
   * insert and no lookup; the addresses found taken cost one indexed read of their holders.
   */
  private async writeBatch(job: Job, rows: Row[]): Promise<void> {
    const listId = job.listId;
    const suppressed = await this.suppressions.suppressedHashes(
      rows.map((r) => r.hash),
      listId ? String(listId) : undefined,
    );
    const candidates = rows.filter((r) => !suppressed.has(r.hash));
    job.counts.skippedSuppressed += rows.length - candidates.length;

    const source = `import:${String(job.id)}`;
    const docs = candidates.map((row) => ({
      _id: new Types.ObjectId(),
      email: row.email,
      ...nest(row.set),
      source,
      status: 'subscribed' as const,
    }));
    const holders = await this.addresses.createMany(docs, ['status']);
    const joins: Join[] = [];
    const known: Array<{ row: Row; holder: Holder<'status'> }> = [];
    const created: DomainEvent[] = [];
    candidates.forEach((row, i) => {
      const holder = holders[i];
      if (holder) return known.push({ row, holder });
      job.counts.created += 1;
      const subscriberId = docs[i]!._id;
      created.push(subscriberCreated(subscriberId, { status: 'subscribed', source }));
      if (listId) joins.push({ subscriberId, status: 'subscribed' });
    });
    // Told to webhooks; an import joins people to a list without starting its welcome series.
    await this.events.emit(created);
    if (known.length) joins.push(...(await this.mergeExisting(job, known)));

    if (listId && joins.length) {
      const now = this.clock.now();
      const ops: AnyBulkWriteOperation<MembershipFields>[] = joins.map((j) => ({
        insertOne: {
          document: {
            _id: membershipId(j.subscriberId, listId),
            subscriberId: j.subscriberId,
            listId,
            status: j.status,
            source,
            subscribedAt: j.status === 'subscribed' ? now : undefined,
          },
        },
      }));
      // A membership someone else created meanwhile is theirs to keep: refused inserts are fine.
      const refused = await refusedAsDuplicates(() =>
        this.models.Membership.bulkWrite<MembershipFields>(ops, { ordered: false }),
      );
      // The list may have been removed since the job started. Its removal deletes memberships, the
      // list, then memberships again (src/subscribers/lists.ts): what this batch wrote after that
      // is taken back here, so no membership outlives its list, and the job stops.
      if (!(await this.models.List.exists({ _id: listId }))) {
        await this.models.Membership.deleteMany({
          _id: { $in: joins.map((j) => membershipId(j.subscriberId, listId)) },
        });
        throw new AppError('invalid_state', 'the list was removed during the import');
      }
      job.counts.addedToList += ops.length - refused.length;
    }
  }

  /** Rows whose address is already a subscriber's; returns the list joins to make. */
  private async mergeExisting(
    job: Job,
    known: Array<{ row: Row; holder: Holder<'status'> }>,
  ): Promise<Join[]> {
    const listId = job.listId;
    const memberships = listId
      ? await findByIds<{ status: string }>(
          this.models.Membership,
          known.map(({ holder }) => membershipId(holder._id, listId)),
          { status: 1 },
        )
      : new Map<string, { status: string }>();
    const joins: Join[] = [];
    const updates: AnyBulkWriteOperation<Record<string, unknown>>[] = [];
    known.forEach(({ row, holder }) => {
      const membership = listId
        ? memberships.get(membershipId(holder._id, listId))?.status
        : undefined;
      if (NOT_MAILABLE.has(holder.status) || membership === 'unsubscribed') {
        job.counts.skippedUnsubscribed += 1;
        return;
      }
      if (job.mode === 'upsert' && Object.keys(row.set).length > 0) {
        updates.push({ updateOne: { filter: { _id: holder._id }, update: { $set: row.set } } });
        job.counts.updated += 1;
      } else {
        job.counts.unchanged += 1;
      }
      // Importing never confirms a pending double opt-in on the person's behalf.
      if (listId && membership === undefined)
        joins.push({
          subscriberId: holder._id,
          status: holder.status === 'subscribed' ? 'subscribed' : 'unconfirmed',
        });
    });
    if (updates.length) await this.models.Subscriber.bulkWrite(updates, { ordered: false });
    return joins;
  }

  private async save(job: Job, extra: Partial<ImportJobDoc>): Promise<void> {
    await this.models.ImportJob.updateOne(
      { _id: job.id },
      { $set: { counts: job.counts, rowErrors: job.errors, errorCount: job.errorCount, ...extra } },
    );
  }
}

/** The record's values by field name, without the dropped columns. */
function named(columns: Array<string | false>, fields: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  columns.forEach((column, i) => {
    if (column) record[column] = fields[i]!;
  });
  return record;
}

/** `{"attributes.tier": "gold"}` -> `{attributes: {tier: "gold"}}` for inserts. */
function nest(set: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(set)) {
    if (k.startsWith('attributes.')) attributes[k.slice('attributes.'.length)] = v;
    else out[k] = v;
  }
  out.attributes = attributes;
  return out;
}

function toView(doc: ImportJobDoc & { _id: unknown }): ImportJobView {
  const counts = doc.counts as Partial<Counts> | undefined;
  return {
    id: String(doc._id),
    status: doc.status,
    mode: doc.mode,
    listId: doc.listId ? String(doc.listId) : null,
    counts: Object.fromEntries(IMPORT_COUNTERS.map((c) => [c, counts?.[c] ?? 0])) as Counts,
    errors: (doc.rowErrors ?? []).map((e) => ({ line: e.line ?? 0, message: e.message ?? '' })),
    errorCount: doc.errorCount ?? 0,
    failure: doc.failure ?? null,
    createdAt: doc.createdAt,
    finishedAt: doc.finishedAt ?? null,
  };
}
