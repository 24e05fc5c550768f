import { z } from 'zod';
import type { RouteDef } from '../http/routes.js';
import { dateTime, emptyBody, queryInt, singleLine } from '../http/schemas.js';
import { auditContext } from '../http/types.js';
import { parseInput } from '../http/validate.js';
import { WEBHOOK_EVENT_TYPES } from '../events/domain-events.js';
import type { WebhookService } from './service.js';

const eventTypes = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length);
const url = z.string().max(2000);
const createBody = z.strictObject({
  url,
  description: singleLine(300).optional(),
  eventTypes,
});
const patchBody = z
  .strictObject({
    url: url.optional(),
    description: singleLine(300).optional(),
    eventTypes: eventTypes.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');
const deliveriesQuery = z.strictObject({ limit: queryInt(1, 200).optional() });

const endpointView = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(z.string()),
  enabled: z.boolean(),
  consecutiveFailures: z.number().int(),
  retryAt: dateTime.nullable(),
  disabledAt: dateTime.nullable(),
  disabledReason: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: dateTime,
  updatedAt: dateTime,
});
const deliveryView = z.object({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered']),
  attempts: z.number().int(),
  lastAttemptAt: dateTime.nullable(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: dateTime.nullable(),
});

export function webhookRoutes(s: { webhooks: WebhookService }): RouteDef[] {
  const { webhooks } = s;
  const id = (params: Record<string, unknown>) => String(params.id);
  return [
    {
      method: 'get',
      path: '/webhooks/event-types',
      permission: 'webhooks.manage',
      summary: 'The event types an endpoint may subscribe to',
      response: z.object({ items: z.array(z.enum(WEBHOOK_EVENT_TYPES)) }),
      handler: (_req, res) => {
        res.json({ items: WEBHOOK_EVENT_TYPES });
      },
    },
    {
      method: 'post',
      path: '/webhooks/endpoints',
      permission: 'webhooks.manage',
      summary: 'Add an endpoint; the answer holds its signing secret, shown this once',
      body: createBody,
      response: endpointView.extend({ secret: z.string() }),
      successStatus: 201,
      handler: async (req, res) => {
        res
          .status(201)
          .json(await webhooks.create(auditContext(req), parseInput(createBody, req.body)));
      },
    },
    {
      method: 'get',
      path: '/webhooks/endpoints',
      permission: 'webhooks.manage',
      summary: 'All endpoints, with their failure state',
      response: z.object({ items: z.array(endpointView) }),
      handler: async (_req, res) => {
        res.json({ items: await webhooks.list() });
      },
    },
    {
      method: 'get',
      path: '/webhooks/endpoints/:id',
      permission: 'webhooks.manage',
      summary: 'One endpoint (never its secret)',
      response: endpointView,
      handler: async (req, res) => {
        res.json(await webhooks.get(id(req.params)));
      },
    },
    {
      method: 'patch',
      path: '/webhooks/endpoints/:id',
      permission: 'webhooks.manage',
      summary: 'Change an endpoint; enabled: true re-enables a disabled one',
      body: patchBody,
      response: endpointView,
      handler: async (req, res) => {
        res.json(
          await webhooks.update(auditContext(req), id(req.params), parseInput(patchBody, req.body)),
        );
      },
    },
    {
      method: 'delete',
      path: '/webhooks/endpoints/:id',
      permission: 'webhooks.manage',
      summary: 'Remove an endpoint and its delivery log',
      successStatus: 204,
      handler: async (req, res) => {
        await webhooks.remove(auditContext(req), id(req.params));
        res.status(204).end();
      },
    },
    {
      method: 'post',
      path: '/webhooks/endpoints/:id/rotate-secret',
      permission: 'webhooks.manage',
      summary: 'A new signing secret, shown this once; the old one stops at once',
      body: emptyBody,
      response: z.object({ secret: z.string() }),
      handler: async (req, res) => {
        parseInput(emptyBody, req.body ?? {});
        res.json(await webhooks.rotateSecret(auditContext(req), id(req.params)));
      },
    },
    {
      method: 'get',
      path: '/webhooks/endpoints/:id/deliveries',
      permission: 'webhooks.manage',
      summary: 'The most recent deliveries to an endpoint, newest first',
      query: deliveriesQuery,
      response: z.object({ items: z.array(deliveryView) }),
      handler: async (req, res) => {
        const q = parseInput(deliveriesQuery, req.query, 'query');
        res.json({ items: await webhooks.deliveries(id(req.params), q.limit ?? 50) });
      },
    },
  ];
}
