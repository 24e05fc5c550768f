import { Types } from 'mongoose';
import { parseRules } from '../src/segments/rules.js';
import { SegmentService } from '../src/segments/service.js';
import { systemClock } from '../src/shared/clock.js';
import { benchDatabase } from './support.js';

const SUBSCRIBERS = Number(process.env.BENCH_SEGMENT_SUBSCRIBERS ?? 100_000);
const DAY = 86_400_000;

const RULES: Record<string, unknown> = {
  statusField: { field: 'status', op: 'eq', value: 'subscribed' },
  categoryWithin90d: { orders: 'category', category: 'shoes', withinDays: 90 },
  nestedOrderFacts: {
    all: [
      { field: 'status', op: 'eq', value: 'subscribed' },
      {
        any: [
          { orders: 'totalSpent', op: 'gt', amount: 150, currency: 'EUR', withinDays: 365 },
          {
            all: [
              { orders: 'count', op: 'gte', value: 3 },
              { orders: 'noneSince', days: 30 },
            ],
          },
        ],
      },
    ],
  },
};

interface Person {
  subscribed: boolean;
  orders: Array<{ ageDays: number; cents: number; category: string }>;
}

/** Subscriber i and their orders, as seeded below and as the expected counts read them. */
function person(i: number): Person {
  const count = i % 3 === 0 ? (i % 10 === 0 ? 3 : 1) : 0;
  return {
    subscribed: i % 10 !== 0,
    orders: Array.from({ length: count }, (_v, k) => ({
      ageDays: (i + k * 37) % 400,
      cents: (i % 200) * 100,
      category: ['shoes', 'bags', 'coats', 'socks'][(i + k) % 4]!,
    })),
  };
}

/** Each rule of RULES restated over the seeded people, counted one by one. */
const EXPECTED: Record<string, (p: Person) => boolean> = {
  statusField: (p) => p.subscribed,
  categoryWithin90d: (p) => p.orders.some((o) => o.category === 'shoes' && o.ageDays <= 90),
  nestedOrderFacts: (p) =>
    p.subscribed &&
    (p.orders.filter((o) => o.ageDays <= 365).reduce((sum, o) => sum + o.cents, 0) > 15_000 ||
      (p.orders.length >= 3 && !p.orders.some((o) => o.ageDays <= 30))),
};

/**
 * Segment counts over SUBSCRIBERS subscribers, a third of whom have order facts; each count is
 * checked against EXPECTED. The service's clock is the seeding time, so "within N days" has no
 * boundary drift.
 */
export async function run(): Promise<Record<string, number | string>> {
  const db = await benchDatabase();
  try {
    const { Subscriber, Order } = db.models;
    const now = systemClock.now().getTime();
    const seedStarted = performance.now();
    let orders = 0;
    for (let from = 0; from < SUBSCRIBERS; from += 1000) {
      const subs = [];
      const ords: Array<Record<string, unknown>> = [];
      for (let i = from; i < Math.min(from + 1000, SUBSCRIBERS); i++) {
        const _id = new Types.ObjectId();
        const p = person(i);
        subs.push({
          _id,
          email: `seg${i}@example.com`,
          name: `S ${i}`,
          source: 'bench',
          status: p.subscribed ? 'subscribed' : 'unsubscribed',
          locale: 'fi',
          attributes: {},
        });
        p.orders.forEach((o, k) => {
          orders += 1;
          ords.push({
            externalId: `o${i}-${k}`,
            subscriberId: _id,
            orderedAt: new Date(now - o.ageDays * DAY),
            totalCents: o.cents,
            currency: 'EUR',
            categories: [o.category],
          });
        });
      }
      await Subscriber.collection.insertMany(subs, { ordered: false });
      if (ords.length) await Order.collection.insertMany(ords, { ordered: false });
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const segments = new SegmentService(db.models, { now: () => new Date(now) });
    const people = Array.from({ length: SUBSCRIBERS }, (_v, i) => person(i));
    const result: Record<string, number | string> = {
      subscribers: SUBSCRIBERS,
      orders,
      seedSeconds: Math.round(seedSeconds),
    };
    for (const [name, raw] of Object.entries(RULES)) {
      const rules = parseRules(raw);
      const started = performance.now();
      const count = await segments.count(rules);
      result[`${name}Ms`] = Math.round(performance.now() - started);
      result[`${name}Count`] = count;
      const expected = people.filter(EXPECTED[name]!).length;
      if (count !== expected) throw new Error(`${name}: counted ${count}, expected ${expected}`);
    }
    return result;
  } finally {
    await db.dispose();
  }
}
