import { z } from 'zod';
import { LAWFUL_BASES } from '../db/models/list.js';
import { MEMBERSHIP_STATUSES } from '../db/models/membership.js';
import { LOCALES, SUBSCRIBER_STATUSES } from '../db/models/subscriber.js';
import { UNSUBSCRIBE_CHANNELS } from '../db/models/unsubscribe-event.js';
import { cursorQuery, dateTime, objectId, page, singleLine } from '../http/schemas.js';
import { normaliseEmail } from '../shared/email.js';
import { parseHetu } from '../privacy/hetu.js';

const email = z
  .string()
  .max(512)
  .refine((v) => normaliseEmail(v) !== null, 'not a valid email address');
const text = (max: number) => z.string().trim().max(max);
const idOrSlug = z.string().min(1).max(64);
const slug = z
  .string()
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lower-case letters, digits and single dashes')
  .max(64);
const httpUrl = z.url({ protocol: /^https?$/ }).max(2000);

// ---- lists

const listFields = {
  name: singleLine(200).min(1),
  slug,
  doubleOptIn: z.boolean(),
  description: text(2000),
  lawfulBasis: z.enum(LAWFUL_BASES),
  public: z.boolean(),
  thankYouUrl: httpUrl.nullable(),
};
export const listCreateBody = z.strictObject({
  ...listFields,
  doubleOptIn: listFields.doubleOptIn.default(true),
  description: listFields.description.optional(),
  lawfulBasis: listFields.lawfulBasis.optional(),
  public: listFields.public.optional(),
  thankYouUrl: listFields.thankYouUrl.optional(),
});
export const listUpdateBody = z.strictObject(listFields).partial();

const statusCounts = z.object(
  Object.fromEntries(MEMBERSHIP_STATUSES.map((s) => [s, z.number().int()])) as Record<
    (typeof MEMBERSHIP_STATUSES)[number],
    z.ZodNumber
  >,
);
export const listView = z.object({
  id: objectId,
  name: z.string(),
  slug: z.string(),
  description: z.string(),
  doubleOptIn: z.boolean(),
  lawfulBasis: z.enum(LAWFUL_BASES),
  public: z.boolean(),
  thankYouUrl: z.string().nullable(),
  counts: statusCounts,
  createdAt: dateTime,
  updatedAt: dateTime,
});
export const listPage = page(listView);
export const listQuery = z.strictObject({ ...cursorQuery });

// ---- subscribers

/** Flat, bounded, and free of keys MongoDB would read as operators or paths. */
export const ATTRIBUTE_KEY = /^[A-Za-z0-9_-]{1,64}$/;
export const attributes = z
  .record(
    z.string().regex(ATTRIBUTE_KEY, 'attribute names are 1-64 letters, digits, _ or -'),
    z.union([z.string().max(1000), z.number(), z.boolean()]),
  )
  .refine((a) => Object.keys(a).length <= 50, 'at most 50 attributes');
const address = z.strictObject({
  street: text(200).optional(),
  postalCode: text(20).optional(),
  city: text(100).optional(),
  country: text(100).optional(),
});
const hetu = z
  .string()
  .max(20)
  .refine((v) => parseHetu(v) !== null, 'not a valid Finnish personal identity number');
const phone = z.string().regex(/^\+?[0-9 ()-]{3,40}$/, 'digits, spaces, ( ) - and a leading +');
const segmentLabel = text(100).min(1);

const profileFields = {
  name: singleLine(200),
  locale: z.enum(LOCALES),
  attributes,
  phone: phone.nullable(),
  address: address.nullable(),
  customerSegment: segmentLabel.nullable(),
  hetu: hetu.nullable(),
};
export const subscriberCreateBody = z.strictObject({
  email,
  ...z.object(profileFields).partial().shape,
  // The contract's `segments`: the customer segment label(s) of the register (seed §4). A contact
  // has one customer segment, so at most one label is accepted here.
  segments: z.union([segmentLabel, z.array(segmentLabel).max(1)]).optional(),
  lists: z.array(idOrSlug).max(50).optional(),
  status: z.enum(['subscribed', 'unconfirmed']).optional(),
  source: text(100).min(1).optional(),
});
export const subscriberUpdateBody = z.strictObject({
  email: email.optional(),
  ...z.object(profileFields).partial().shape,
  /** Lists to join; memberships that already exist (including unsubscribed ones) are left alone. */
  lists: z.array(idOrSlug).max(50).optional(),
});

export const ATTRIBUTE_FILTER = /^attr\.([A-Za-z0-9_-]{1,64})$/;
const searchKnown = {
  email: z.string().min(1).max(254).optional(),
  name: z.string().min(1).max(200).optional(),
  status: z.enum(SUBSCRIBER_STATUSES).optional(),
  list: idOrSlug.optional(),
  ...cursorQuery,
};
export const subscriberSearchQuery = z
  .object(searchKnown)
  .catchall(z.string().max(1000))
  .superRefine((q, ctx) => {
    const extra = Object.keys(q).filter((k) => !(k in searchKnown));
    for (const key of extra)
      if (!ATTRIBUTE_FILTER.test(key))
        ctx.addIssue({ code: 'custom', path: [key], message: 'unknown query parameter' });
    if (extra.length > 10)
      ctx.addIssue({ code: 'custom', path: [], message: 'at most 10 attribute filters' });
  })
  .meta({ description: 'Besides the named parameters, `attr.KEY=value` filters on an attribute.' });

const membershipRef = z.object({
  id: objectId,
  slug: z.string(),
  status: z.enum(MEMBERSHIP_STATUSES),
});
export const subscriberSummary = z.object({
  id: objectId,
  email: z.string(),
  name: z.string(),
  status: z.enum(SUBSCRIBER_STATUSES),
  locale: z.enum(LOCALES),
  lists: z.array(membershipRef),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  source: z.string(),
  customerSegment: z.string().nullable(),
  createdAt: dateTime,
  updatedAt: dateTime,
});
export const subscriberFull = subscriberSummary.extend({
  phone: z.string().nullable(),
  address: z
    .object({
      street: z.string().optional(),
      postalCode: z.string().optional(),
      city: z.string().optional(),
      country: z.string().optional(),
    })
    .nullable(),
  hetu: z
    .string()
    .regex(/^\*{6}-\*{3}[0-9A-Y]$/)
    .nullable()
    .optional()
    .meta({ description: 'Masked; present only for roles that may see the identity number.' }),
  lastActivityAt: dateTime.nullable(),
});
export const subscriberPage = page(subscriberSummary);

// ---- order facts

const orderInput = z.strictObject({
  externalId: z.string().min(1).max(200),
  email,
  orderedAt: z.iso.datetime({ offset: true }),
  total: z.union([
    z.number().min(0).max(1e10),
    z.string().regex(/^\d{1,10}(\.\d{1,2})?$/, 'a decimal amount like 12.50'),
  ]),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code such as EUR'),
  categories: z.array(z.string().trim().min(1).max(100)).max(100).optional(),
});
export const orderSingleBody = orderInput;
export const orderBatchBody = z.strictObject({ orders: z.array(orderInput).min(1).max(1000) });
export const orderBody = z.union([orderBatchBody, orderSingleBody]);
export type OrderInput = z.output<typeof orderInput>;

export const orderView = z.object({
  id: objectId,
  externalId: z.string(),
  subscriberId: objectId,
  orderedAt: dateTime,
  total: z.string(),
  totalCents: z.number().int(),
  currency: z.string(),
  categories: z.array(z.string()),
  createdAt: dateTime,
  updatedAt: dateTime,
});
export const orderIngestResult = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  items: z.array(orderView),
});
export const orderQuery = z.strictObject({ subscriberId: objectId, ...cursorQuery });
export const orderPage = page(orderView);

// ---- opt-out events (src/unsubscribe/history.ts)

export const optOutQuery = z.strictObject({ ...cursorQuery });
export const optOutPage = page(
  z.object({
    id: objectId,
    at: dateTime,
    channel: z.enum(UNSUBSCRIBE_CHANNELS),
    allLists: z.boolean(),
    listIds: z.array(objectId),
    campaignId: objectId.nullable(),
    inboundMessageId: objectId.nullable(),
  }),
);
