import { Types, type Model } from 'mongoose';
import { membershipId } from '../src/db/models/membership.js';
import type { Models } from '../src/db/models/index.js';
import type { LOCALES, SUBSCRIBER_STATUSES } from '../src/db/models/subscriber.js';
import { normaliseEmail } from '../src/shared/email.js';

/**
 * A shop's register for the scale bench, made from the subscriber's index alone: person(i) and
 * order(j) are pure functions, so seeding streams in chunks and the bench can name any person,
 * their `_id`, address and fields, and count what a rule must match, without keeping the
 * population in memory (a million people seed with memory flat).
 */
export const CHUNK = 2000;
const DAY = 86_400_000;
/** Subscribers joined over the two years before `now`, in index order. */
export const SPAN_DAYS = 730;
// Order ages this close to a "withinDays" boundary the bench queries (365) are moved off it: the
// service's clock runs on while the bench works, and a count must not depend on when it ran.
const AVOID_AROUND_DAYS = 365;

export interface Population {
  subscribers: number;
  orders: number;
  /** Epoch ms the register is seeded relative to. */
  now: number;
}

type Locale = (typeof LOCALES)[number];
type Status = (typeof SUBSCRIBER_STATUSES)[number];
export type Tier = 'gold' | 'silver' | 'basic';

export interface Person {
  index: number;
  _id: Types.ObjectId;
  email: string;
  locale: Locale;
  status: Status;
  tier: Tier;
  createdAt: Date;
  /** Also a member of the second list (about 20 %). */
  onOffers: boolean;
}

export interface OrderFact {
  externalId: string;
  subscriber: number;
  orderedAt: Date;
  totalCents: number;
  categories: string[];
}

/** A well-mixed hash of (n, salt) in [0, 1): fields do not repeat with the index's period. */
export function unit(n: number, salt: number): number {
  let h = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

export const emailOf = (i: number) => `scale${i}@example.com`;
/** The index in `scale<i>@example.com`, or -1. */
export const indexOf = (email: string) =>
  Number(/^scale(\d+)@example\.com$/.exec(email)?.[1] ?? -1);

const firstDay = (pop: Population) => pop.now - SPAN_DAYS * DAY;

export function person(i: number, pop: Population): Person {
  // Joined in index order, so `_id` (whose first four bytes are the creation second) and
  // createdAt rise together as in a real register; the low bytes are the index, so ids are unique.
  const createdAt = new Date(
    Math.floor(firstDay(pop) + ((i + unit(i, 1)) * SPAN_DAYS * DAY) / pop.subscribers),
  );
  const seconds = Math.floor(createdAt.getTime() / 1000);
  const _id = new Types.ObjectId(
    seconds.toString(16).padStart(8, '0') + i.toString(16).padStart(16, '0'),
  );
  const l = unit(i, 2);
  const s = unit(i, 3);
  const t = unit(i, 4);
  return {
    index: i,
    _id,
    email: emailOf(i),
    locale: l < 0.7 ? 'fi' : l < 0.9 ? 'en' : 'sv',
    status:
      s < 0.9
        ? 'subscribed'
        : s < 0.95
          ? 'unsubscribed'
          : s < 0.97
            ? 'unconfirmed'
            : s < 0.99
              ? 'bounced'
              : 'complained',
    tier: t < 0.1 ? 'gold' : t < 0.4 ? 'silver' : 'basic',
    createdAt,
    onOffers: unit(i, 5) < 0.2,
  };
}

const CATEGORIES = ['shoes', 'bags', 'coats', 'socks', 'cables'];

export function order(j: number, pop: Population): OrderFact {
  const subscriber = Math.floor(unit(j, 10) * pop.subscribers);
  const joined = person(subscriber, pop).createdAt.getTime();
  let ageDays = (unit(j, 11) * (pop.now - joined)) / DAY;
  if (Math.abs(ageDays - AVOID_AROUND_DAYS) < 2) ageDays = AVOID_AROUND_DAYS - 3;
  const c = Math.floor(unit(j, 12) * CATEGORIES.length);
  return {
    externalId: `scale-${j}`,
    subscriber,
    orderedAt: new Date(pop.now - ageDays * DAY),
    totalCents: 1000 + Math.floor(unit(j, 13) * 200) * 100,
    categories:
      unit(j, 14) < 0.3
        ? [CATEGORIES[c]!, CATEGORIES[(c + 1) % CATEGORIES.length]!]
        : [CATEGORIES[c]!],
  };
}

/** The membership status a subscriber's own status implies. */
const membershipStatus = (s: Status) =>
  s === 'subscribed' ? 'subscribed' : s === 'unconfirmed' ? 'unconfirmed' : 'unsubscribed';

export interface Seeded {
  /** Everyone is on this list (with a status that follows theirs). */
  newsletter: { id: string; slug: string };
  offers: { id: string; slug: string };
  memberships: number;
  seconds: number;
}

/**
 * `plain` as mongoose would insert it through `model`: cast and validated by the model's schema,
 * with its defaults, timestamps (those given are kept, as mongoose keeps them) and `__v`.
 */
function asStored<T>(model: Model<T>, plain: Record<string, unknown>, now: Date) {
  const doc = new model(plain);
  const invalid = doc.validateSync();
  if (invalid) throw invalid;
  const stored = doc.toObject({ virtuals: false, getters: false, transform: false }) as Record<
    string,
    unknown
  >;
  if (model.schema.get('timestamps')) {
    stored.createdAt ??= now;
    stored.updatedAt ??= stored.createdAt;
  }
  const versionKey = model.schema.get('versionKey');
  if (typeof versionKey === 'string' && !(versionKey in stored)) stored[versionKey] = 0;
  return stored;
}

/** Inserts a chunk as it is, unordered; anything not inserted is an error. */
async function insertAll<T>(model: Model<T>, docs: Array<Record<string, unknown>>) {
  if (docs.length === 0) return;
  const res = await model.collection.insertMany(docs, { ordered: false });
  if (res.insertedCount !== docs.length)
    throw new Error(`${model.modelName}: ${res.insertedCount} of ${docs.length} inserted`);
}

/**
 * Seeds the register in chunks of CHUNK, one unordered insert per collection and chunk, of
 * documents shaped by the models (asStored): subscribers with normalised addresses; memberships with the `_id` of membershipId(); order facts. The seeded createdAt is kept.
 * (Through the models' own bulk writes a chunk took 3-4 times as long, in mongoose.)
 */
export async function seed(
  models: Models,
  pop: Population,
  progress: (line: string) => void,
): Promise<Seeded> {
  const started = performance.now();
  const [newsletter, offers] = await models.List.create([
    { name: 'Uutiskirje', slug: 'uutiskirje', doubleOptIn: false, public: true },
    { name: 'Tarjoukset', slug: 'tarjoukset', doubleOptIn: false, public: true },
  ]);
  let memberships = 0;
  let reported = 0;
  const report = (done: number, total: number, what: string) => {
    if (done - reported < total / 10 && done < total) return;
    reported = done;
    progress(
      `seeding ${what}: ${done}/${total} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  };

  for (let from = 0; from < pop.subscribers; from += CHUNK) {
    const now = new Date();
    const people: Array<Record<string, unknown>> = [];
    const members: Array<Record<string, unknown>> = [];
    for (let i = from; i < Math.min(from + CHUNK, pop.subscribers); i++) {
      const p = person(i, pop);
      const email = normaliseEmail(p.email)!;
      people.push(
        asStored(
          models.Subscriber,
          {
            _id: p._id,
            email,
            name: `Asiakas ${i}`,
            locale: p.locale,
            attributes: { tier: p.tier, city: `Kaupunki ${i % 50}` },
            source: i % 4 === 0 ? 'web-form:uutiskirje' : 'api',
            status: p.status,
            createdAt: p.createdAt,
            updatedAt: p.createdAt,
          },
          now,
        ),
      );
      const status = membershipStatus(p.status);
      const member = (listId: Types.ObjectId) =>
        asStored(
          models.Membership,
          {
            _id: membershipId(p._id, listId),
            subscriberId: p._id,
            listId,
            status,
            source: 'bench',
            ...(status === 'subscribed' ? { subscribedAt: p.createdAt } : {}),
            ...(status === 'unsubscribed' ? { unsubscribedAt: p.createdAt } : {}),
            createdAt: p.createdAt,
          },
          now,
        );
      members.push(member(newsletter!._id));
      if (p.onOffers) members.push(member(offers!._id));
    }
    await insertAll(models.Subscriber, people);
    await insertAll(models.Membership, members);
    memberships += members.length;
    report(from + people.length, pop.subscribers, 'subscribers');
  }

  reported = 0;
  for (let from = 0; from < pop.orders; from += CHUNK) {
    const now = new Date();
    const facts = [];
    for (let j = from; j < Math.min(from + CHUNK, pop.orders); j++) {
      const o = order(j, pop);
      facts.push(
        asStored(
          models.Order,
          {
            externalId: o.externalId,
            subscriberId: person(o.subscriber, pop)._id,
            orderedAt: o.orderedAt,
            totalCents: o.totalCents,
            currency: 'EUR',
            categories: o.categories,
            createdAt: o.orderedAt,
          },
          now,
        ),
      );
    }
    await insertAll(models.Order, facts);
    report(from + facts.length, pop.orders, 'orders');
  }

  return {
    newsletter: { id: String(newsletter!._id), slug: newsletter!.slug },
    offers: { id: String(offers!._id), slug: offers!.slug },
    memberships,
    seconds: (performance.now() - started) / 1000,
  };
}
