import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import type { SegmentDoc } from '../db/models/segment.js';
import type { Clock } from '../shared/clock.js';
import { maskEmail } from '../shared/email.js';
import { AppError, notFound } from '../shared/errors.js';
import {
  isGroup,
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
const negated: Record<Comparison, string> = {
  gt: '$lte',
  gte: '$lt',
  lt: '$gte',
  lte: '$gt',
  eq: '$ne',
};

/**
 * Compiles segment rules and runs them. Order and membership facts live in their own collections
 * and FerretDB has no $lookup, so those conditions are resolved first into subscriber-id sets
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

  async list(): Promise<SegmentView[]> {
    const docs = await this.models.Segment.find().sort({ name: 1, _id: 1 }).limit(1000);
    return docs.map(toView);
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
    return this.models.Subscriber.countDocuments(await this.compile(rules));
  }

  async sample(rules: Rule, size = 10): Promise<SampleItem[]> {
    const docs = await this.models.Subscriber.find(await this.compile(rules))
      .sort({ _id: 1 })
      .limit(size)
      .select('name email status')
      .lean();
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
    const filter = await this.compile(rules);
    let after: Types.ObjectId | undefined;
    for (;;) {
      const page = await this.models.Subscriber.find(
        after ? { $and: [filter, { _id: { $gt: after } }] } : filter,
      )
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
    if ('list' in c) return this.listFilter(c);
    return this.orderFilter(c);
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

  private async listFilter(c: ListCondition): Promise<SubscriberFilter> {
    const list = await this.models.List.findOne(
      Types.ObjectId.isValid(c.list)
        ? { $or: [{ _id: c.list }, { slug: c.list }] }
        : { slug: c.list },
    ).select('_id');
    if (!list) throw new AppError('validation_failed', `rules: no list ${c.list}`);
    const ids = await this.models.Membership.distinct('subscriberId', {
      listId: list._id,
      status: { $in: c.status },
    });
    return { _id: { [c.member ? '$in' : '$nin']: ids } };
  }

  private async orderFilter(c: OrderCondition): Promise<SubscriberFilter> {
    switch (c.orders) {
      case 'category': {
        const match: Record<string, unknown> = { categories: c.category };
        if (c.withinDays) match.orderedAt = { $gte: this.daysAgo(c.withinDays) };
        return { _id: { $in: await this.orderingSubscribers(match) } };
      }
      case 'noneSince':
        return {
          _id: {
            $nin: await this.orderingSubscribers({ orderedAt: { $gte: this.daysAgo(c.days) } }),
          },
        };
      case 'totalSpent': {
        const match: Record<string, unknown> = { currency: c.currency };
        if (c.withinDays) match.orderedAt = { $gte: this.daysAgo(c.withinDays) };
        return this.aggregateFilter(match, '$totalCents', c.op, Math.round(c.amount * 100));
      }
      case 'count': {
        const match: Record<string, unknown> = {};
        if (c.withinDays) match.orderedAt = { $gte: this.daysAgo(c.withinDays) };
        return this.aggregateFilter(match, 1, c.op, c.value);
      }
    }
  }

  private async orderingSubscribers(match: Record<string, unknown>): Promise<Types.ObjectId[]> {
    const rows = await this.models.Order.aggregate<{ _id: Types.ObjectId }>([
      { $match: match },
      { $group: { _id: '$subscriberId', n: { $sum: 1 } } },
    ]);
    return rows.map((r) => r._id);
  }

  /**
   * "sum per subscriber <op> n". Subscribers without matching orders have a sum of 0 and no group
   * row, so when 0 itself satisfies the comparison the filter excludes the complement instead.
   */
  private async aggregateFilter(
    match: Record<string, unknown>,
    summand: string | number,
    op: Comparison,
    n: number,
  ): Promise<SubscriberFilter> {
    const zeroMatches = holds(op, 0, n);
    const predicate = zeroMatches ? { [negated[op]]: n } : { [`$${op}`]: n };
    const rows = await this.models.Order.aggregate<{ _id: Types.ObjectId }>([
      { $match: match },
      { $group: { _id: '$subscriberId', v: { $sum: summand } } },
      { $match: { v: predicate } },
      { $project: { _id: 1 } },
    ]);
    return { _id: { [zeroMatches ? '$nin' : '$in']: rows.map((r) => r._id) } };
  }

  private daysAgo(days: number): Date {
    return new Date(this.clock.now().getTime() - days * DAY_MS);
  }
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
