import { z } from 'zod';
import { auditContext } from '../http/types.js';
import type { RouteDef } from '../http/routes.js';
import { cursorQuery, dateTime, emptyBody, page, singleLine } from '../http/schemas.js';
import { parseInput } from '../http/validate.js';
import { CAMPAIGN_STATUSES } from '../db/models/campaign.js';
import { UNSUBSCRIBE_CHANNELS } from '../db/models/unsubscribe-event.js';
import type { Services } from '../services.js';

// A CR or LF in a header value would let input add headers of its own (header injection).
const headerSafe = (max: number) => singleLine(max).min(1);
const objectId = z.string().regex(/^[0-9a-f]{24}$/i, 'must be an id');

const campaignFields = {
  name: headerSafe(200),
  subject: headerSafe(300),
  mjml: z.string().min(1).max(500_000),
  templateId: objectId,
  lists: z.array(z.string().min(1).max(100)).max(50),
  segmentId: z.string().min(1).max(100),
  fromEmail: headerSafe(320).pipe(z.email()),
  sendAt: z.iso
    .datetime({
      offset: true,
      message: 'must be an ISO 8601 date and time, e.g. 2026-05-04T09:00:00Z',
    })
    .transform((s) => new Date(s))
    .nullable(),
  trackClicks: z.boolean(),
  trackOpens: z.boolean(),
};

const createBody = z.strictObject({
  ...campaignFields,
  mjml: campaignFields.mjml.optional(),
  templateId: campaignFields.templateId.optional(),
  lists: campaignFields.lists.optional(),
  segmentId: campaignFields.segmentId.optional(),
  fromEmail: campaignFields.fromEmail.optional(),
  sendAt: campaignFields.sendAt.optional(),
  trackClicks: campaignFields.trackClicks.optional(),
  trackOpens: campaignFields.trackOpens.optional(),
});
const patchBody = z.strictObject(campaignFields).partial();
const listQuery = z.strictObject({ ...cursorQuery });
const testBody = z.strictObject({ emails: z.array(z.email()).min(1).max(10) });
const previewBody = z.strictObject({
  subscriberId: objectId.optional(),
  // Content being edited and not yet saved, shown in place of the stored one (the live preview).
  subject: campaignFields.subject.optional(),
  mjml: campaignFields.mjml.optional(),
});

const statsSchema = z.object({
  recipients: z.number(),
  sent: z.number(),
  failed: z.number(),
  skipped: z.number(),
  unknown: z.number(),
  unsubscribed: z.number(),
  bounced: z.number(),
});
/** CampaignView as JSON: dates leave as ISO 8601 strings. */
const campaignView = z.object({
  id: z.string(),
  name: z.string(),
  subject: z.string(),
  status: z.enum(CAMPAIGN_STATUSES),
  lists: z.array(z.string()),
  segmentId: z.string().nullable(),
  fromEmail: z.string(),
  sendAt: dateTime.nullable(),
  startedAt: dateTime.nullable(),
  finishedAt: dateTime.nullable(),
  createdAt: dateTime,
  updatedAt: dateTime,
  stats: statsSchema,
  progress: z.number(),
  tracking: z.object({ clicks: z.boolean(), opens: z.boolean() }),
  pausedByGuard: z.object({ code: z.string(), message: z.string(), at: dateTime }).nullable(),
});
const counts = {
  delivered: z.number().int(),
  hardBounced: z.number().int(),
  softBounced: z.number().int(),
  complaints: z.number().int(),
  unsubscribed: z.number().int(),
  clicks: z.number().int(),
  botClicks: z.number().int(),
  opens: z.number().int(),
  botOpens: z.number().int(),
};
/** CampaignAnalytics (src/campaigns/stats/report.ts) as JSON. */
const analyticsView = z.object({
  campaignId: z.string(),
  tracking: z.object({ clicks: z.boolean(), opens: z.boolean() }),
  totals: z.object(counts),
  unsubscribedByChannel: z.record(z.enum(UNSUBSCRIBE_CHANNELS), z.number().int()),
  links: z.array(
    z.object({
      index: z.number().int(),
      url: z.string(),
      clicks: z.number().int(),
      botClicks: z.number().int(),
    }),
  ),
  series: z.array(
    z.object({ start: dateTime, hours: z.union([z.literal(1), z.literal(24)]), ...counts }),
  ),
  guard: z.object({
    limits: z.object({
      hardBounceShare: z.number(),
      complaintShare: z.number(),
      minDelivered: z.number().int(),
    }),
    measured: z.object({
      delivered: z.number().int(),
      hardBounceShare: z.number(),
      complaintShare: z.number(),
    }),
    pausedBy: z.object({ code: z.string(), message: z.string(), at: dateTime }).nullable(),
  }),
  notes: z.object({ opens: z.string(), clicks: z.string() }),
});
const retryResponse = z.object({ requeued: z.number().int(), campaign: campaignView });
const testResponse = z.object({ sent: z.array(z.string()) });
const renderedMail = z.object({ subject: z.string(), html: z.string(), text: z.string() });

const id = (req: { params: unknown }) => parseInput(z.object({ id: objectId }), req.params).id;

/** /api/v1/campaigns: content and audience (write), lifecycle and mail (send), stats (read). */
export function campaignRoutes(s: Services): RouteDef[] {
  const c = s.campaigns;
  const lifecycle = (
    path: string,
    summary: string,
    fn: (id: string) => Promise<unknown>,
  ): RouteDef => ({
    method: 'post',
    path: `/campaigns/:id/${path}`,
    permission: 'campaigns.send',
    summary,
    body: emptyBody,
    response: campaignView,
    successStatus: 202,
    handler: async (req, res) => {
      const campaignId = id(req);
      parseInput(emptyBody, req.body ?? {});
      res.status(202).json(await fn(campaignId));
    },
  });
  return [
    {
      method: 'post',
      path: '/campaigns',
      permission: 'campaigns.write',
      summary: 'Create a draft campaign',
      body: createBody,
      response: campaignView,
      successStatus: 201,
      handler: async (req, res) =>
        res.status(201).json(await c.create(parseInput(createBody, req.body), auditContext(req))),
    },
    {
      method: 'get',
      path: '/campaigns',
      permission: 'campaigns.read',
      summary: 'Campaigns with their stats, newest first, paged by cursor',
      query: listQuery,
      response: page(campaignView),
      handler: async (req, res) => res.json(await c.list(parseInput(listQuery, req.query))),
    },
    {
      method: 'get',
      path: '/campaigns/:id',
      permission: 'campaigns.read',
      summary: 'A campaign, its MJML, status, aggregate stats and progress',
      response: campaignView.extend({ mjml: z.string() }),
      handler: async (req, res) => res.json(await c.get(id(req))),
    },
    {
      method: 'get',
      path: '/campaigns/:id/stats',
      permission: 'campaigns.read',
      summary:
        'Counts and series (hourly for 48 h, then daily): deliveries, bounces, complaints, unsubscribes by channel, clicks per link, opens; per campaign, never per person',
      response: analyticsView,
      handler: async (req, res) => res.json(await s.campaignAnalytics.report(id(req))),
    },
    {
      method: 'patch',
      path: '/campaigns/:id',
      permission: 'campaigns.write',
      summary: 'Change content or audience (draft and scheduled only; else 409)',
      body: patchBody,
      response: campaignView,
      handler: async (req, res) =>
        res.json(await c.update(id(req), parseInput(patchBody, req.body))),
    },
    {
      method: 'delete',
      path: '/campaigns/:id',
      permission: 'campaigns.write',
      summary: 'Delete a campaign that is not sending',
      successStatus: 204,
      handler: async (req, res) => {
        await c.remove(id(req));
        res.status(204).end();
      },
    },
    lifecycle('send', 'Start sending now, or schedule it when sendAt is in the future', (i) =>
      c.send(i),
    ),
    lifecycle('pause', 'Pause a running campaign', (i) => c.pause(i)),
    lifecycle('resume', 'Resume a paused campaign', (i) => c.resume(i)),
    lifecycle('cancel', 'Cancel a campaign that has not finished', (i) => c.cancel(i)),
    {
      method: 'post',
      path: '/campaigns/:id/retry-unknown',
      permission: 'campaigns.send',
      summary: 'Resend mails whose delivery outcome is unknown after a crash',
      body: emptyBody,
      response: retryResponse,
      successStatus: 202,
      handler: async (req, res) => {
        const campaignId = id(req);
        parseInput(emptyBody, req.body ?? {});
        res.status(202).json(await c.retryUnknown(campaignId));
      },
    },
    {
      method: 'post',
      path: '/campaigns/:id/test',
      permission: 'campaigns.send',
      summary: 'Send the campaign to staff addresses with [TEST] in the subject',
      body: testBody,
      response: testResponse,
      handler: async (req, res) =>
        res.json(
          await c.sendTest(id(req), parseInput(testBody, req.body).emails, auditContext(req)),
        ),
    },
    {
      method: 'post',
      path: '/campaigns/:id/preview',
      permission: 'campaigns.read',
      summary:
        'Render the campaign (or unsaved subject and MJML in its place) for a chosen subscriber or a sample person; 400 lists MJML problems with their lines',
      body: previewBody,
      response: renderedMail,
      handler: async (req, res) => {
        const { subscriberId, ...unsaved } = parseInput(previewBody, req.body ?? {});
        res.json(await c.preview(id(req), subscriberId, auditContext(req), unsaved));
      },
    },
  ];
}
