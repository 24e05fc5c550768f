import { z } from 'zod';
import {
  PRIVACY_REQUEST_CHANNELS,
  PRIVACY_REQUEST_STATUSES,
  PRIVACY_REQUEST_TYPES,
} from '../db/models/privacy.js';
import { renderPage } from '../http/pages.js';
import type { RouteDef } from '../http/routes.js';
import { cursorQuery, dateTime, page, queryInt } from '../http/schemas.js';
import { auditContext } from '../http/types.js';
import { parseInput } from '../http/validate.js';
import type { Services } from '../services.js';
import { notFound } from '../shared/errors.js';
import type { SubjectExport } from './subject-data.js';

const objectId = z.string().regex(/^[0-9a-f]{24}$/, 'must be an id');
const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const auditQuery = z.strictObject({
  subject: z.string().max(100).optional(),
  actor: z.string().max(100).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  cursor: z.string().max(200).optional(),
  limit: queryInt(1, 500).default(100),
});

const requestBody = z.strictObject({
  type: z.enum(PRIVACY_REQUEST_TYPES),
  email: z.string().max(320),
  channel: z.enum(PRIVACY_REQUEST_CHANNELS),
  receivedAt: isoDate.optional(),
  notes: z.string().max(10_000).optional(),
});
const requestListQuery = z.strictObject({
  ...cursorQuery,
  overdue: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});
const requestPatch = z
  .strictObject({
    status: z.enum(PRIVACY_REQUEST_STATUSES).optional(),
    notes: z.string().max(10_000).optional(),
  })
  .refine((p) => p.status !== undefined || p.notes !== undefined, 'give status or notes');

const exportQuery = z.strictObject({
  email: z.string().max(320),
  format: z.enum(['json', 'html']).default('json'),
});
const exportBody = z.strictObject({
  requestId: objectId,
  format: z.enum(['json', 'html']).default('json'),
});
const eraseBody = z.strictObject({ email: z.string().max(320), requestId: objectId.optional() });
const retentionRunBody = z.strictObject({ dryRun: z.boolean().default(false) });

// The answers, as JSON (dates as ISO 8601 strings).
const auditPage = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      at: dateTime,
      actorType: z.string(),
      actorId: z.string().nullable(),
      action: z.string(),
      subjectId: z.string().nullable(),
      requestId: z.string().nullable(),
      // Free-form per action (counts, ids, reasons): genuinely open-ended.
      details: z.record(z.string(), z.unknown()).nullable(),
    }),
  ),
  nextCursor: z.string().nullable(),
});
const hetuView = z.object({ hetu: z.string().nullable() });
const requestView = z.object({
  id: z.string(),
  type: z.enum(PRIVACY_REQUEST_TYPES),
  email: z.string().nullable(),
  emailMasked: z.string(),
  channel: z.enum(PRIVACY_REQUEST_CHANNELS),
  receivedAt: dateTime,
  dueDate: z.string(),
  status: z.enum(PRIVACY_REQUEST_STATUSES),
  overdue: z.boolean(),
  notes: z.string(),
  handledBy: z.string().nullable(),
  closedAt: dateTime.nullable(),
  inboundMessageId: z.string().nullable(),
});
const subjectExportView = z
  .object({
    generatedAt: dateTime,
    subject: z.object({ email: z.string(), subscriberIds: z.array(z.string()) }),
    hetuRevealed: z.boolean(),
    sections: z.array(
      z.object({
        key: z.string(),
        title: z.string(),
        // Stored documents as plain JSON; each collection has its own fields.
        records: z.array(z.record(z.string(), z.unknown())),
      }),
    ),
  })
  .or(z.string().describe('format=html: the same data as one readable text/html page'));
const erasureView = z.object({
  jobId: z.string(),
  status: z.literal('done'),
  stepsDone: z.array(z.string()),
  counts: z.record(z.string(), z.number().int()),
  resumed: z.boolean(),
});
const retentionReportView = z.object({
  id: z.string(),
  startedAt: dateTime,
  finishedAt: dateTime.nullable(),
  dryRun: z.boolean(),
  trigger: z.string(),
  rules: z.array(
    z.object({
      rule: z.string(),
      description: z.string(),
      cutoff: dateTime,
      matched: z.number().int(),
      removed: z.number().int(),
    }),
  ),
  error: z.string().nullable(),
});
const retentionReports = z.object({
  schedule: z.object({
    interval: z.string().nullable(),
    nextDueAt: dateTime.nullable(),
    lastRunAt: dateTime.nullable(),
    running: z.boolean(),
  }),
  items: z.array(retentionReportView),
});

/** Data protection: audit trail, requests register, access export, erasure, retention. */
export function privacyRoutes(s: Services): RouteDef[] {
  const sendExport = async (
    req: Parameters<RouteDef['handler']>[0],
    res: Parameters<RouteDef['handler']>[1],
    email: string,
    format: 'json' | 'html',
  ) => {
    const data = await s.subjectData.export(auditContext(req), email, format);
    res.setHeader('Cache-Control', 'no-store');
    if (format === 'json') return res.json(data);
    res.type('html').send(renderExport(data));
  };

  return [
    {
      method: 'get',
      path: '/audit',
      permission: 'audit.read',
      summary: 'The audit trail, newest first; append-only (no route changes or deletes it)',
      query: auditQuery,
      response: auditPage,
      handler: async (req, res) =>
        res.json(await s.auditReader.query(parseInput(auditQuery, req.query))),
    },
    {
      method: 'get',
      path: '/subscribers/:id/hetu',
      // Anyone who may see subscribers may ask; the service refuses, and audits the refusal,
      // unless the role has pii.hetu.read.
      permission: 'subscribers.read',
      summary: 'Reveals the identity number (pii.hetu.read); every attempt is audited',
      response: hetuView,
      handler: async (req, res) => {
        const id = parseInput(z.strictObject({ id: objectId }), req.params).id;
        res.setHeader('Cache-Control', 'no-store');
        res.json(await s.subjectData.revealHetu(auditContext(req), id));
      },
    },
    {
      method: 'post',
      path: '/privacy/requests',
      permission: 'privacy.write',
      summary: 'Registers a data-subject request; due one calendar month after receipt',
      body: requestBody,
      response: requestView,
      successStatus: 201,
      handler: async (req, res) => {
        const b = parseInput(requestBody, req.body);
        res.status(201).json(await s.privacyRequests.open(b, auditContext(req)));
      },
    },
    {
      method: 'get',
      path: '/privacy/requests',
      permission: 'privacy.read',
      summary:
        'Open requests in the order registered, overdue ones flagged (overdue=true: only those), paged by cursor',
      query: requestListQuery,
      response: page(requestView),
      handler: async (req, res) =>
        res.json(await s.privacyRequests.listOpen(parseInput(requestListQuery, req.query))),
    },
    {
      method: 'get',
      path: '/privacy/requests/counts',
      permission: 'privacy.read',
      summary: 'How many requests are open and how many of them are overdue',
      response: z.object({ open: z.number().int(), overdue: z.number().int() }),
      handler: async (_req, res) => res.json(await s.privacyRequests.counts()),
    },
    {
      method: 'get',
      path: '/privacy/requests/:id',
      permission: 'privacy.read',
      summary: 'One data-subject request',
      response: requestView,
      handler: async (req, res) =>
        res.json(
          await s.privacyRequests.get(parseInput(z.strictObject({ id: objectId }), req.params).id),
        ),
    },
    {
      method: 'patch',
      path: '/privacy/requests/:id',
      permission: 'privacy.write',
      summary: 'Changes the status or notes of a request; closing stamps closedAt',
      body: requestPatch,
      response: requestView,
      handler: async (req, res) => {
        const { id } = parseInput(z.strictObject({ id: objectId }), req.params);
        res.json(
          await s.privacyRequests.update(auditContext(req), id, parseInput(requestPatch, req.body)),
        );
      },
    },
    {
      method: 'get',
      path: '/privacy/subjects/export',
      permission: 'privacy.read',
      summary: 'Everything held about one person (JSON or readable HTML); audited',
      query: exportQuery,
      response: subjectExportView,
      handler: async (req, res) => {
        const q = parseInput(exportQuery, req.query);
        await sendExport(req, res, q.email, q.format);
      },
    },
    {
      method: 'post',
      path: '/privacy/subjects/export',
      permission: 'privacy.read',
      summary: 'The access export for a registered request',
      body: exportBody,
      response: subjectExportView,
      handler: async (req, res) => {
        const b = parseInput(exportBody, req.body);
        const request = await s.privacyRequests.get(b.requestId);
        if (!request.email) throw notFound('the address of this request (erased)');
        await sendExport(req, res, request.email, b.format);
      },
    },
    {
      method: 'post',
      path: '/privacy/subjects/erase',
      permission: 'privacy.write',
      summary: 'Erases a person everywhere, keeping only the keyed-hash suppression; resumable',
      body: eraseBody,
      response: erasureView,
      handler: async (req, res) => {
        const b = parseInput(eraseBody, req.body);
        const ctx = auditContext(req);
        if (b.requestId) await s.privacyRequests.get(b.requestId);
        const result = await s.erasure.erase(ctx, b.email, { requestId: b.requestId });
        if (b.requestId) await s.privacyRequests.update(ctx, b.requestId, { status: 'done' });
        res.json(result);
      },
    },
    {
      method: 'get',
      path: '/privacy/retention/reports',
      permission: 'privacy.read',
      summary: 'Retention runs, newest first: counts per rule, no personal data',
      response: retentionReports,
      handler: async (_req, res) =>
        res.json({ schedule: await s.retention.schedule(), items: await s.retention.reports() }),
    },
    {
      method: 'post',
      path: '/privacy/retention/run',
      permission: 'privacy.write',
      summary: 'Runs the retention rules now (dryRun: count only); audited',
      body: retentionRunBody,
      response: retentionReportView,
      handler: async (req, res) => {
        const b = parseInput(retentionRunBody, req.body ?? {});
        const report = await s.retention.run({ dryRun: b.dryRun, trigger: 'api' });
        await s.audit.record(auditContext(req), 'retention.run', null, {
          reportId: report.id,
          dryRun: b.dryRun,
        });
        res.json(report);
      },
    },
  ];
}

const show = (v: unknown): string =>
  v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** The export as one readable page: a table per record, every field a row. */
function renderExport(data: SubjectExport): string {
  return renderPage('privacy-export', 'fi', {
    title: 'Rekisteröidyn tiedot / Data held about you',
    generatedAt: data.generatedAt.toISOString(),
    email: data.subject.email,
    sections: data.sections.map((sec) => ({
      title: sec.title,
      count: sec.records.length,
      records: sec.records.map((r) =>
        Object.entries(r).map(([field, value]) => ({ field, value: show(value) })),
      ),
    })),
  });
}
