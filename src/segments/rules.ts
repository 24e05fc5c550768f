import { z } from 'zod';
import { LOCALES, SUBSCRIBER_STATUSES } from '../db/models/subscriber.js';
import { MEMBERSHIP_STATUSES } from '../db/models/membership.js';
import { AppError } from '../shared/errors.js';

/**
 * The segment rule language. Every object is strict and every field and operator comes from an
 * allow-list, so nothing a user writes reaches MongoDB as an operator. The identity number
 * (hetuSealed), address and phone are not fields here on purpose.
 *
 *   {"all": [rule, ...]} | {"any": [rule, ...]}                    groups, nest up to MAX_DEPTH
 *   {"not": rule}                                                 everyone the rule does not select
 *   {"field": "status", "op": "in", "value": ["subscribed"]}      subscriber fields
 *   {"attribute": "tier", "op": "eq", "value": "gold"}            attributes.KEY
 *   {"list": "<id or slug>", "status": ["subscribed"], "member": true}
 *   {"orders": "category", "category": "shoes", "withinDays": 90}
 *   {"orders": "totalSpent", "op": "gt", "amount": 100, "currency": "EUR", "withinDays": 365}
 *   {"orders": "count", "op": "gte", "value": 3, "withinDays": 365}
 *   {"orders": "noneSince", "days": 180}                          also true for never-ordered
 */
export const MAX_DEPTH = 4;
export const MAX_CONDITIONS = 50;
const MAX_DAYS = 36_500;

const shortString = z.string().min(1).max(200);
const scalar = z.union([shortString, z.number().finite(), z.boolean()]);
const days = z.number().int().min(1).max(MAX_DAYS);
const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date());

const enumField = <T extends readonly [string, ...string[]]>(field: string, values: T) => {
  const v = z.enum(values);
  return [
    z.strictObject({ field: z.literal(field), op: z.enum(['eq', 'neq']), value: v }),
    z.strictObject({
      field: z.literal(field),
      op: z.enum(['in', 'nin']),
      value: z.array(v).min(1),
    }),
  ] as const;
};

export const TEXT_FIELDS = ['source', 'customerSegment', 'name', 'email'] as const;
export const DATE_FIELDS = ['createdAt', 'lastActivityAt'] as const;

const textField = z.enum(TEXT_FIELDS);
const textOps = (field: typeof textField) =>
  [
    z.strictObject({
      field,
      op: z.enum(['eq', 'neq', 'contains', 'startsWith']),
      value: shortString,
    }),
    z.strictObject({
      field,
      op: z.enum(['in', 'nin']),
      value: z.array(shortString).min(1).max(500),
    }),
    z.strictObject({ field, op: z.literal('exists'), value: z.boolean() }),
  ] as const;

const fieldCondition = z.union([
  ...enumField('status', SUBSCRIBER_STATUSES),
  ...enumField('locale', LOCALES),
  ...textOps(textField),
  z.strictObject({ field: z.enum(DATE_FIELDS), op: z.enum(['before', 'after']), value: isoDate }),
  z.strictObject({
    field: z.enum(DATE_FIELDS),
    op: z.enum(['withinDays', 'olderThanDays']),
    value: days,
  }),
]);

/** Same shape as subscriber attribute keys: no `$`, no `.`. */
export const ATTRIBUTE_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const attributeKey = z.string().regex(ATTRIBUTE_KEY, 'letters, digits, _ and - only');

const attributeCondition = z.union([
  z.strictObject({ attribute: attributeKey, op: z.enum(['eq', 'neq']), value: scalar }),
  z.strictObject({
    attribute: attributeKey,
    op: z.enum(['gt', 'lt']),
    value: z.union([z.number().finite(), shortString]),
  }),
  z.strictObject({
    attribute: attributeKey,
    op: z.literal('in'),
    value: z.array(scalar).min(1).max(500),
  }),
  z.strictObject({ attribute: attributeKey, op: z.literal('contains'), value: shortString }),
  z.strictObject({ attribute: attributeKey, op: z.literal('exists'), value: z.boolean() }),
]);

const listCondition = z.strictObject({
  list: shortString,
  status: z.array(z.enum(MEMBERSHIP_STATUSES)).min(1).default(['subscribed']),
  member: z.boolean().default(true),
});

const comparison = z.enum(['gt', 'gte', 'lt', 'lte', 'eq']);
const orderCondition = z.union([
  z.strictObject({
    orders: z.literal('category'),
    category: shortString,
    withinDays: days.optional(),
  }),
  z.strictObject({
    orders: z.literal('totalSpent'),
    op: comparison,
    // Major units with at most two decimals; compared in cents.
    amount: z.number().min(0).max(1e9).multipleOf(0.01),
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
    withinDays: days.optional(),
  }),
  z.strictObject({
    orders: z.literal('count'),
    op: comparison,
    value: z.number().int().min(0).max(1e6),
    withinDays: days.optional(),
  }),
  z.strictObject({ orders: z.literal('noneSince'), days }),
]);

export type FieldCondition = z.output<typeof fieldCondition>;
export type AttributeCondition = z.output<typeof attributeCondition>;
export type ListCondition = z.output<typeof listCondition>;
export type OrderCondition = z.output<typeof orderCondition>;
export type Condition = FieldCondition | AttributeCondition | ListCondition | OrderCondition;
export type Group = { all: Rule[] } | { any: Rule[] };
export type Negation = { not: Rule };
export type Rule = Group | Negation | Condition;

export const isGroup = (r: Rule): r is Group => 'all' in r || 'any' in r;
export const isNegation = (r: Rule): r is Negation => 'not' in r;

/**
 * How deep the raw JSON nests, walked before zod sees it so that a hostile, deeply nested body is
 * refused cheaply instead of recursing through the validator.
 */
function jsonDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, d);
    if (max > limit) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

function measure(rule: Rule, depth: number): { depth: number; conditions: number } {
  if (isNegation(rule)) return measure(rule.not, depth + 1);
  if (!isGroup(rule)) return { depth: depth - 1, conditions: 1 };
  const children = 'all' in rule ? rule.all : rule.any;
  let maxDepth = depth;
  let conditions = 0;
  for (const child of children) {
    const m = measure(child, depth + 1);
    maxDepth = Math.max(maxDepth, m.depth);
    conditions += m.conditions;
  }
  return { depth: maxDepth, conditions };
}

const tooDeep = () =>
  new AppError('validation_failed', `rules: groups nest at most ${MAX_DEPTH} deep`);

/**
 * Refuses input nesting deeper than any valid rule could (each group level is two JSON levels,
 * object and array; a condition two more), before a recursive validator walks it.
 * `extraLevels` allows for the rules sitting inside a request body.
 */
export function assertShallow<T>(input: T, extraLevels = 0): T {
  const limit = MAX_DEPTH * 2 + 2 + extraLevels;
  if (jsonDepth(input, limit + 1) > limit) throw tooDeep();
  return input;
}

/**
 * The limits are checked on every subtree; any subtree within them is, and the root's check is the
 * one that matters.
 */
export const ruleSchema: z.ZodType<Rule> = z
  .lazy(() =>
    z.union([
      z.strictObject({ all: z.array(ruleSchema).min(1).max(MAX_CONDITIONS) }),
      z.strictObject({ any: z.array(ruleSchema).min(1).max(MAX_CONDITIONS) }),
      z.strictObject({ not: ruleSchema }),
      fieldCondition,
      attributeCondition,
      listCondition,
      orderCondition,
    ]),
  )
  .superRefine((rule, ctx) => {
    const m = measure(rule, 1);
    if (m.depth > MAX_DEPTH)
      ctx.addIssue({ code: 'custom', message: `groups nest at most ${MAX_DEPTH} deep` });
    if (m.conditions > MAX_CONDITIONS)
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_CONDITIONS} conditions` });
  });

/** Validates untrusted rules; any problem is a 400 naming the place. */
export function parseRules(input: unknown): Rule {
  assertShallow(input);
  const res = ruleSchema.safeParse(input);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    const where = ['rules', ...issue.path].join('.');
    throw new AppError('validation_failed', `${where}: ${issue.message}`, {
      issues: res.error.issues.slice(0, 10).map((i) => ({
        field: ['rules', ...i.path].join('.'),
        message: i.message,
      })),
    });
  }
  return res.data;
}
