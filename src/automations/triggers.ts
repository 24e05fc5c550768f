import { Types } from 'mongoose';
import type { Claims } from '../db/claims.js';
import type { Models } from '../db/models/index.js';
import type { DomainEvents, StoredEvent } from '../events/domain-events.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { ActiveAutomation, Enrolments } from './enrolments.js';

const DAY_MS = 86_400_000;
/** Days a date trigger catches up on after the service was down. */
const CATCH_UP_DAYS = 7;
const SCAN_LEASE_MS = 10 * 60_000;
const EVENTS_PER_ROUND = 200;

const dayOf = (at: Date) => at.toISOString().slice(0, 10);
/** A date attribute's month and day: `1990-05-17`, `1990-05-17T…` or `--05-17`. */
const monthDay = (value: unknown) =>
  typeof value === 'string' ? /^(?:\d{4}|-)-(\d{2})-(\d{2})/.exec(value)?.slice(1).join('-') : null;

/**
 * Turns what happened into enrolments. Events (joined a list, an order) are read from the
 * outbox; date triggers (an order's date passed by N days, a date attribute) are scanned once a
 * day per automation, each day's scan claimed so one process does it. Only what happened after an
 * automation was activated starts it.
 */
export class Triggers {
  constructor(
    private readonly deps: {
      models: Pick<Models, 'Order' | 'Subscriber' | 'Claim'>;
      events: DomainEvents;
      enrolments: Enrolments;
      claims: Claims;
      clock: Clock;
      logger: Logger;
      owner: string;
    },
  ) {}

  /** Handles a round of outbox events; true when there were any. */
  async handleEvents(active: ActiveAutomation[]): Promise<boolean> {
    const events = await this.deps.events.pending('automations', EVENTS_PER_ROUND);
    for (const event of events) await this.handle(event, active);
    await this.deps.events.handled(
      'automations',
      events.map((e) => e._id),
    );
    return events.length > 0;
  }

  private async handle(event: StoredEvent, active: ActiveAutomation[]): Promise<void> {
    const subscriberId = event.subscriberId;
    if (!subscriberId) return;
    const { enrolments } = this.deps;
    if (event.type === 'subscriber.unsubscribed' && event.data.allLists)
      return enrolments.exitAll(subscriberId, 'unsubscribed');
    if (event.type === 'subscriber.erased') return enrolments.exitAll(subscriberId, 'erased');
    const started = active.filter((a) => a.activatedAt <= event.at);
    for (const automation of started) {
      const t = automation.trigger;
      if (event.type === 'subscriber.joined_list' && t.type === 'list_joined') {
        if (event.data.listId === t.list)
          await enrolments.enrol(automation, subscriberId, String(event._id), t.list);
      } else if (event.type === 'order.recorded' && t.type === 'first_order') {
        if (await this.isFirstOrder(subscriberId, String(event.data.orderId)))
          await enrolments.enrol(automation, subscriberId, 'first');
      } else if (event.type === 'order.recorded' && t.type === 'order_in_category') {
        const categories = event.data.categories as string[] | undefined;
        if (categories?.includes(t.category))
          await enrolments.enrol(automation, subscriberId, `order:${String(event.data.orderId)}`);
      }
    }
  }

  private async isFirstOrder(subscriberId: Types.ObjectId, orderId: string): Promise<boolean> {
    const [first] = await this.deps.models.Order.find({ subscriberId }, { _id: 1 })
      .sort({ orderedAt: 1, _id: 1 })
      .limit(1)
      .lean();
    return first !== undefined && String(first._id) === orderId;
  }

  /** Runs the date scans due today (and those missed in the last days); true when one ran. */
  async scanDates(active: ActiveAutomation[]): Promise<boolean> {
    const now = this.deps.clock.now();
    let ran = false;
    for (const automation of active) {
      const t = automation.trigger;
      if (t.type !== 'order_date_passed' && t.type !== 'date_attribute') continue;
      const firstDay = Math.max(
        Date.parse(dayOf(automation.activatedAt)),
        Date.parse(dayOf(now)) - (CATCH_UP_DAYS - 1) * DAY_MS,
      );
      for (let day = firstDay; day <= now.getTime(); day += DAY_MS) {
        if (await this.scanDay(automation, new Date(day))) ran = true;
      }
    }
    return ran;
  }

  private async scanDay(automation: ActiveAutomation, day: Date): Promise<boolean> {
    const { claims, models } = this.deps;
    const name = `automation-scan:${String(automation._id)}:${dayOf(day)}`;
    if (await models.Claim.exists({ _id: `${name}:done` })) return false;
    const held = await claims.lease(name, SCAN_LEASE_MS, this.deps.clock.now(), {
      owner: this.deps.owner,
    });
    if (!held) return false;
    const people = await this.dueOn(automation, day);
    for (const { subscriberId, occurrence } of people)
      await this.deps.enrolments.enrol(automation, subscriberId, occurrence);
    await claims.once(`${name}:done`, { owner: this.deps.owner, at: this.deps.clock.now() });
    this.deps.logger.info(
      { automationId: String(automation._id), day: dayOf(day), enrolled: people.length },
      'automation date trigger scanned',
    );
    return true;
  }

  /** The people a date trigger names on `day`, each with what makes this occurrence unique. */
  private async dueOn(
    automation: ActiveAutomation,
    day: Date,
  ): Promise<Array<{ subscriberId: Types.ObjectId; occurrence: string }>> {
    const t = automation.trigger;
    const out: Array<{ subscriberId: Types.ObjectId; occurrence: string }> = [];
    if (t.type === 'order_date_passed') {
      // Orders placed on the day N days back; their buyers qualify when that order is still
      // their first (or last) one.
      const from = new Date(day.getTime() - t.days * DAY_MS);
      const to = new Date(from.getTime() + DAY_MS);
      const orders = await this.deps.models.Order.find(
        { orderedAt: { $gte: from, $lt: to } },
        { subscriberId: 1 },
      ).lean();
      const buyers = [...new Set(orders.map((o) => String(o.subscriberId)))];
      for (const id of buyers) {
        const subscriberId = new Types.ObjectId(id);
        const [fact] = await this.deps.models.Order.find({ subscriberId }, { orderedAt: 1 })
          .sort({ orderedAt: t.order === 'first' ? 1 : -1 })
          .limit(1)
          .lean();
        if (fact && fact.orderedAt >= from && fact.orderedAt < to)
          out.push({ subscriberId, occurrence: fact.orderedAt.toISOString() });
      }
      return out;
    }
    if (t.type === 'date_attribute') {
      const path = `attributes.${t.attribute}`;
      const wanted = dayOf(day).slice(5);
      const cursor = this.deps.models.Subscriber.find({ [path]: { $exists: true } }, { [path]: 1 })
        .lean()
        .cursor();
      for await (const s of cursor) {
        const attributes = (s as { attributes?: Record<string, unknown> }).attributes;
        if (monthDay(attributes?.[t.attribute]) === wanted)
          out.push({ subscriberId: s._id, occurrence: dayOf(day).slice(0, 4) });
      }
    }
    return out;
  }
}
