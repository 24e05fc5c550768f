import type { Request } from 'express';
import { z } from 'zod';
import {
  INBOUND_CLASSIFICATIONS,
  INBOUND_STATUSES,
  INBOUND_VIAS,
} from '../db/models/inbound-message.js';
import type { RouteDef } from '../http/routes.js';
import { cursorQuery, dateTime, page, queryInt } from '../http/schemas.js';
import { auditContext } from '../http/types.js';
import { parseInput } from '../http/validate.js';
import { AppError } from '../shared/errors.js';
import type { InboundInbox } from './inbox.js';
import type { InboundPipeline } from './pipeline.js';

const listQuery = z.strictObject({
  status: z.enum(INBOUND_STATUSES).optional(),
  classification: z.enum(INBOUND_CLASSIFICATIONS).optional(),
  limit: queryInt(1, 200).default(50),
  cursor: cursorQuery.cursor,
  // Earlier versions' paging (received before this time); a cursor does not mix with it.
  before: z.iso.datetime().optional(),
});
const idParams = z.object({ id: z.string().regex(/^[0-9a-f]{24}$/, 'must be an id') });
const actionBody = z.strictObject({
  action: z.enum(['unsubscribe', 'unsubscribe_all', 'ignore']),
  subscriberId: z
    .string()
    .regex(/^[0-9a-f]{24}$/, 'must be an id')
    .optional(),
});

const resultView = z.object({
  id: z.string(),
  duplicate: z.boolean(),
  status: z.enum(INBOUND_STATUSES),
  classification: z.enum(INBOUND_CLASSIFICATIONS).optional(),
  outcome: z.string().optional(),
});
/** The inbox's summary of a message; fields the pipeline never set are absent. */
const messageView = z.object({
  id: z.string(),
  receivedAt: dateTime,
  via: z.enum(INBOUND_VIAS),
  from: z.string(),
  subject: z.string(),
  status: z.enum(INBOUND_STATUSES),
  classification: z.enum(INBOUND_CLASSIFICATIONS).optional(),
  outcome: z.string().optional(),
  detail: z.string().optional(),
  subscriberId: z.string().nullable(),
  campaignId: z.string().nullable(),
  auth: z
    .object({
      spf: z.string().optional(),
      dkim: z.string().optional(),
      dmarc: z.string().optional(),
    })
    .optional(),
  bounce: z.object({ kind: z.string().optional(), status: z.string().optional() }).optional(),
  actedBy: z.string().optional(),
  actedAt: dateTime.optional(),
});

/** Reads the raw request body, refusing more than `limit` bytes without buffering them. */
async function readBody(req: Request, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.unpipe();
      req.resume();
      throw new AppError('payload_too_large', `the message is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function inboundRoutes(s: { inbound: InboundPipeline; inbox: InboundInbox }): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/inbound',
      permission: 'inbound.write',
      rawBody: true,
      summary:
        'Hand one raw MIME message (message/rfc822 or text/plain) to the inbound pipeline; ' +
        '200 when it was already received',
      response: resultView,
      successStatus: 201,
      handler: async (req, res) => {
        if (!req.is(['message/rfc822', 'text/plain']))
          throw new AppError(
            'unsupported_media_type',
            'send the message as message/rfc822 or text/plain',
          );
        const declared = Number(req.headers['content-length'] ?? 0);
        if (declared > s.inbound.maxBytes)
          throw new AppError(
            'payload_too_large',
            `the message is larger than ${s.inbound.maxBytes} bytes`,
          );
        const raw = await readBody(req, s.inbound.maxBytes);
        if (raw.length === 0) throw new AppError('bad_request', 'the message is empty');
        const result = await s.inbound.process(raw, { via: 'http' });
        res.status(result.duplicate ? 200 : 201).json(result);
      },
    },
    {
      method: 'get',
      path: '/inbound',
      permission: 'inbound.read',
      summary:
        'Inbound messages, newest first, paged by ?cursor=; ?status=needs_review is the staff ' +
        'inbox, &classification=ambiguous its replies that may or may not ask to unsubscribe ' +
        '(detail says why)',
      query: listQuery,
      response: page(messageView),
      handler: async (req, res) => {
        const q = parseInput(listQuery, req.query);
        if (q.cursor && q.before)
          throw new AppError('validation_failed', 'before: give a cursor or before, not both');
        res.json(
          await s.inbox.list({
            status: q.status,
            classification: q.classification,
            limit: q.limit,
            cursor: q.cursor,
            before: q.before ? new Date(q.before) : undefined,
          }),
        );
      },
    },
    {
      method: 'get',
      path: '/inbound/:id',
      permission: 'inbound.read',
      summary: "One inbound message with the sender's own text (audited)",
      response: messageView.extend({ text: z.string() }),
      handler: async (req, res) => {
        const { id } = parseInput(idParams, req.params);
        res.json(await s.inbox.get(auditContext(req), id));
      },
    },
    {
      method: 'post',
      path: '/inbound/:id/action',
      permission: 'inbound.write',
      summary:
        'Settle a message waiting for review: unsubscribe (its campaign lists), unsubscribe_all, ignore',
      body: actionBody,
      response: messageView,
      handler: async (req, res) => {
        const { id } = parseInput(idParams, req.params);
        const body = parseInput(actionBody, req.body);
        const ctx = { ...auditContext(req), actor: req.actor! };
        res.json(await s.inbox.act(ctx, id, body.action, body.subscriberId));
      },
    },
  ];
}
