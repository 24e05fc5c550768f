import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { RouteDef } from './routes.js';
import { errorBody } from './schemas.js';

type JsonSchema = Record<string, unknown> & {
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

/**
 * Converts the very schemas the handlers validate with; requests are described as zod accepts
 * them (`input`), answers as handlers produce them (`output`).
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const converted = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    // Transforms and refinements have no JSON Schema form; the base type still documents them.
    unrepresentable: 'any',
  }) as JsonSchema;
  // The dialect is declared once, in jsonSchemaDialect.
  delete converted.$schema;
  return converted;
}

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const errorResponse = (description: string) => ({
  description,
  content: json({ $ref: '#/components/schemas/Error' }),
});

function parameters(route: RouteDef) {
  const params: object[] = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  if (route.query) {
    const q = jsonSchema(route.query, 'input');
    for (const [name, schema] of Object.entries(q.properties ?? {}))
      params.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
  }
  return params;
}

function operation(route: RouteDef) {
  const status = String(route.successStatus ?? 200);
  return {
    summary: route.summary,
    operationId: `${route.method}${route.path.replace(/[/:](\w)/g, (_m, c: string) => c.toUpperCase()).replace(/\W/g, '')}`,
    description: route.query?.description,
    'x-permission': route.permission,
    security: [{ bearerToken: [] }],
    parameters: parameters(route),
    ...(route.body
      ? { requestBody: { required: true, content: json(jsonSchema(route.body, 'input')) } }
      : {}),
    responses: {
      [status]: route.response
        ? { description: 'Success', content: json(jsonSchema(route.response, 'output')) }
        : { description: 'Success, no content' },
      '400': errorResponse('Invalid input; the message names the field'),
      '401': errorResponse('Missing, invalid or revoked token'),
      '403': errorResponse('The role lacks the permission named in x-permission'),
      '404': errorResponse('Not found'),
      '409': errorResponse('Conflict with the current state'),
      '413': errorResponse('Body larger than 1 MB'),
    },
  };
}

/** OpenAPI 3.1 of the admin API, built from the route table so it cannot drift from the code. */
export function openApiDocument(routes: RouteDef[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `/api/v1${route.path.replace(/:(\w+)/g, '{$1}')}`;
    (paths[path] ??= {})[route.method] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kirje admin API',
      version: '1',
      description:
        'Staff API of the Kirje mailing-list service. Every operation needs a bearer API token ' +
        'whose role holds the permission given in `x-permission`.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: jsonSchema(errorBody, 'output') },
    },
  };
}

/** Public: the document describes the software, not anyone's data, and helps clients integrate. */
export function openApiHandler(routes: RouteDef[]): RequestHandler {
  let doc: ReturnType<typeof openApiDocument> | undefined;
  return (_req, res) => {
    doc ??= openApiDocument(routes);
    res.json(doc);
  };
}
