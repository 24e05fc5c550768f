import { stringify } from 'csv-stringify/sync';
import { Types } from 'mongoose';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { findByIds, MAX_IDS_PER_READ } from '../db/group-read.js';
import type { Models } from '../db/models/index.js';
import { MEMBERSHIP_STATUSES } from '../db/models/membership.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import { ATTRIBUTE_KEY, type Rule } from '../segments/rules.js';
import { readAhead } from '../shared/concurrency.js';
import type { MatchedSubscriber, SegmentService } from '../segments/service.js';
import type { ListService } from './lists.js';

export const exportQuerySchema = z
  .strictObject({
    list: z.string().min(1).max(200).optional(),
    segment: z.string().min(1).max(200).optional(),
    // Membership statuses to include when exporting a list; all by default.
    status: z
      .string()
      .transform((s) => s.split(','))
      .pipe(z.array(z.enum(MEMBERSHIP_STATUSES)).min(1))
      .optional(),
    // `json` (one column) or a comma-separated list of keys, one column each.
    attributes: z
      .string()
      .max(2000)
      .transform((s) => (s === 'json' ? 'json' : s.split(',')))
      .pipe(z.union([z.literal('json'), z.array(z.string().regex(ATTRIBUTE_KEY)).min(1).max(50)]))
      .default('json'),
  })
  .refine((q) => q.list || q.segment, { message: 'give list or segment', path: ['list'] });
export type ExportQuery = z.output<typeof exportQuerySchema>;

/** The identity number and postal address are never exported in bulk. */
const EXPORT_PROJECTION = { hetuSealed: 0, address: 0 } as const;

const COLUMNS = [
  'email',
  'name',
  'phone',
  'locale',
  'status',
  'customerSegment',
  'source',
  'createdAt',
] as const;

/**
 * Spreadsheets run a cell starting with one of these as a formula (CSV injection); a leading
 * apostrophe makes it text. Negative numbers are neutralised too: a CSV cell has no type.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
export const neutralise = (cell: string): string => (FORMULA_START.test(cell) ? `'${cell}` : cell);

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  return neutralise(typeof value === 'object' ? JSON.stringify(value) : String(value));
}

/** Streams a list's members or a segment's subscribers as CSV; one audit entry per export. */
export class ExportService {
  constructor(
    private readonly models: Pick<Models, 'Membership' | 'Subscriber'>,
    private readonly segments: SegmentService,
    private readonly lists: ListService,
    private readonly audit: AuditLog,
  ) {}

  async open(ctx: AuditContext, q: ExportQuery): Promise<Readable> {
    const parts: Rule[] = [];
    if (q.segment) parts.push(await this.segments.rulesOf(q.segment));
    if (q.list)
      parts.push({ list: q.list, status: q.status ?? [...MEMBERSHIP_STATUSES], member: true });
    const rules: Rule = parts.length === 1 ? parts[0]! : { all: parts };
    // Resolve now so that an unknown list is a 400 before any byte of CSV is sent.
    await this.segments.compile(rules);
    const header = [
      ...COLUMNS,
      ...(q.attributes === 'json' ? ['attributes'] : q.attributes.map((k) => `attributes.${k}`)),
    ];
    return Readable.from(this.csv(ctx, q, rules, header));
  }

  /** The CSV text: the header, then one chunk per page of people (one write each, not per row). */
  private async *csv(
    ctx: AuditContext,
    q: ExportQuery,
    rules: Rule,
    header: string[],
  ): AsyncGenerator<string> {
    yield stringify([header]);
    let count = 0;
    let complete = false;
    try {
      const pages =
        q.list && !q.segment
          ? listMemberPages(
              this.models,
              new Types.ObjectId((await this.lists.resolve([q.list]))[0]!.id),
              q.status ?? [...MEMBERSHIP_STATUSES],
            )
          : this.segments.matching(rules);
      // The next page is read while this one is written out.
      for await (const page of readAhead(pages)) {
        if (page.length === 0) continue;
        count += page.length;
        yield stringify(page.map((person) => header.map((h) => cell(valueOf(person, h)))));
      }
      complete = true;
    } finally {
      // Also when the client goes away mid-stream: what was sent is on record.
      await this.audit.record(ctx, 'subscribers.export', null, {
        list: q.list,
        segment: q.segment,
        rows: count,
        complete,
      });
    }
  }
}

/**
 * Memberships read from the list's index a page at a time, their people by `_id` per page. The
 * next page of memberships is read while this page's people are, so both reads keep the database
 * busy at once.
 */
async function* listMemberPages(
  models: Pick<Models, 'Membership' | 'Subscriber'>,
  listId: Types.ObjectId,
  statuses: string[],
): AsyncGenerator<MatchedSubscriber[]> {
  for await (const ids of readAhead(memberIdPages(models, listId, statuses))) {
    const found = await findByIds<MatchedSubscriber>(models.Subscriber, ids, EXPORT_PROJECTION);
    yield ids.flatMap((id) => found.get(String(id)) ?? []);
  }
}

/** The subscriber ids of a list's members, MAX_IDS_PER_READ at a time. */
async function* memberIdPages(
  models: Pick<Models, 'Membership'>,
  listId: Types.ObjectId,
  statuses: string[],
): AsyncGenerator<Types.ObjectId[]> {
  const memberships = models.Membership.find(
    { listId, status: { $in: statuses } },
    { subscriberId: 1 },
  )
    .lean()
    .cursor({ batchSize: MAX_IDS_PER_READ });
  let ids: Types.ObjectId[] = [];
  for await (const membership of memberships) {
    ids.push(membership.subscriberId);
    if (ids.length === MAX_IDS_PER_READ) {
      yield ids;
      ids = [];
    }
  }
  if (ids.length > 0) yield ids;
}

function valueOf(s: MatchedSubscriber, column: string): unknown {
  if (column === 'attributes') return s.attributes ?? {};
  if (column.startsWith('attributes.')) return s.attributes?.[column.slice('attributes.'.length)];
  return s[column as (typeof COLUMNS)[number]];
}
