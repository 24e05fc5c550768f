import type { RouteDef } from '../http/routes.js';
import { auditContext } from '../http/types.js';
import { parseInput } from '../http/validate.js';
import type { OptOutHistory } from '../unsubscribe/history.js';
import type { ContactService } from './contacts.js';
import type { ListService } from './lists.js';
import type { OrderService } from './orders.js';
import {
  listCreateBody,
  listPage,
  listQuery,
  listUpdateBody,
  listView,
  orderBatchBody,
  orderBody,
  orderIngestResult,
  orderPage,
  orderQuery,
  orderSingleBody,
  optOutPage,
  optOutQuery,
  subscriberCreateBody,
  subscriberFull,
  subscriberPage,
  subscriberSearchQuery,
  subscriberUpdateBody,
} from './schemas.js';

interface Deps {
  lists: ListService;
  contacts: ContactService;
  orders: OrderService;
  optOutHistory: OptOutHistory;
}

const id = (params: Record<string, string | string[] | undefined>) => String(params.id);

/** Lists, contacts and order facts under /api/v1. Handlers only parse, call and answer. */
export function subscriberRoutes(s: Deps): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/lists',
      permission: 'lists.read',
      summary: 'Lists with member counts by membership status, oldest first, paged by cursor',
      query: listQuery,
      response: listPage,
      handler: async (req, res) => res.json(await s.lists.list(parseInput(listQuery, req.query))),
    },
    {
      method: 'post',
      path: '/lists',
      permission: 'lists.write',
      summary: 'Create a list',
      body: listCreateBody,
      response: listView,
      successStatus: 201,
      handler: async (req, res) =>
        res
          .status(201)
          .json(await s.lists.create(auditContext(req), parseInput(listCreateBody, req.body))),
    },
    {
      method: 'get',
      path: '/lists/:id',
      permission: 'lists.read',
      summary: 'One list (by id or slug) with member counts',
      response: listView,
      handler: async (req, res) => res.json(await s.lists.get(id(req.params))),
    },
    {
      method: 'patch',
      path: '/lists/:id',
      permission: 'lists.write',
      summary: 'Change a list',
      body: listUpdateBody,
      response: listView,
      handler: async (req, res) =>
        res.json(
          await s.lists.update(
            auditContext(req),
            id(req.params),
            parseInput(listUpdateBody, req.body),
          ),
        ),
    },
    {
      method: 'delete',
      path: '/lists/:id',
      permission: 'lists.write',
      summary: 'Delete a list and its memberships; 409 while a campaign uses it',
      successStatus: 204,
      handler: async (req, res) => {
        await s.lists.remove(auditContext(req), id(req.params));
        res.status(204).end();
      },
    },
    {
      method: 'get',
      path: '/subscribers',
      permission: 'subscribers.read',
      summary:
        'Search subscribers (email exact or prefix, name, status, list, attr.KEY), paged (audited)',
      query: subscriberSearchQuery,
      response: subscriberPage,
      handler: async (req, res) =>
        res.json(
          await s.contacts.searchAudited(
            auditContext(req),
            parseInput(subscriberSearchQuery, req.query),
          ),
        ),
    },
    {
      method: 'post',
      path: '/subscribers',
      permission: 'subscribers.write',
      summary: 'Create a subscriber; 409 with the existing id when the email is known',
      body: subscriberCreateBody,
      response: subscriberFull,
      successStatus: 201,
      handler: async (req, res) =>
        res
          .status(201)
          .json(
            await s.contacts.create(auditContext(req), parseInput(subscriberCreateBody, req.body)),
          ),
    },
    {
      method: 'get',
      path: '/subscribers/:id',
      permission: 'subscribers.read',
      summary: 'The full record of one subscriber (audited)',
      response: subscriberFull,
      handler: async (req, res) =>
        res.json(await s.contacts.get(auditContext(req), id(req.params))),
    },
    {
      method: 'patch',
      path: '/subscribers/:id',
      permission: 'subscribers.write',
      summary: "Change a subscriber's details (audited); null clears a field",
      body: subscriberUpdateBody,
      response: subscriberFull,
      handler: async (req, res) =>
        res.json(
          await s.contacts.update(
            auditContext(req),
            id(req.params),
            parseInput(subscriberUpdateBody, req.body),
          ),
        ),
    },
    {
      method: 'delete',
      path: '/subscribers/:id',
      permission: 'subscribers.write',
      summary: 'Unsubscribe from everything and suppress the address (the record stays)',
      successStatus: 204,
      handler: async (req, res) => {
        await s.contacts.remove(auditContext(req), id(req.params));
        res.status(204).end();
      },
    },
    {
      method: 'get',
      path: '/subscribers/:id/opt-outs',
      permission: 'subscribers.read',
      summary:
        "A subscriber's opt-outs, bounces and complaints as recorded, newest first, paged (audited)",
      query: optOutQuery,
      response: optOutPage,
      handler: async (req, res) =>
        res.json(
          await s.optOutHistory.forSubscriber(
            auditContext(req),
            id(req.params),
            parseInput(optOutQuery, req.query),
          ),
        ),
    },
    {
      method: 'post',
      path: '/orders',
      permission: 'orders.write',
      summary: 'Record order facts, one or a batch of up to 1000; idempotent on externalId',
      body: orderBody,
      response: orderIngestResult,
      handler: async (req, res) => {
        // Parsed by shape rather than as a union, so a bad field is named in the 400.
        const body: unknown = req.body;
        const orders =
          typeof body === 'object' && body !== null && 'orders' in body
            ? parseInput(orderBatchBody, body).orders
            : [parseInput(orderSingleBody, body)];
        res.json(await s.orders.ingest(auditContext(req), orders));
      },
    },
    {
      method: 'get',
      path: '/orders',
      permission: 'orders.read',
      summary: "A subscriber's order facts, paged",
      query: orderQuery,
      response: orderPage,
      handler: async (req, res) =>
        res.json(
          await s.orders.forSubscriber(auditContext(req), parseInput(orderQuery, req.query)),
        ),
    },
  ];
}
