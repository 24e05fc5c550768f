import { z } from 'zod';
import type { RouteDef } from '../http/routes.js';
import { dateTime, emptyBody } from '../http/schemas.js';
import { auditContext } from '../http/types.js';
import { parseInput } from '../http/validate.js';
import { assertShallow } from '../segments/rules.js';
import { AUTOMATION_STATUSES } from '../db/models/automation.js';
import {
  automationCreateBody,
  automationPatchBody,
  exitSchema,
  stepSchema,
  triggerSchema,
} from './definition.js';
import type { AutomationService } from './service.js';

const automationView = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(AUTOMATION_STATUSES),
  trigger: triggerSchema,
  steps: z.array(stepSchema),
  exit: exitSchema,
  reentry: z.boolean(),
  fromEmail: z.string().nullable(),
  activatedAt: dateTime.nullable(),
  createdAt: dateTime,
  updatedAt: dateTime,
});
const statsView = z.object({
  enrolments: z.object({
    active: z.number().int(),
    completed: z.number().int(),
    exited: z.number().int(),
  }),
  exits: z.record(z.string(), z.number().int()),
  steps: z.array(
    z.object({
      step: z.number().int(),
      type: z.enum(['wait', 'send', 'branch']),
      counts: z.record(z.string(), z.number().int()),
    }),
  ),
});

/** Steps hold segment rules two levels down (steps[i].rule), exits one (exit.rule). */
const RULE_NESTING = 3;
const body = <S extends z.ZodType>(schema: S, input: unknown): z.output<S> =>
  parseInput(schema, assertShallow(input, RULE_NESTING));

export function automationRoutes(s: { automations: AutomationService }): RouteDef[] {
  const { automations } = s;
  const id = (params: Record<string, unknown>) => String(params.id);
  return [
    {
      method: 'post',
      path: '/automations',
      permission: 'automations.write',
      summary: 'Create an automation (as a draft): trigger, steps and exit rules',
      body: automationCreateBody,
      response: automationView,
      successStatus: 201,
      handler: async (req, res) => {
        res
          .status(201)
          .json(await automations.create(auditContext(req), body(automationCreateBody, req.body)));
      },
    },
    {
      method: 'get',
      path: '/automations',
      permission: 'automations.read',
      summary: 'All automations',
      response: z.object({ items: z.array(automationView) }),
      handler: async (_req, res) => {
        res.json({ items: await automations.list() });
      },
    },
    {
      method: 'get',
      path: '/automations/:id',
      permission: 'automations.read',
      summary: 'One automation',
      response: automationView,
      handler: async (req, res) => {
        res.json(await automations.get(id(req.params)));
      },
    },
    {
      method: 'patch',
      path: '/automations/:id',
      permission: 'automations.write',
      summary: 'Change an automation (trigger and steps only while it is not active)',
      body: automationPatchBody,
      response: automationView,
      handler: async (req, res) => {
        res.json(
          await automations.update(
            auditContext(req),
            id(req.params),
            body(automationPatchBody, req.body),
          ),
        );
      },
    },
    {
      method: 'delete',
      path: '/automations/:id',
      permission: 'automations.write',
      summary: 'Delete an automation that is not active, with its enrolments and step records',
      successStatus: 204,
      handler: async (req, res) => {
        await automations.remove(auditContext(req), id(req.params));
        res.status(204).end();
      },
    },
    {
      method: 'post',
      path: '/automations/:id/activate',
      permission: 'automations.write',
      summary: 'Start taking people in (what happens from now on triggers it)',
      body: emptyBody,
      response: automationView,
      handler: async (req, res) => {
        parseInput(emptyBody, req.body ?? {});
        res.json(await automations.activate(auditContext(req), id(req.params)));
      },
    },
    {
      method: 'post',
      path: '/automations/:id/pause',
      permission: 'automations.write',
      summary: 'Take no one new in and hold everyone at their step',
      body: emptyBody,
      response: automationView,
      handler: async (req, res) => {
        parseInput(emptyBody, req.body ?? {});
        res.json(await automations.pause(auditContext(req), id(req.params)));
      },
    },
    {
      method: 'get',
      path: '/automations/:id/stats',
      permission: 'automations.read',
      summary: 'People in, done and gone (with why), and each step’s outcomes',
      response: statsView,
      handler: async (req, res) => {
        res.json(await automations.stats(id(req.params)));
      },
    },
  ];
}
