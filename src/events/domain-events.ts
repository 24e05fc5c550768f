import { Types } from 'mongoose';
import { insertEach } from '../db/bulk.js';
import type { Models } from '../db/models/index.js';
import type { Clock } from '../shared/clock.js';

/** Events other systems may subscribe to by webhook (docs/webhooks.md). */
export const WEBHOOK_EVENT_TYPES = [
  'subscriber.created',
  'subscriber.unsubscribed',
  'subscriber.bounced',
  'subscriber.complained',
  'subscriber.erased',
  'campaign.finished',
  'privacy_request.opened',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Events only automations consume: they start series and are never sent out. */
export const INTERNAL_EVENT_TYPES = ['subscriber.joined_list', 'order.recorded'] as const;
export type EventType = WebhookEventType | (typeof INTERNAL_EVENT_TYPES)[number];

const WEBHOOK_TYPES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);

export interface DomainEvent {
  type: EventType;
  /**
   * Names this occurrence: an operation repeated after a crash or a retry emits the same key, and
   * the event is stored once.
   */
  key: string;
  subscriberId?: string | Types.ObjectId;
  /** Only what a consumer needs; ids rather than personal data wherever they suffice. */
  data?: Record<string, unknown>;
}

export interface StoredEvent {
  _id: Types.ObjectId;
  key: string;
  type: EventType;
  at: Date;
  subscriberId?: Types.ObjectId | null;
  data: Record<string, unknown>;
}

export type EventConsumer = 'webhooks' | 'automations';
const FLAG: Record<EventConsumer, 'webhooksPending' | 'automationsPending'> = {
  webhooks: 'webhooksPending',
  automations: 'automationsPending',
};

/**
 * The one way capabilities tell the rest of Kirje (and, by webhook, other systems) what happened.
 * `emit` writes the events to the outbox collection before it returns, so an operation that
 * answered "done" has its events stored even if the process dies the next moment; consumers read
 * the outbox in `_id` order and clear their flag when done, so nothing is lost on a restart.
 */
export class DomainEvents {
  constructor(
    private readonly models: Pick<Models, 'DomainEvent'>,
    private readonly clock: Clock,
  ) {}

  async emit(events: DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    const at = this.clock.now();
    // A key already stored is this same occurrence emitted before: nothing to add.
    await insertEach(
      this.models.DomainEvent.collection,
      events.map((e) => ({
        _id: new Types.ObjectId(),
        key: `${e.type}:${e.key}`,
        type: e.type,
        at,
        ...(e.subscriberId ? { subscriberId: new Types.ObjectId(String(e.subscriberId)) } : {}),
        data: e.data ?? {},
        webhooksPending: WEBHOOK_TYPES.has(e.type),
        automationsPending: true,
      })),
    );
  }

  /** Up to `limit` events the consumer has not handled, oldest first. */
  async pending(consumer: EventConsumer, limit: number): Promise<StoredEvent[]> {
    const docs = await this.models.DomainEvent.find({ [FLAG[consumer]]: true })
      .sort({ _id: 1 })
      .limit(limit)
      .lean();
    return docs as unknown as StoredEvent[];
  }

  /** The consumer is done with these; handling must be idempotent, as a lost flag is seen again. */
  async handled(consumer: EventConsumer, ids: Types.ObjectId[]): Promise<void> {
    if (ids.length === 0) return;
    await this.models.DomainEvent.updateMany(
      { _id: { $in: ids } },
      { $set: { [FLAG[consumer]]: false } },
    );
  }

  /** Removes events both consumers handled before `before`: the outbox keeps only recent ones. */
  async sweep(before: Date): Promise<number> {
    const res = await this.models.DomainEvent.deleteMany({
      webhooksPending: false,
      automationsPending: false,
      at: { $lt: before },
    });
    return res.deletedCount;
  }

  async byIds(ids: Types.ObjectId[]): Promise<Map<string, StoredEvent>> {
    const docs = (await this.models.DomainEvent.find({ _id: { $in: ids } }).lean()) as unknown[];
    return new Map((docs as StoredEvent[]).map((d) => [String(d._id), d]));
  }
}

/**
 * A new subscriber. Keyed by the subscriber: a create repeated after a crash stores it once.
 */
export function subscriberCreated(
  subscriberId: Types.ObjectId,
  data: { status: string; source: string },
): DomainEvent {
  return { type: 'subscriber.created', key: String(subscriberId), subscriberId, data };
}

/** A person now subscribed to a list (automations start welcome series from it). */
export function joinedList(
  subscriberId: Types.ObjectId | string,
  listId: string,
  at: Date,
): DomainEvent {
  return {
    type: 'subscriber.joined_list',
    key: `${String(subscriberId)}:${listId}:${at.toISOString()}`,
    subscriberId,
    data: { listId },
  };
}
