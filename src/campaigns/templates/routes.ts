import { z } from 'zod';
import type { RouteDef } from '../../http/routes.js';
import { cursorQuery, dateTime, page, singleLine } from '../../http/schemas.js';
import { parseInput } from '../../http/validate.js';
import type { TemplateService } from './service.js';

/** 200 kB of MJML is far beyond any real newsletter and well inside the JSON body limit. */
const MAX_MJML = 200_000;

const fields = {
  name: singleLine(200).min(1),
  subject: singleLine(998).nullable(),
  mjml: z.string().min(1).max(MAX_MJML),
};
const createBody = z.strictObject({
  name: fields.name,
  subject: fields.subject.optional(),
  mjml: fields.mjml,
});
const patchBody = z
  .strictObject({
    name: fields.name.optional(),
    subject: fields.subject.optional(),
    mjml: fields.mjml.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');
const previewBody = z.strictObject({ mjml: fields.mjml, subject: fields.subject.optional() });
const listQuery = z.strictObject({ ...cursorQuery });
const idParams = z.object({ id: z.string().regex(/^[0-9a-f]{24}$/, 'not a template id') });

const summary = z.object({
  id: z.string(),
  name: z.string(),
  subject: z.string().nullable(),
  createdAt: dateTime,
  updatedAt: dateTime,
});
const template = summary.extend({ mjml: z.string() });
const renderedMail = z.object({ subject: z.string(), html: z.string(), text: z.string() });

export function templateRoutes(templates: TemplateService): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/templates',
      permission: 'templates.write',
      summary: 'Store an MJML template (validated: MJML, variables, includes)',
      body: createBody,
      response: template,
      successStatus: 201,
      handler: async (req, res) => {
        res.status(201).json(await templates.create(parseInput(createBody, req.body)));
      },
    },
    {
      method: 'get',
      path: '/templates',
      permission: 'templates.read',
      summary: 'Templates (without their MJML), oldest first, paged by cursor',
      query: listQuery,
      response: page(summary),
      handler: async (req, res) => {
        res.json(await templates.list(parseInput(listQuery, req.query)));
      },
    },
    {
      method: 'post',
      path: '/templates/preview',
      permission: 'templates.read',
      summary:
        'Render unsaved MJML for a sample person; 400 lists MJML problems with their lines (errors)',
      body: previewBody,
      response: renderedMail,
      handler: (req, res) => {
        res.json(templates.preview(parseInput(previewBody, req.body)));
      },
    },
    {
      method: 'get',
      path: '/templates/:id',
      permission: 'templates.read',
      summary: 'One template',
      response: template,
      handler: async (req, res) => {
        res.json(await templates.get(parseInput(idParams, req.params).id));
      },
    },
    {
      method: 'patch',
      path: '/templates/:id',
      permission: 'templates.write',
      summary: 'Change a template (validated like a new one)',
      body: patchBody,
      response: template,
      handler: async (req, res) => {
        const { id } = parseInput(idParams, req.params);
        res.json(await templates.update(id, parseInput(patchBody, req.body)));
      },
    },
    {
      method: 'delete',
      path: '/templates/:id',
      permission: 'templates.write',
      summary: 'Delete a template',
      successStatus: 204,
      handler: async (req, res) => {
        await templates.delete(parseInput(idParams, req.params).id);
        res.status(204).end();
      },
    },
  ];
}
