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

/** Segment counts over SUBSCRIBERS subscribers, a third of whom have order facts. */
export async function run(): Promise<Record<string, number | string>> {
  const db = await benchDatabase();
  try {
    const { Subscriber, Order } = db.models;
    const now = systemClock.now().getTime();
    const seedStarted = performance.now();
    let orders = 0;
    for (let from = 0; from < SUBSCRIBERS; from += 1000) {
      const subs = [];
      const ords = [];
      for (let i = from; i < Math.min(from + 1000, SUBSCRIBERS); i++) {
        const _id = new Types.ObjectId();
        subs.push({
          _id,
          email: `seg${i}@example.com`,
          name: `S ${i}`,
          source: 'bench',
          status: i % 10 === 0 ? 'unsubscribed' : 'subscribed',
          locale: 'fi',
          attributes: {},
        });
        const count = i % 3 === 0 ? (i % 10 === 0 ? 3 : 1) : 0;
        for (let k = 0; k < count; k++) {
          orders += 1;
          ords.push({
            externalId: `o${i}-${k}`,
            subscriberId: _id,
            orderedAt: new Date(now - ((i + k * 37) % 400) * DAY),
            totalCents: (i % 200) * 100,
            currency: 'EUR',
            categories: [['shoes', 'bags', 'coats', 'socks'][(i + k) % 4]!],
          });
        }
      }
      await Subscriber.collection.insertMany(subs, { ordered: false });
      if (ords.length) await Order.collection.insertMany(ords, { ordered: false });
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const segments = new SegmentService(db.models, systemClock);
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
    }
    return result;
  } finally {
    await db.dispose();
  }
}
