import { z } from 'zod';
import type { RouteDef } from '../http/routes.js';
import { cursorQuery, dateTime, page, singleLine } from '../http/schemas.js';
import { parseInput } from '../http/validate.js';
import { assertShallow, ruleSchema } from './rules.js';
import type { SegmentService } from './service.js';

const name = singleLine(200).min(1);
const description = z.string().max(2000);
export const segmentCreateBody = z.strictObject({
  name,
  description: description.optional(),
  rules: ruleSchema,
});
export const segmentPatchBody = z.strictObject({
  name: name.optional(),
  description: description.optional(),
  rules: ruleSchema.optional(),
});
const segmentListQuery = z.strictObject({ ...cursorQuery });
export const segmentPreviewBody = z.strictObject({ rules: ruleSchema });

const segmentView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  rules: ruleSchema,
  createdAt: dateTime,
  updatedAt: dateTime,
});
const previewView = z.object({
  count: z.number().int(),
  sample: z.array(
    z.object({ id: z.string(), name: z.string(), email: z.string(), status: z.string() }),
  ),
});

/** The request body, refused early when it nests deeper than any valid rule could. */
const body = <S extends z.ZodType>(schema: S, input: unknown): z.output<S> =>
  parseInput(schema, assertShallow(input, 1));

export function segmentRoutes(s: { segments: SegmentService }): RouteDef[] {
  const { segments } = s;
  return [
    {
      method: 'post',
      path: '/segments/preview',
      permission: 'segments.read',
      summary: 'Count and a sample of 10 (masked emails) for rules, without saving',
      body: segmentPreviewBody,
      response: previewView,
      handler: async (req, res) => {
        const { rules } = body(segmentPreviewBody, req.body);
        res.json(await segments.preview(rules, 10));
      },
    },
    {
      method: 'post',
      path: '/segments',
      permission: 'segments.write',
      summary: 'Save a segment',
      body: segmentCreateBody,
      response: segmentView,
      successStatus: 201,
      handler: async (req, res) => {
        res.status(201).json(await segments.create(body(segmentCreateBody, req.body)));
      },
    },
    {
      method: 'get',
      path: '/segments',
      permission: 'segments.read',
      summary: 'Saved segments, oldest first, paged by cursor',
      query: segmentListQuery,
      response: page(segmentView),
      handler: async (req, res) => {
        res.json(await segments.list(parseInput(segmentListQuery, req.query)));
      },
    },
    {
      method: 'get',
      path: '/segments/:id',
      permission: 'segments.read',
      summary: 'A saved segment and its rules',
      response: segmentView,
      handler: async (req, res) => {
        res.json(await segments.get(String(req.params.id)));
      },
    },
    {
      method: 'get',
      path: '/segments/:id/count',
      permission: 'segments.read',
      summary: 'How many subscribers match the saved segment now',
      response: z.object({ id: z.string(), count: z.number().int() }),
      handler: async (req, res) => {
        const id = String(req.params.id);
        res.json({ id, count: await segments.count(await segments.rulesOf(id)) });
      },
    },
    {
      method: 'patch',
      path: '/segments/:id',
      permission: 'segments.write',
      summary: 'Rename, describe or change the rules of a segment',
      body: segmentPatchBody,
      response: segmentView,
      handler: async (req, res) => {
        res.json(await segments.update(String(req.params.id), body(segmentPatchBody, req.body)));
      },
    },
    {
      method: 'delete',
      path: '/segments/:id',
      permission: 'segments.write',
      summary: 'Delete a saved segment',
      successStatus: 204,
      handler: async (req, res) => {
        await segments.remove(String(req.params.id));
        res.status(204).end();
      },
    },
  ];
}
