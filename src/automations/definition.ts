import { parse as parseDuration, end as durationEnd } from 'iso8601-duration';
import { z } from 'zod';
import { objectId, singleLine } from '../http/schemas.js';
import { ATTRIBUTE_KEY, ruleSchema } from '../segments/rules.js';

/**
 * The automation language: a trigger, steps taken in order, and exit rules. Branch steps jump
 * forward only, so every way through ends; a wait is an ISO 8601 duration.
 *
 *   trigger  {"type": "list_joined", "list": "<id>"}          after double opt-in where the list has it
 *            {"type": "first_order"}
 *            {"type": "order_in_category", "category": "shoes"}
 *            {"type": "order_date_passed", "order": "last", "days": 180}   e.g. no order for 180 days
 *            {"type": "date_attribute", "attribute": "birthday"}          on the day, every year
 *   steps    {"type": "wait", "duration": "P3D"}
 *            {"type": "send", "templateId": "<id>", "subject": "optional, else the template's"}
 *            {"type": "branch", "rule": <segment rule>, "then": 3, "else": "end"}   step indexes
 *   exit     {"rule": <segment rule>}  leaves when it matches (e.g. ordered); unsubscribed,
 *            suppressed and erased people always leave.
 */
export const MAX_STEPS = 30;
const MAX_WAIT_DAYS = 800;

const MIN_WAIT_MS = 1000;
const isoDuration = z
  .string()
  .max(40)
  .refine((text) => {
    const ms = waitMs(text);
    return ms !== null && ms >= MIN_WAIT_MS && ms <= MAX_WAIT_DAYS * 86_400_000;
  }, `an ISO 8601 duration such as PT30M, P3D or P1M, from 1 second to ${MAX_WAIT_DAYS} days`);

/** The length of a duration from a fixed start, or null when it is not one. */
function waitMs(text: string): number | null {
  if (!/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/.test(text))
    return null;
  const start = new Date('2026-01-01T00:00:00Z');
  return durationEnd(parseDuration(text), start).getTime() - start.getTime();
}

/** When a wait of `duration` started at `from` ends (months and years by the calendar, UTC). */
export function waitEnd(duration: string, from: Date): Date {
  return durationEnd(parseDuration(duration), from);
}

export const triggerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('list_joined'), list: objectId }),
  z.strictObject({ type: z.literal('first_order') }),
  z.strictObject({ type: z.literal('order_in_category'), category: singleLine(200).min(1) }),
  z.strictObject({
    type: z.literal('order_date_passed'),
    order: z.enum(['first', 'last']),
    days: z.number().int().min(1).max(3650),
  }),
  z.strictObject({
    type: z.literal('date_attribute'),
    attribute: z.string().regex(ATTRIBUTE_KEY, 'letters, digits, _ and - only'),
  }),
]);

const target = z.union([
  z
    .number()
    .int()
    .min(0)
    .max(MAX_STEPS - 1),
  z.literal('end'),
]);
export const stepSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('wait'), duration: isoDuration }),
  z.strictObject({
    type: z.literal('send'),
    templateId: objectId,
    subject: singleLine(300).min(1).optional(),
  }),
  z.strictObject({ type: z.literal('branch'), rule: ruleSchema, then: target, else: target }),
]);

export const exitSchema = z.strictObject({ rule: ruleSchema.optional() });

const stepsSchema = z
  .array(stepSchema)
  .min(1)
  .max(MAX_STEPS)
  .superRefine((steps, ctx) => {
    steps.forEach((step, i) => {
      if (step.type !== 'branch') return;
      for (const which of ['then', 'else'] as const) {
        const to = step[which];
        if (to !== 'end' && (to <= i || to >= steps.length))
          ctx.addIssue({
            code: 'custom',
            path: [i, which],
            message: `must be "end" or the index of a later step (${i + 1}…${steps.length - 1})`,
          });
      }
    });
  });

const name = singleLine(200).min(1);
export const automationCreateBody = z.strictObject({
  name,
  trigger: triggerSchema,
  steps: stepsSchema,
  exit: exitSchema.default({}),
  /** True: a person may go through again (each order, each year's date); false: once ever. */
  reentry: z.boolean().default(false),
  fromEmail: singleLine(300).min(3).optional(),
});
export const automationPatchBody = z.strictObject({
  name: name.optional(),
  trigger: triggerSchema.optional(),
  steps: stepsSchema.optional(),
  exit: exitSchema.optional(),
  reentry: z.boolean().optional(),
  fromEmail: singleLine(300).min(3).nullable().optional(),
});

export type Trigger = z.output<typeof triggerSchema>;
export type Step = z.output<typeof stepSchema>;
export type Exit = z.output<typeof exitSchema>;
export type AutomationCreate = z.output<typeof automationCreateBody>;
export type AutomationPatch = z.output<typeof automationPatchBody>;
