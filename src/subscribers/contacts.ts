import { Types, type FilterQuery } from 'mongoose';
import type { z } from 'zod';
import { can } from '../auth/permissions.js';
import { countMatching } from '../db/count.js';
import { findByIds } from '../db/group-read.js';
import { idsAfter } from '../db/keyset.js';
import type { Models } from '../db/models/index.js';
import { membershipId, type MEMBERSHIP_STATUSES } from '../db/models/membership.js';
import type { SubscriberDoc } from '../db/models/subscriber.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import type { Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { normaliseEmail } from '../shared/email.js';
import { AppError, badRequest, conflict, isDuplicateKey, notFound } from '../shared/errors.js';
import { maskHetu, parseHetu } from '../privacy/hetu.js';
import type { Holder, SubscriberAddresses } from './by-address.js';
import type { ListService } from './lists.js';
import {
  ATTRIBUTE_FILTER,
  type subscriberCreateBody,
  type subscriberSearchQuery,
  type subscriberUpdateBody,
} from './schemas.js';
import type { UnsubscribeService } from '../unsubscribe/service.js';
import type { SuppressionService } from '../unsubscribe/suppressions.js';
import {
  joinedList,
  subscriberCreated,
  type DomainEvent,
  type DomainEvents,
} from '../events/domain-events.js';

export type SubscriberCreate = z.output<typeof subscriberCreateBody>;
export type SubscriberUpdate = z.output<typeof subscriberUpdateBody>;
export type SubscriberSearch = z.output<typeof subscriberSearchQuery>;
type MembershipStatus = (typeof MEMBERSHIP_STATUSES)[number];
type Attributes = Record<string, string | number | boolean>;

export interface MembershipRef {
  id: string;
  slug: string;
  status: MembershipStatus;
}
export interface SubscriberSummary {
  id: string;
  email: string;
  name: string;
  status: SubscriberDoc['status'];
  locale: SubscriberDoc['locale'];
  lists: MembershipRef[];
  attributes: Attributes;
  source: string;
  customerSegment: string | null;
  createdAt: Date;
  updatedAt: Date;
}
export interface SubscriberFull extends SubscriberSummary {
  phone: string | null;
  address: SubscriberDoc['address'] | null;
  /** Masked; absent for roles that may not see the identity number. */
  hetu?: string | null;
  lastActivityAt: Date | null;
}

type Lean = SubscriberDoc & { _id: Types.ObjectId };

const DEFAULT_PAGE = 50;
/** How long after a create a repeat of it still emits its created event (never twice: by key). */
const RECREATE_REPAIR_MS = 86_400_000;
const MAX_PAGE = 200;
// Memberships read per round when paging a list; several rounds fill a page when other filters
// drop most members.
const LIST_SCAN_BATCH = 500;
/** Members of a list read whole to page through it; larger lists are walked with the subscribers. */
const SMALL_LIST = 20_000;

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function mustEmail(input: string): string {
  const email = normaliseEmail(input);
  if (!email) throw new AppError('validation_failed', 'email: not a valid email address');
  return email;
}

function toObjectId(id: string, what: string): Types.ObjectId {
  if (!/^[0-9a-f]{24}$/.test(id)) throw notFound(what);
  return new Types.ObjectId(id);
}

/**
 * Contacts of the register (seed §2-5): create, find, read, change and remove, with the
 * suppression rule that staff can never resubscribe an address that asked to leave.
 */
export class ContactService {
  constructor(
    private readonly models: Pick<Models, 'Subscriber' | 'Membership'>,
    private readonly lists: ListService,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    private readonly protector: DataProtector,
    private readonly suppressions: Pick<
      SuppressionService,
      'isSuppressed' | 'suppressedHashes' | 'hash'
    >,
    private readonly unsubscribe: Pick<UnsubscribeService, 'unsubscribe'>,
    private readonly addresses: SubscriberAddresses,
    private readonly events: DomainEvents,
  ) {}

  /**
   * A create repeated after its first try died between the insert and the event: the event is
   * emitted again under its key, which stores it once. Only for a holder created within the day,
   * well inside the time the outbox keeps events, so an old subscriber's event is never repeated.
   */
  private async emitCreatedAgainIfRecent(
    holder: Holder<'status' | 'source' | 'createdAt'>,
  ): Promise<void> {
    const age = this.clock.now().getTime() - (holder.createdAt?.getTime() ?? 0);
    if (age > RECREATE_REPAIR_MS) return;
    await this.events.emit([
      subscriberCreated(holder._id, { status: holder.status, source: holder.source }),
    ]);
  }

  async create(ctx: AuditContext, input: SubscriberCreate): Promise<SubscriberFull> {
    const email = mustEmail(input.email);
    const lists = await this.lists.resolve(input.lists ?? []);
    if (input.hetu) this.assertHetuAccess(ctx);
    const segments = typeof input.segments === 'string' ? [input.segments] : input.segments;
    const customerSegment = input.customerSegment ?? segments?.[0];
    const requested = input.status ?? 'unconfirmed';
    const suppressedEverywhere = await this.suppressions.isSuppressed(email);

    const _id = new Types.ObjectId();
    const holder = await this.addresses.create(
      {
        _id,
        email,
        name: input.name ?? '',
        locale: input.locale,
        attributes: input.attributes ?? {},
        source: input.source ?? 'api',
        phone: input.phone ?? undefined,
        address: input.address ?? undefined,
        customerSegment: customerSegment ?? undefined,
        hetuSealed: input.hetu ? this.sealHetu(input.hetu) : undefined,
        status: suppressedEverywhere ? 'unsubscribed' : requested,
      },
      ['status', 'source', 'createdAt'],
    );
    if (holder) {
      await this.emitCreatedAgainIfRecent(holder);
      throw conflict('a subscriber with this email already exists', { id: String(holder._id) });
    }
    const created = await this.load(String(_id));

    const now = this.clock.now();
    const happened: DomainEvent[] = [
      subscriberCreated(_id, { status: created.status, source: created.source }),
    ];
    for (const list of lists) {
      const suppressed =
        suppressedEverywhere || (await this.suppressions.isSuppressed(email, list.id));
      const status: MembershipStatus = suppressed ? 'unsubscribed' : requested;
      if (status === 'subscribed') happened.push(joinedList(_id, list.id, now));
      await this.models.Membership.updateOne(
        { _id: membershipId(_id, list.id) },
        {
          $setOnInsert: {
            subscriberId: _id,
            listId: new Types.ObjectId(list.id),
            status,
            source: input.source ?? 'api',
            ...(status === 'subscribed' ? { subscribedAt: now } : {}),
            ...(status === 'unsubscribed' ? { unsubscribedAt: now } : {}),
          },
        },
        { upsert: true },
      );
    }
    await this.events.emit(happened);
    await this.audit.record(ctx, 'subscriber.create', String(created._id), {
      source: created.source,
      lists: lists.map((l) => l.id),
    });
    return this.full(ctx, created);
  }

  /** Keyset pagination on `_id`: stable under inserts, and no page costs more than the first. */
  async search(
    q: SubscriberSearch,
  ): Promise<{ items: SubscriberSummary[]; nextCursor: string | null }> {
    const limit = Math.min(q.limit ?? DEFAULT_PAGE, MAX_PAGE);
    const filter: FilterQuery<SubscriberDoc> = {};
    const exactEmail = q.email !== undefined ? normaliseEmail(q.email) : null;
    if (q.email !== undefined) {
      const prefix = q.email.trim().toLowerCase();
      filter.email = exactEmail ?? { $gte: prefix, $lt: `${prefix}\uffff` };
    }
    if (q.name !== undefined) filter.name = { $regex: escapeRegex(q.name.trim()), $options: 'i' };
    if (q.status !== undefined) filter.status = q.status;
    for (const [key, value] of Object.entries(q)) {
      const attr = ATTRIBUTE_FILTER.exec(key)?.[1];
      if (attr && typeof value === 'string')
        filter[`attributes.${attr}`] = { $in: attributeValues(value) };
    }
    const after = q.cursor !== undefined ? new Types.ObjectId(decodeCursor(q.cursor)) : undefined;

    const found = q.list
      ? await this.scanList(q.list, filter, after, limit + 1)
      : exactEmail
        ? // An exact address names at most one person: its unique index answers, no page to walk.
          await this.models.Subscriber.find(after ? { ...filter, _id: { $gt: after } } : filter)
            .limit(limit + 1)
            .lean<Lean[]>()
        : await this.models.Subscriber.find({ ...filter, _id: idsAfter(after) })
            .sort({ _id: 1 })
            .limit(limit + 1)
            .lean<Lean[]>();
    const pageItems = found.slice(0, limit);
    const nextCursor =
      found.length > limit ? encodeCursor(String(pageItems[pageItems.length - 1]!._id)) : null;
    const memberships = await this.membershipsOf(pageItems.map((s) => s._id));
    return {
      items: pageItems.map((s) => summary(s, memberships.get(String(s._id)) ?? [])),
      nextCursor,
    };
  }

  /**
   * A search by staff: the page holds names, emails and phones, so it is audited like reading one
   * record. The entry names the filters used and how many people were shown, never their values.
   */
  async searchAudited(
    ctx: AuditContext,
    q: SubscriberSearch,
  ): Promise<{ items: SubscriberSummary[]; nextCursor: string | null }> {
    const found = await this.search(q);
    await this.audit.record(ctx, 'subscribers.search', null, {
      filters: Object.keys(q).filter((k) => k !== 'cursor' && k !== 'limit' && q[k] !== undefined),
      ...(q.list !== undefined && { list: q.list }),
      results: found.items.length,
      more: found.nextCursor !== null,
    });
    return found;
  }

  /** The full record, including what only some roles see; every call is audited. */
  async get(ctx: AuditContext, id: string): Promise<SubscriberFull> {
    const sub = await this.load(id);
    await this.audit.record(ctx, 'subscriber.read', id);
    return this.full(ctx, sub);
  }

  async update(ctx: AuditContext, id: string, input: SubscriberUpdate): Promise<SubscriberFull> {
    const _id = toObjectId(id, 'subscriber');
    const $set: Record<string, unknown> = {};
    const $unset: Record<string, 1> = {};
    const put = (field: string, value: unknown) => {
      if (value === null) $unset[field] = 1;
      else if (value !== undefined) $set[field] = value;
    };
    if (input.hetu !== undefined) this.assertHetuAccess(ctx);
    put('email', input.email !== undefined ? mustEmail(input.email) : undefined);
    put('name', input.name);
    put('locale', input.locale);
    put('attributes', input.attributes);
    put('phone', input.phone);
    put('address', input.address);
    put('customerSegment', input.customerSegment);
    put('hetuSealed', input.hetu ? this.sealHetu(input.hetu) : input.hetu);
    let res;
    try {
      // updateOne rather than findOneAndUpdate: the embedded database reports a unique-index
      // refusal of findAndModify without the duplicate-key code.
      res = await this.models.Subscriber.updateOne(
        { _id },
        {
          ...(Object.keys($set).length ? { $set } : {}),
          ...(Object.keys($unset).length ? { $unset } : {}),
        },
        { runValidators: true },
      );
    } catch (err) {
      if (!isDuplicateKey(err) || $set.email === undefined) throw err;
      const holder = await this.addresses.lookup(String($set.email), []);
      throw conflict('another subscriber has this email', holder ? { id: String(holder._id) } : {});
    }
    if (res.matchedCount === 0) throw notFound('subscriber');
    const updated = await this.load(id);
    // Field names only: the trail must not become a second copy of the personal data.
    await this.audit.record(ctx, 'subscriber.update', id, {
      fields: Object.keys(input).filter((k) => input[k as keyof SubscriberUpdate] !== undefined),
    });
    return this.full(ctx, updated);
  }

  /** Soft delete: the record stays (customer relationship, orders) but is never mailed again. */
  async remove(ctx: AuditContext, id: string): Promise<void> {
    const sub = await this.load(id);
    // The one place that unsubscribes: suppression first, then memberships, status and event.
    await this.unsubscribe.unsubscribe({
      subscriberId: String(sub._id),
      scope: { all: true },
      channel: 'staff',
      reason: 'staff',
    });
    await this.audit.record(ctx, 'subscriber.delete', id, { previousStatus: sub.status });
  }

  /**
   * Ids of the contacts with these (normalised) addresses; unknown ones are created with no list
   * memberships and `unconfirmed` (`unsubscribed` when suppressed): an order is no consent to mail.
   */
  async ensureContacts(
    ctx: AuditContext,
    emails: string[],
    source: string,
  ): Promise<Map<string, Types.ObjectId>> {
    const unique = [...new Set(emails)];
    const ids = new Map<string, Types.ObjectId>();
    for (const [email, s] of await this.addresses.lookupMany(unique, [])) ids.set(email, s._id);
    const missing = unique.filter((e) => !ids.has(e));
    if (missing.length === 0) return ids;
    const suppressed = await this.suppressions.suppressedHashes(
      missing.map((e) => this.suppressions.hash(e)),
    );
    const docs = missing.map((email) => ({
      _id: new Types.ObjectId(),
      email,
      source,
      status: suppressed.has(this.suppressions.hash(email))
        ? ('unsubscribed' as const)
        : ('unconfirmed' as const),
    }));
    const holders = await this.addresses.createMany(docs, []);
    const created: DomainEvent[] = [];
    for (const [i, doc] of docs.entries()) {
      // Created concurrently by another request: use theirs.
      const holder = holders[i];
      ids.set(doc.email, holder ? holder._id : doc._id);
      if (holder) continue;
      created.push(subscriberCreated(doc._id, { status: doc.status, source }));
      await this.audit.record(ctx, 'subscriber.create', String(doc._id), { source });
    }
    await this.events.emit(created);
    return ids;
  }

  /** An order (or contract) renews the customer relationship that retention measures from. */
  async recordActivity(subscriberId: Types.ObjectId, at: Date): Promise<void> {
    await this.models.Subscriber.updateOne({ _id: subscriberId }, { $max: { lastActivityAt: at } });
  }

  async exists(id: string): Promise<boolean> {
    return (await this.models.Subscriber.exists({ _id: toObjectId(id, 'subscriber') })) !== null;
  }

  private async load(id: string): Promise<Lean> {
    const sub = await this.models.Subscriber.findById(toObjectId(id, 'subscriber')).lean<Lean>();
    if (!sub) throw notFound('subscriber');
    return sub;
  }

  private async full(ctx: AuditContext, s: Lean): Promise<SubscriberFull> {
    const memberships = await this.membershipsOf([s._id]);
    const view: SubscriberFull = {
      ...summary(s, memberships.get(String(s._id)) ?? []),
      phone: s.phone ?? null,
      address: s.address && Object.keys(s.address).length > 0 ? s.address : null,
      lastActivityAt: s.lastActivityAt ?? null,
    };
    if (mayReadHetu(ctx))
      view.hetu = s.hetuSealed ? maskHetu(this.protector.decrypt(s.hetuSealed)) : null;
    return view;
  }

  private async membershipsOf(ids: Types.ObjectId[]): Promise<Map<string, MembershipRef[]>> {
    const rows = await this.models.Membership.find(
      { subscriberId: { $in: ids } },
      { subscriberId: 1, listId: 1, status: 1 },
    ).lean();
    const slugs = await this.lists.slugs(
      [...new Set(rows.map((r) => String(r.listId)))].map((id) => new Types.ObjectId(id)),
    );
    const out = new Map<string, MembershipRef[]>();
    for (const r of rows) {
      const key = String(r.subscriberId);
      const refs = out.get(key) ?? [];
      refs.push({
        id: String(r.listId),
        slug: slugs.get(String(r.listId)) ?? '',
        status: r.status,
      });
      out.set(key, refs);
    }
    return out;
  }

  /**
   * A page of the list's members matching `filter`, in subscriber-id order. A list of up to
   * SMALL_LIST members is read whole from the membership index and its ids walked in order;
   * a larger one is found by walking subscribers in `_id` order and keeping the members, which
   * fills a page within a few reads when most people are on the list.
   */
  private async scanList(
    listKey: string,
    filter: FilterQuery<SubscriberDoc>,
    after: Types.ObjectId | undefined,
    want: number,
  ): Promise<Lean[]> {
    const [list] = await this.lists.resolve([listKey]);
    const listId = new Types.ObjectId(list!.id);
    const { Membership, Subscriber } = this.models;
    const out: Lean[] = [];
    if ((await countMatching(Membership, { listId })) <= SMALL_LIST) {
      const members = await Membership.find({ listId }, { subscriberId: 1 }).lean();
      const ids = members
        .map((m) => m.subscriberId)
        .filter((id) => !after || String(id) > String(after))
        .sort((a, b) => (String(a) < String(b) ? -1 : 1));
      for (let i = 0; i < ids.length && out.length < want; i += LIST_SCAN_BATCH) {
        const subs = await Subscriber.find({
          ...filter,
          _id: { $in: ids.slice(i, i + LIST_SCAN_BATCH) },
        })
          .sort({ _id: 1 })
          .limit(want - out.length)
          .lean<Lean[]>();
        out.push(...subs);
      }
      return out;
    }
    let cursor = after;
    for (;;) {
      const subs = await Subscriber.find({ ...filter, _id: idsAfter(cursor) })
        .sort({ _id: 1 })
        .limit(LIST_SCAN_BATCH)
        .lean<Lean[]>();
      const members = await findByIds(
        Membership,
        subs.map((sub) => membershipId(sub._id, listId)),
        { _id: 1 },
      );
      for (const sub of subs) {
        if (out.length < want && members.has(membershipId(sub._id, listId))) out.push(sub);
      }
      if (out.length >= want || subs.length < LIST_SCAN_BATCH) return out;
      cursor = subs[subs.length - 1]!._id;
    }
  }

  private sealHetu(input: string): string {
    const hetu = parseHetu(input);
    if (!hetu) throw badRequest('hetu: not a valid Finnish personal identity number');
    return this.protector.encrypt(hetu);
  }

  private assertHetuAccess(ctx: AuditContext): void {
    if (!mayReadHetu(ctx))
      throw new AppError('forbidden', 'this role may not handle personal identity numbers');
  }
}

function mayReadHetu(ctx: AuditContext): boolean {
  return ctx.actor.type === 'staff' && can(ctx.actor.role, 'pii.hetu.read');
}

/** `attr.x=42` matches the string "42" and the number 42; likewise for true/false. */
function attributeValues(value: string): Array<string | number | boolean> {
  const values: Array<string | number | boolean> = [value];
  if (value === 'true' || value === 'false') values.push(value === 'true');
  else if (value.trim() !== '' && Number.isFinite(Number(value))) values.push(Number(value));
  return values;
}

function summary(s: Lean, lists: MembershipRef[]): SubscriberSummary {
  return {
    id: String(s._id),
    email: s.email,
    name: s.name ?? '',
    status: s.status,
    locale: s.locale ?? 'fi',
    lists,
    attributes: (s.attributes ?? {}) as Attributes,
    source: s.source,
    customerSegment: s.customerSegment ?? null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}
