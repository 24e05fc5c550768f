import { Types, type Connection } from 'mongoose';
import type { z } from 'zod';
import { countMatching } from '../db/count.js';
import { idsAfter } from '../db/keyset.js';
import type { Models } from '../db/models/index.js';
import type { ListDoc } from '../db/models/list.js';
import { MEMBERSHIP_STATUSES } from '../db/models/membership.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { AppError, conflict, isDuplicateKey, notFound } from '../shared/errors.js';
import type { listCreateBody, listUpdateBody } from './schemas.js';

export type ListCreate = z.output<typeof listCreateBody>;
export type ListUpdate = z.output<typeof listUpdateBody>;
type MembershipStatus = (typeof MEMBERSHIP_STATUSES)[number];

export interface ListView {
  id: string;
  name: string;
  slug: string;
  description: string;
  doubleOptIn: boolean;
  lawfulBasis: ListDoc['lawfulBasis'];
  public: boolean;
  thankYouUrl: string | null;
  counts: Record<MembershipStatus, number>;
  createdAt: Date;
  updatedAt: Date;
}

/** A list as other services need it to decide on memberships. */
export interface ListRef {
  id: string;
  slug: string;
  doubleOptIn: boolean;
}

/**
 * Whether a campaign still needs the list. Campaigns are another capability; this port keeps lists
 * from importing it.
 */
export type ListInUseCheck = (listId: string) => Promise<boolean>;

/** Lists are few; a page of them fills every picker in the admin in one read. */
const DEFAULT_LIST_PAGE = 100;
const ACTIVE_CAMPAIGN_STATUSES = ['running', 'paused', 'scheduled'];

/** The default check reads the `campaigns` collection directly, since campaigns may not exist yet. */
export function campaignsUsingList(connection: Connection): ListInUseCheck {
  return async (listId) =>
    (await connection.collection('campaigns').countDocuments(
      {
        status: { $in: ACTIVE_CAMPAIGN_STATUSES },
        listIds: { $in: [listId, new Types.ObjectId(listId)] },
      },
      { limit: 1 },
    )) > 0;
}

const OBJECT_ID = /^[0-9a-f]{24}$/;

export class ListService {
  constructor(
    private readonly models: Pick<Models, 'List' | 'Membership'>,
    private readonly audit: AuditLog,
    private readonly isListInUse: ListInUseCheck,
  ) {}

  async create(ctx: AuditContext, input: ListCreate): Promise<ListView> {
    try {
      const list = await this.models.List.create(input);
      await this.audit.record(ctx, 'list.create', null, { listId: String(list._id) });
      return toView(list, emptyCounts());
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`a list with slug ${input.slug} already exists`);
      throw err;
    }
  }

  /** A page of lists in the order they were made, with member counts; keyset on `_id`. */
  async list(page: { cursor?: string; limit?: number } = {}): Promise<{
    items: ListView[];
    nextCursor: string | null;
  }> {
    const limit = page.limit ?? DEFAULT_LIST_PAGE;
    const after = page.cursor ? new Types.ObjectId(decodeCursor(page.cursor)) : undefined;
    const found = await this.models.List.find({ _id: idsAfter(after) })
      .sort({ _id: 1 })
      .limit(limit + 1)
      .lean();
    const lists = found.slice(0, limit);
    const counts = await this.counts(lists.map((l) => l._id));
    return {
      items: lists.map((l) => toView(l, counts.get(String(l._id)) ?? emptyCounts())),
      nextCursor: found.length > limit ? encodeCursor(String(lists.at(-1)!._id)) : null,
    };
  }

  async get(idOrSlug: string): Promise<ListView> {
    const list = await this.find(idOrSlug);
    const counts = await this.counts([list._id]);
    return toView(list, counts.get(String(list._id)) ?? emptyCounts());
  }

  async update(ctx: AuditContext, idOrSlug: string, input: ListUpdate): Promise<ListView> {
    const list = await this.find(idOrSlug);
    try {
      const updated = await this.models.List.findByIdAndUpdate(
        list._id,
        { $set: input },
        { new: true, runValidators: true },
      ).lean();
      if (!updated) throw notFound('list');
      await this.audit.record(ctx, 'list.update', null, {
        listId: String(list._id),
        fields: Object.keys(input),
      });
      return this.get(String(updated._id));
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`a list with slug ${input.slug} already exists`);
      throw err;
    }
  }

  /** Removes the list and its memberships; suppressions scoped to it stay (they are by hash). */
  async remove(ctx: AuditContext, idOrSlug: string): Promise<void> {
    const list = await this.find(idOrSlug);
    const id = String(list._id);
    if (await this.isListInUse(id))
      throw new AppError('invalid_state', 'a scheduled, running or paused campaign uses this list');
    // An opt-out of all lists finds a person's memberships through the lists that exist
    // (src/unsubscribe/service.ts), so none may outlive its list: memberships, then the list, then
    // the memberships written meanwhile by someone who had found the list (a join on the page, a
    // form). A crash before the list goes leaves it, and removing it again finishes the job.
    const first = await this.models.Membership.deleteMany({ listId: list._id });
    await this.models.List.deleteOne({ _id: list._id });
    const late = await this.models.Membership.deleteMany({ listId: list._id });
    await this.audit.record(ctx, 'list.delete', null, {
      listId: id,
      slug: list.slug,
      memberships: first.deletedCount + late.deletedCount,
    });
  }

  /** Resolves ids or slugs in order; an unknown one is a 400 naming it (it came from the caller). */
  async resolve(idsOrSlugs: string[]): Promise<ListRef[]> {
    const wanted = [...new Set(idsOrSlugs)];
    if (wanted.length === 0) return [];
    const ids = wanted.filter((v) => OBJECT_ID.test(v)).map((v) => new Types.ObjectId(v));
    const found = await this.models.List.find(
      { $or: [{ _id: { $in: ids } }, { slug: { $in: wanted } }] },
      { slug: 1, doubleOptIn: 1 },
    ).lean();
    return wanted.map((key) => {
      const list = found.find((l) => String(l._id) === key) ?? found.find((l) => l.slug === key);
      if (!list) throw new AppError('validation_failed', `lists: no list ${key}`);
      return { id: String(list._id), slug: list.slug, doubleOptIn: list.doubleOptIn };
    });
  }

  /** Slugs by list id, for showing memberships. */
  async slugs(listIds: Types.ObjectId[]): Promise<Map<string, string>> {
    const lists = await this.models.List.find({ _id: { $in: listIds } }, { slug: 1 }).lean();
    return new Map(lists.map((l) => [String(l._id), l.slug]));
  }

  private async find(idOrSlug: string) {
    const list = await this.models.List.findOne(
      OBJECT_ID.test(idOrSlug)
        ? { $or: [{ _id: new Types.ObjectId(idOrSlug) }, { slug: idOrSlug }] }
        : { slug: idOrSlug },
    ).lean();
    if (!list) throw notFound('list');
    return list;
  }

  /** Members per list and status, each counted from the membership index. */
  private async counts(
    listIds: Types.ObjectId[],
  ): Promise<Map<string, Record<MembershipStatus, number>>> {
    const out = new Map<string, Record<MembershipStatus, number>>();
    await Promise.all(
      listIds.map(async (listId) => {
        const counts = emptyCounts();
        for (const status of MEMBERSHIP_STATUSES)
          counts[status] = await countMatching(this.models.Membership, { listId, status });
        out.set(String(listId), counts);
      }),
    );
    return out;
  }
}

function emptyCounts(): Record<MembershipStatus, number> {
  return Object.fromEntries(MEMBERSHIP_STATUSES.map((s) => [s, 0])) as Record<
    MembershipStatus,
    number
  >;
}

function toView(
  l: Pick<
    ListDoc,
    | 'name'
    | 'slug'
    | 'description'
    | 'doubleOptIn'
    | 'lawfulBasis'
    | 'public'
    | 'thankYouUrl'
    | 'createdAt'
    | 'updatedAt'
  > & { _id: unknown },
  counts: Record<MembershipStatus, number>,
): ListView {
  return {
    id: String(l._id),
    name: l.name,
    slug: l.slug,
    description: l.description ?? '',
    doubleOptIn: l.doubleOptIn ?? true,
    lawfulBasis: l.lawfulBasis ?? 'consent',
    public: l.public ?? false,
    thankYouUrl: l.thankYouUrl ?? null,
    counts,
    createdAt: l.createdAt,
    updatedAt: l.updatedAt,
  };
}
