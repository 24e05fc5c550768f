import busboy from 'busboy';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { RouteDef } from '../http/routes.js';
import { dateTime } from '../http/schemas.js';
import { auditContext } from '../http/types.js';
import { parseInput } from '../http/validate.js';
import { AppError, badRequest } from '../shared/errors.js';
import { exportQuerySchema, type ExportService } from './csv-export.js';
import { importOptionsSchema, type ImportService } from './csv-import.js';

const MAX_FIELD_BYTES = 64 * 1024;

/**
 * The CSV part of a multipart upload, with the form fields that came before it. Fields after the
 * file are ignored: the import streams, so its options must be known when the file starts.
 */
function multipartCsv(req: Request): Promise<{ fields: Record<string, string>; file: Readable }> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: { files: 1, fields: 10, parts: 11, fieldSize: MAX_FIELD_BYTES },
      });
    } catch {
      reject(badRequest('the multipart body has no boundary'));
      return;
    }
    const fields: Record<string, string> = Object.create(null);
    let file: Readable | undefined;
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) bb.emit('error', badRequest(`${name}: too long`));
      else if (!file) fields[name] = value;
    });
    bb.on('file', (name, stream) => {
      if (name !== 'file' || file) {
        stream.resume();
        return;
      }
      file = stream;
      resolve({ fields, file });
    });
    bb.on('error', (err) => {
      const error = err instanceof AppError ? err : badRequest('the multipart body is malformed');
      if (file) file.destroy(error);
      else reject(error);
    });
    bb.on('close', () => {
      if (!file) reject(badRequest('file: a CSV part named "file" is required'));
    });
    req.pipe(bb);
  });
}

const jobView = z.object({
  id: z.string(),
  status: z.enum(['running', 'completed', 'failed']),
  mode: z.string(),
  listId: z.string().nullable(),
  counts: z.record(z.string(), z.number().int()),
  errors: z.array(z.object({ line: z.number().int(), message: z.string() })),
  errorCount: z.number().int(),
  failure: z.string().nullable(),
  createdAt: dateTime,
  finishedAt: dateTime.nullable(),
});

export function csvRoutes(s: { imports: ImportService; exports: ExportService }): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/imports',
      permission: 'subscribers.import',
      rawBody: true,
      summary:
        'Import a CSV (multipart field `file` after fields `mapping`, `list`, `mode`; or a text/csv ' +
        'body with those as query parameters). Streams the file and answers when it is read.',
      query: importOptionsSchema,
      response: jobView,
      successStatus: 202,
      handler: async (req, res) => {
        const ctx = auditContext(req);
        // Query options are checked before the upload is touched, whatever its type.
        parseInput(importOptionsSchema, req.query);
        const type = String(req.headers['content-type'] ?? '');
        let input: Readable;
        let given: Record<string, unknown> = { ...req.query };
        if (/^multipart\/form-data/i.test(type)) {
          const { fields, file } = await multipartCsv(req);
          given = { ...given, ...fields };
          input = file;
        } else if (/^(text\/csv|application\/csv|text\/plain)\b/i.test(type)) {
          input = req;
        } else {
          throw new AppError('unsupported_media_type', 'send multipart/form-data or text/csv');
        }
        let job;
        try {
          job = await s.imports.start(ctx, parseInput(importOptionsSchema, given));
        } catch (err) {
          // Refused before reading: drain the upload so the client sees the answer, not a reset.
          input.resume();
          throw err;
        }
        const view = await s.imports.run(ctx, job, input);
        res.status(202).location(`/api/v1/imports/${view.id}`).json(view);
      },
    },
    {
      method: 'get',
      path: '/imports/:id',
      permission: 'subscribers.import',
      summary: 'Progress and result of an import',
      response: jobView,
      handler: async (req, res) => {
        res.json(await s.imports.get(String(req.params.id)));
      },
    },
    {
      method: 'get',
      path: '/exports',
      permission: 'subscribers.export',
      summary:
        'CSV of a list (?list=id|slug, ?status=) or a segment (?segment=id), streamed as ' +
        'text/csv (attachment subscribers.csv)',
      query: exportQuerySchema,
      // The OpenAPI generator knows only application/json; the body is the CSV text.
      response: z.string().describe('text/csv; charset=utf-8, one header row then one row each'),
      handler: async (req, res) => {
        const csv = await s.exports.open(
          auditContext(req),
          parseInput(exportQuerySchema, req.query),
        );
        res.status(200).type('text/csv; charset=utf-8').attachment('subscribers.csv');
        await pipeline(csv, res);
      },
    },
  ];
}
