import { Types } from 'mongoose';
import { countMatching } from '../db/count.js';
import { findByIds, MAX_IDS_PER_READ } from '../db/group-read.js';
import { pageFilter, readPage, type PageRequest } from '../db/keyset.js';
import type { Models } from '../db/models/index.js';
import type { SegmentDoc } from '../db/models/segment.js';
import type { Clock } from '../shared/clock.js';
import { maskEmail } from '../shared/email.js';
import { AppError, notFound } from '../shared/errors.js';
import {
  isGroup,
  isNegation,
  parseRules,
  type AttributeCondition,
  type Condition,
  type FieldCondition,
  type ListCondition,
  type OrderCondition,
  type Rule,
} from './rules.js';

/** A filter on the subscribers collection built only from allow-listed paths and operators. */
export type SubscriberFilter = Record<string, unknown>;

/** What rules select: a filter the database evaluates, or the ids computed from facts. */
type Selected = { filter: SubscriberFilter } | { ids: Types.ObjectId[] };

export interface SegmentView {
  id: string;
  name: string;
  description: string;
  rules: Rule;
  createdAt: Date;
  updatedAt: Date;
}

export interface SampleItem {
  id: string;
  name: string;
  email: string;
  status: string;
}

/** What an audience iterator yields: never the sealed identity number. */
export interface MatchedSubscriber {
  _id: Types.ObjectId;
  email: string;
  name?: string | null;
  phone?: string | null;
  locale?: string | null;
  status: string;
  customerSegment?: string | null;
  source?: string | null;
  attributes?: Record<string, unknown> | null;
  createdAt: Date;
}

const DAY_MS = 86_400_000;
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SUBSCRIBER_PROJECTION = '-hetuSealed -address';
const SAMPLE_PROJECTION = 'name email status';
const READ_BATCH = 5000;
const DEFAULT_PAGE = 50;

type Comparison = 'gt' | 'gte' | 'lt' | 'lte' | 'eq';
const holds = (op: Comparison, x: number, n: number) =>
  op === 'gt'
    ? x > n
    : op === 'gte'
      ? x >= n
      : op === 'lt'
        ? x < n
        : op === 'lte'
          ? x <= n
          : x === n;

/**
 * Compiles segment rules and runs them. Order and membership facts live in their own collections
 * and not every database we run on has $lookup, so those conditions are resolved first into subscriber-id sets
 * (aggregations of only $match/$group) and enter the filter as `_id: {$in}` or `{$nin}`; that keeps
 * any/all nesting exact because each condition becomes a plain predicate on the subscriber.
 */
export class SegmentService {
  constructor(
    private readonly models: Pick<
      Models,
      'Segment' | 'Subscriber' | 'Order' | 'Membership' | 'List'
    >,
    private readonly clock: Clock,
  ) {}

  async create(input: {
    name: string;
    description?: string;
    rules: unknown;
  }): Promise<SegmentView> {
    const rules = parseRules(input.rules);
    await this.compile(rules);
    const doc = await this.models.Segment.create({ ...input, rules });
    return toView(doc);
  }

  /** Saved segments, oldest first, paged by cursor. */
  async list(
    request: PageRequest = {},
  ): Promise<{ items: SegmentView[]; nextCursor: string | null }> {
    const { docs, nextCursor } = await readPage(
      this.models.Segment,
      {},
      {
        ...request,
        defaultLimit: DEFAULT_PAGE,
      },
    );
    return { items: docs.map(toView), nextCursor };
  }

  async get(id: string): Promise<SegmentView> {
    const doc = Types.ObjectId.isValid(id) ? await this.models.Segment.findById(id) : null;
    if (!doc) throw notFound('segment');
    return toView(doc);
  }

  async update(
    id: string,
    patch: { name?: string; description?: string; rules?: unknown },
  ): Promise<SegmentView> {
    const set: Record<string, unknown> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.rules !== undefined) {
      set.rules = parseRules(patch.rules);
      await this.compile(set.rules as Rule);
    }
    const doc = Types.ObjectId.isValid(id)
      ? await this.models.Segment.findByIdAndUpdate(id, { $set: set }, { new: true })
      : null;
    if (!doc) throw notFound('segment');
    return toView(doc);
  }

  async remove(id: string): Promise<void> {
    const res = Types.ObjectId.isValid(id)
      ? await this.models.Segment.deleteOne({ _id: id })
      : null;
    if (!res?.deletedCount) throw notFound('segment');
  }

  /** Rules of a saved segment, validated again (stored data is not trusted blindly). */
  async rulesOf(id: string): Promise<Rule> {
    return parseRules((await this.get(id)).rules);
  }

  async compile(rules: Rule): Promise<SubscriberFilter> {
    return this.compileRule(rules);
  }

  async count(rules: Rule): Promise<number> {
    return this.countSelected(await this.select(rules));
  }

  /** Count and sample from one evaluation of the rules. */
  async preview(rules: Rule, size = 10): Promise<{ count: number; sample: SampleItem[] }> {
    const selected = await this.select(rules);
    const [count, sample] = await Promise.all([
      this.countSelected(selected),
      this.sampleSelected(selected, size),
    ]);
    return { count, sample };
  }

  private async countSelected(selected: Selected): Promise<number> {
    return 'filter' in selected
      ? countMatching(this.models.Subscriber, selected.filter)
      : selected.ids.length;
  }

  private async sampleSelected(selected: Selected, size: number): Promise<SampleItem[]> {
    const docs =
      'filter' in selected
        ? await this.models.Subscriber.find(pageFilter(selected.filter))
            .sort({ _id: 1 })
            .limit(size)
            .select(SAMPLE_PROJECTION)
            .lean<MatchedSubscriber[]>()
        : await this.byIds(selected.ids, SAMPLE_PROJECTION, size);
    return docs.map((d) => ({
      id: String(d._id),
      name: d.name ?? '',
      email: maskEmail(d.email),
      status: d.status,
    }));
  }

  /**
   * The matching subscribers in batches, in _id order. Facts are resolved once at the start, so
   * the audience is a snapshot; pages are fetched by _id keyset rather than one long cursor, which
   * a slow consumer (a campaign worker) could let time out.
   */
  async *matching(rules: Rule, batchSize = 1000): AsyncGenerator<MatchedSubscriber[]> {
    const selected = await this.select(rules);
    if ('ids' in selected) {
      for (let i = 0; i < selected.ids.length; i += batchSize) {
        const page = await this.byIds(
          selected.ids.slice(i, i + batchSize),
          SUBSCRIBER_PROJECTION,
          batchSize,
        );
        if (page.length) yield page;
      }
      return;
    }
    const filter = selected.filter;
    let after: Types.ObjectId | undefined;
    for (;;) {
      const page = await this.models.Subscriber.find(pageFilter(filter, after))
        .sort({ _id: 1 })
        .limit(batchSize)
        .select(SUBSCRIBER_PROJECTION)
        .lean<MatchedSubscriber[]>();
      if (page.length === 0) return;
      yield page;
      if (page.length < batchSize) return;
      after = page[page.length - 1]!._id;
    }
  }

  /** Only the ids, for callers that snapshot an audience. */
  async *matchingIds(rules: Rule, batchSize = 1000): AsyncGenerator<Types.ObjectId[]> {
    for await (const page of this.matching(rules, batchSize)) yield page.map((s) => s._id);
  }

  private async compileRule(rule: Rule): Promise<SubscriberFilter> {
    // Counts and audiences evaluate a negation as a set (needsSets); compile() still validates it.
    if (isNegation(rule)) return { $nor: [await this.compileRule(rule.not)] };
    if (isGroup(rule)) {
      const [op, children] =
        'all' in rule ? (['$and', rule.all] as const) : (['$or', rule.any] as const);
      const parts: SubscriberFilter[] = [];
      for (const child of children) parts.push(await this.compileRule(child));
      return { [op]: parts };
    }
    return this.compileCondition(rule);
  }

  private async compileCondition(c: Condition): Promise<SubscriberFilter> {
    if ('field' in c) return this.fieldFilter(c);
    if ('attribute' in c) return attributeFilter(c);
    const { ids, negated } = await this.factSet(c);
    return { _id: { [negated ? '$nin' : '$in']: [...ids].map((id) => new Types.ObjectId(id)) } };
  }

  private fieldFilter(c: FieldCondition): SubscriberFilter {
    const f = c.field;
    switch (c.op) {
      case 'eq':
        return { [f]: c.value };
      case 'neq':
        return { [f]: { $ne: c.value } };
      case 'in':
        return { [f]: { $in: c.value } };
      case 'nin':
        return { [f]: { $nin: c.value } };
      case 'contains':
        return { [f]: { $regex: escapeRegex(c.value), $options: 'i' } };
      case 'startsWith':
        return { [f]: { $regex: '^' + escapeRegex(c.value), $options: 'i' } };
      case 'exists':
        return c.value
          ? { [f]: { $exists: true, $nin: [null, ''] } }
          : { $or: [{ [f]: { $exists: false } }, { [f]: { $in: [null, ''] } }] };
      case 'before':
        return { [f]: { $lt: new Date(c.value) } };
      case 'after':
        return { [f]: { $gt: new Date(c.value) } };
      case 'withinDays':
        return { [f]: { $gte: this.daysAgo(c.value) } };
      case 'olderThanDays':
        return { [f]: { $lt: this.daysAgo(c.value) } };
    }
  }

  /**
   * What a rule selects. Without order or list facts, a filter the database evaluates alone.
   * With them, the matching ids, computed here: a long `_id: {$in: [...]}` may be checked element
   * by element for every document (docs/database.md), so a filter carrying the tens of thousands of ids a fact can match
   * costs (subscribers × ids); set algebra over one query per group's plain conditions and one
   * aggregation per fact reads each collection a few times instead.
   */
  /**
   * Whether one subscriber matches the rules now (automation branches and exits): the same
   * evaluation as a count, with every read narrowed to that person by an indexed field.
   */
  async includes(rules: Rule, subscriberId: string): Promise<boolean> {
    const only = new Types.ObjectId(subscriberId);
    if (!needsSets(rules)) {
      const filter = await this.compileRule(rules);
      return (await this.models.Subscriber.exists({ $and: [filter, { _id: only }] })) !== null;
    }
    const set = await this.idSet(rules, only);
    const named = set.ids.has(subscriberId);
    if (set.negated ? named : !named) return false;
    return set.grounded || (await this.models.Subscriber.exists({ _id: only })) !== null;
  }

  private async select(rules: Rule): Promise<Selected> {
    if (!needsSets(rules)) return { filter: await this.compileRule(rules) };
    const set = await this.idSet(rules);
    let ids = set.ids;
    if (set.negated) ids = without(await this.everyone(), set.ids);
    // Facts can name subscribers that are gone; a filter `_id: {$in}` would not count them.
    else if (!set.grounded) ids = intersection([set.ids, await this.everyone()]);
    return { ids: [...ids].sort().map((id) => new Types.ObjectId(id)) };
  }

  /** `only`: evaluate for this one subscriber (the sets then hold at most that id). */
  private async idSet(rule: Rule, only?: Types.ObjectId): Promise<IdSet> {
    if (isNegation(rule)) {
      const inner = needsSets(rule.not)
        ? await this.idSet(rule.not, only)
        : await this.plainSet(await this.compileRule(rule.not), only);
      return { ids: inner.ids, negated: !inner.negated, grounded: false };
    }
    if (!isGroup(rule)) return this.factSet(rule as ListCondition | OrderCondition, only);
    const all = 'all' in rule;
    const children = all ? rule.all : rule.any;
    const parts: IdSet[] = [];
    for (const child of children.filter(needsSets)) parts.push(await this.idSet(child, only));
    const plain = children.filter((c) => !needsSets(c));
    if (plain.length > 0) {
      const filters: SubscriberFilter[] = [];
      for (const child of plain) filters.push(await this.compileRule(child));
      // Under `all`, only people a fact already names can match: the plain conditions are
      // checked on them alone (by `_id`), not on everyone they would select.
      const named = all
        ? parts
            .filter((p) => !p.negated)
            .sort((a, b) => a.ids.size - b.ids.size)
            .at(0)
        : undefined;
      if (named) {
        const ids = new Set<string>();
        const candidates = [...named.ids].map((id) => new Types.ObjectId(id));
        for (let i = 0; i < candidates.length; i += MAX_IDS_PER_READ) {
          const found = await this.models.Subscriber.find(
            { $and: [...filters, { _id: { $in: candidates.slice(i, i + MAX_IDS_PER_READ) } }] },
            { _id: 1 },
          ).lean();
          for (const d of found) ids.add(String(d._id));
        }
        parts.push({ ids, negated: false, grounded: true });
      } else {
        parts.push(await this.plainSet({ [all ? '$and' : '$or']: filters }, only));
      }
    }
    return all ? allOf(parts) : anyOf(parts);
  }

  /** The subscribers a filter selects (or, given `only`, that one if it does), as a set. */
  private async plainSet(filter: SubscriberFilter, only?: Types.ObjectId): Promise<IdSet> {
    const found = await this.models.Subscriber.find(
      only ? { $and: [filter, { _id: only }] } : filter,
      {
        _id: 1,
      },
    )
      .batchSize(READ_BATCH)
      .lean();
    return { ids: new Set(found.map((d) => String(d._id))), negated: false, grounded: true };
  }

  /** A list or order condition as the set of subscribers it names. */
  private async factSet(c: ListCondition | OrderCondition, only?: Types.ObjectId): Promise<IdSet> {
    const narrowed = only ? { subscriberId: only } : {};
    if ('list' in c) {
      const list = await this.models.List.findOne(
        Types.ObjectId.isValid(c.list)
          ? { $or: [{ _id: c.list }, { slug: c.list }] }
          : { slug: c.list },
      ).select('_id');
      if (!list) throw new AppError('validation_failed', `rules: no list ${c.list}`);
      // Read and deduplicated here: `distinct` can cost the square of the values (docs/database.md).
      const members = await this.models.Membership.find(
        { listId: list._id, status: { $in: c.status }, ...narrowed },
        { subscriberId: 1 },
      )
        .batchSize(READ_BATCH)
        .lean();
      return {
        ids: new Set(members.map((m) => String(m.subscriberId))),
        negated: !c.member,
        grounded: false,
      };
    }
    switch (c.orders) {
      case 'category': {
        const match: Record<string, unknown> = { categories: c.category, ...narrowed };
        if (c.withinDays) match.orderedAt = { $gte: this.daysAgo(c.withinDays) };
        return { ids: await this.orderingSubscribers(match), negated: false, grounded: false };
      }
      case 'noneSince':
        return {
          ids: await this.orderingSubscribers({
            orderedAt: { $gte: this.daysAgo(c.days) },
            ...narrowed,
          }),
          negated: true,
          grounded: false,
        };
      case 'totalSpent': {
        const match: Record<string, unknown> = { currency: c.currency, ...narrowed };
        if (c.withinDays) match.orderedAt = { $gte: this.daysAgo(c.withinDays) };
        return this.aggregateSet(match, 'totalCents', c.op, Math.round(c.amount * 100));
      }
      case 'count': {
        const match: Record<string, unknown> = { ...narrowed };
        if (c.withinDays) match.orderedAt = { $gte: this.daysAgo(c.withinDays) };
        return this.aggregateSet(match, 'count', c.op, c.value);
      }
    }
  }

  /** Subscribers with at least one order matching `match`. */
  private async orderingSubscribers(match: Record<string, unknown>): Promise<Set<string>> {
    return new Set((await this.perSubscriber(match, () => 1)).keys());
  }

  /**
   * "sum per subscriber <op> n". Subscribers without matching orders have a sum of 0 and no
   * entry, so when 0 itself satisfies the comparison the set is everyone except those that fail it.
   */
  private async aggregateSet(
    match: Record<string, unknown>,
    summand: 'totalCents' | 'count',
    op: Comparison,
    n: number,
  ): Promise<IdSet> {
    const zeroMatches = holds(op, 0, n);
    const sums = await this.perSubscriber(match, (o) =>
      summand === 'count' ? 1 : (o.totalCents ?? 0),
    );
    const ids = new Set<string>();
    for (const [id, v] of sums) if (holds(op, v, n) !== zeroMatches) ids.add(id);
    return { ids, negated: zeroMatches, grounded: false };
  }

  /**
   * Per subscriber, the sum of `value` over the orders matching `match`: the orders are read
   * once, projected to two fields, and summed here: `$group` can cost the square of the buyers
   * (docs/database.md).
   */
  private async perSubscriber(
    match: Record<string, unknown>,
    value: (o: { totalCents?: number | null }) => number,
  ): Promise<Map<string, number>> {
    const sums = new Map<string, number>();
    const orders = this.models.Order.find(match, { subscriberId: 1, totalCents: 1 })
      .batchSize(READ_BATCH)
      .lean()
      .cursor();
    for await (const o of orders) {
      const id = String(o.subscriberId);
      sums.set(id, (sums.get(id) ?? 0) + value(o));
    }
    return sums;
  }

  /** Every subscriber's id: one read of the collection, projected to `_id`. */
  private async everyone(): Promise<Set<string>> {
    const docs = await this.models.Subscriber.find({}, { _id: 1 }).batchSize(READ_BATCH).lean();
    return new Set(docs.map((d) => String(d._id)));
  }

  /** Up to `max` of these subscribers, in the order given, read in groups by `_id`; the gone are skipped. */
  private async byIds(
    ids: Types.ObjectId[],
    projection: string,
    max: number,
  ): Promise<MatchedSubscriber[]> {
    const fields = Object.fromEntries(
      projection
        .split(' ')
        .map((f) => (f.startsWith('-') ? [f.slice(1), 0 as const] : [f, 1 as const])),
    );
    const out: MatchedSubscriber[] = [];
    for (let i = 0; i < ids.length && out.length < max; i += MAX_IDS_PER_READ) {
      const chunk = ids.slice(i, i + MAX_IDS_PER_READ);
      const found = await findByIds<MatchedSubscriber>(this.models.Subscriber, chunk, fields);
      for (const id of chunk) {
        const doc = found.get(String(id));
        if (doc && out.length < max) out.push(doc);
      }
    }
    return out;
  }

  private daysAgo(days: number): Date {
    return new Date(this.clock.now().getTime() - days * DAY_MS);
  }
}

/**
 * Subscriber ids (hex) a rule part selects; `negated`: everyone except them. `grounded`: every id
 * is known to be a subscriber (it came from a query on subscribers, not from facts).
 */
interface IdSet {
  ids: Set<string>;
  negated: boolean;
  grounded: boolean;
}

/**
 * Whether a rule is evaluated as sets of ids rather than as one filter: it names list or order
 * facts, or negates a part (the complement of a set, not a filter operator the embedded database
 * may lack).
 */
const needsSets = (r: Rule): boolean =>
  isNegation(r) ||
  (isGroup(r) ? ('all' in r ? r.all : r.any).some(needsSets) : 'list' in r || 'orders' in r);

function union(sets: Set<string>[]): Set<string> {
  const out = new Set<string>();
  for (const s of sets) for (const id of s) out.add(id);
  return out;
}

function intersection(sets: Set<string>[]): Set<string> {
  const [smallest, ...rest] = [...sets].sort((a, b) => a.size - b.size);
  return new Set([...smallest!].filter((id) => rest.every((s) => s.has(id))));
}

function without(from: Set<string>, remove: Set<string>): Set<string> {
  return new Set([...from].filter((id) => !remove.has(id)));
}

/** all(P…, ¬N…) = ∩P − ∪N; with no positive part, everyone except ∪N. */
function allOf(parts: IdSet[]): IdSet {
  const pos = parts.filter((p) => !p.negated);
  const excluded = union(parts.filter((p) => p.negated).map((p) => p.ids));
  if (pos.length === 0) return { ids: excluded, negated: true, grounded: false };
  return {
    ids: without(intersection(pos.map((p) => p.ids)), excluded),
    negated: false,
    grounded: pos.some((p) => p.grounded),
  };
}

/** any(P…, ¬N…) = ∪P; with negated parts, everyone except (∩N − ∪P). */
function anyOf(parts: IdSet[]): IdSet {
  const pos = parts.filter((p) => !p.negated);
  const neg = parts.filter((p) => p.negated);
  const included = union(pos.map((p) => p.ids));
  if (neg.length === 0)
    return { ids: included, negated: false, grounded: pos.every((p) => p.grounded) };
  return {
    ids: without(intersection(neg.map((p) => p.ids)), included),
    negated: true,
    grounded: false,
  };
}

function attributeFilter(c: AttributeCondition): SubscriberFilter {
  const path = `attributes.${c.attribute}`;
  switch (c.op) {
    case 'eq':
      return { [path]: c.value };
    case 'neq':
      return { [path]: { $ne: c.value } };
    case 'gt':
      return { [path]: { $gt: c.value } };
    case 'lt':
      return { [path]: { $lt: c.value } };
    case 'in':
      return { [path]: { $in: c.value } };
    case 'contains':
      return { [path]: { $regex: escapeRegex(c.value), $options: 'i' } };
    case 'exists':
      return { [path]: { $exists: c.value } };
  }
}

function toView(doc: SegmentDoc & { _id: unknown }): SegmentView {
  return {
    id: String(doc._id),
    name: doc.name,
    description: doc.description ?? '',
    rules: doc.rules as Rule,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}
