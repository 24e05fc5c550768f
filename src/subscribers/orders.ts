import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import type { OrderDoc } from '../db/models/order.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { normaliseEmail } from '../shared/email.js';
import { AppError, isDuplicateKey, notFound } from '../shared/errors.js';
import type { ContactService } from './contacts.js';
import type { OrderInput } from './schemas.js';
import type { DomainEvents } from '../events/domain-events.js';

export interface OrderView {
  id: string;
  externalId: string;
  subscriberId: string;
  orderedAt: Date;
  /** Decimal string of totalCents, e.g. "12.50". */
  total: string;
  totalCents: number;
  currency: string;
  categories: string[];
  createdAt: Date;
  updatedAt: Date;
}

type Lean = OrderDoc & { _id: Types.ObjectId };

/** "12.5", 12.5 and "12.50" are all 1250 cents; more than two decimals is refused. */
export function toCents(total: number | string, field: string): number {
  const text = typeof total === 'number' ? String(total) : total;
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) throw new AppError('validation_failed', `${field}: at most two decimals`);
  const cents = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  if (!Number.isSafeInteger(cents)) throw new AppError('validation_failed', `${field}: too large`);
  return cents;
}

const formatCents = (c: number) => `${Math.trunc(c / 100)}.${String(c % 100).padStart(2, '0')}`;

/** Order facts from the shop (seed §2-4), kept only for segmentation. */
export class OrderService {
  constructor(
    private readonly models: Pick<Models, 'Order'>,
    private readonly contacts: ContactService,
    private readonly audit: AuditLog,
    private readonly events: DomainEvents,
  ) {}

  /**
   * Upserts by `externalId`, so the shop may resend an order (or a whole batch) safely. Within a
   * batch, the last occurrence of an externalId wins.
   */
  async ingest(
    ctx: AuditContext,
    orders: OrderInput[],
  ): Promise<{ created: number; updated: number; items: OrderView[] }> {
    const byExternalId = new Map<string, OrderInput & { cents: number; email: string }>();
    orders.forEach((o, i) => {
      const email = normaliseEmail(o.email);
      if (!email)
        throw new AppError('validation_failed', `orders.${i}.email: not a valid email address`);
      byExternalId.set(o.externalId, { ...o, email, cents: toCents(o.total, `orders.${i}.total`) });
    });
    const unique = [...byExternalId.values()];
    const ids = await this.contacts.ensureContacts(
      ctx,
      unique.map((o) => o.email),
      'order',
    );

    const ops = unique.map((o) => ({
      updateOne: {
        filter: { externalId: o.externalId },
        update: {
          $set: {
            subscriberId: ids.get(o.email)!,
            orderedAt: new Date(o.orderedAt),
            totalCents: o.cents,
            currency: o.currency.toUpperCase(),
            categories: [...new Set(o.categories ?? [])],
          },
        },
        upsert: true,
      },
    }));
    let created: number;
    try {
      created = (await this.models.Order.bulkWrite(ops, { ordered: false })).upsertedCount;
    } catch (err) {
      // A concurrent request inserted one of these externalIds first; the retry updates it.
      if (!isDuplicateKey(err)) throw err;
      created = (await this.models.Order.bulkWrite(ops, { ordered: false })).upsertedCount;
    }

    const latest = new Map<string, Date>();
    for (const o of unique) {
      const id = String(ids.get(o.email));
      const at = new Date(o.orderedAt);
      if (!latest.has(id) || latest.get(id)! < at) latest.set(id, at);
    }
    for (const [id, at] of latest) await this.contacts.recordActivity(new Types.ObjectId(id), at);

    const stored = await this.models.Order.find({ externalId: { $in: [...byExternalId.keys()] } })
      .sort({ _id: 1 })
      .lean<Lean[]>();
    // Keyed by the shop's order id, so an order posted twice starts nothing twice.
    await this.events.emit(
      stored.map((o) => ({
        type: 'order.recorded' as const,
        key: o.externalId,
        subscriberId: o.subscriberId,
        data: { orderId: String(o._id), categories: o.categories ?? [] },
      })),
    );
    await this.audit.record(ctx, 'orders.ingest', null, {
      orders: unique.length,
      created,
      subscribers: latest.size,
    });
    return { created, updated: unique.length - created, items: stored.map(toView) };
  }

  async forSubscriber(
    ctx: AuditContext,
    q: { subscriberId: string; cursor?: string | undefined; limit?: number | undefined },
  ): Promise<{ items: OrderView[]; nextCursor: string | null }> {
    if (!(await this.contacts.exists(q.subscriberId))) throw notFound('subscriber');
    const limit = q.limit ?? 50;
    const after = q.cursor !== undefined ? new Types.ObjectId(decodeCursor(q.cursor)) : undefined;
    const found = await this.models.Order.find({
      subscriberId: new Types.ObjectId(q.subscriberId),
      ...(after ? { _id: { $gt: after } } : {}),
    })
      .sort({ _id: 1 })
      .limit(limit + 1)
      .lean<Lean[]>();
    const items = found.slice(0, limit).map(toView);
    await this.audit.record(ctx, 'orders.read', q.subscriberId, { count: items.length });
    return {
      items,
      nextCursor: found.length > limit ? encodeCursor(items[items.length - 1]!.id) : null,
    };
  }
}

function toView(o: Lean): OrderView {
  return {
    id: String(o._id),
    externalId: o.externalId,
    subscriberId: String(o.subscriberId),
    orderedAt: o.orderedAt,
    total: formatCents(o.totalCents),
    totalCents: o.totalCents,
    currency: o.currency,
    categories: o.categories ?? [],
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
  };
}
