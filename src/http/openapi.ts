import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { RouteDef } from './routes.js';
import { SESSION_COOKIE } from './cookies.js';
import { errorBody } from './schemas.js';

type JsonSchema = Record<string, unknown> & {
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

/**
 * Schemas shared across operations. zod puts recursive parts (segment rules) in a schema-local
 * `$defs` whose `#/$defs/…` references OpenAPI resolves against the document root, so they are
 * hoisted into components.schemas, one entry per distinct definition.
 */
class SharedSchemas {
  readonly schemas: Record<string, JsonSchema> = {};
  private count = 0;
  // The same definitions (e.g. the rule of a segment) recur in several operations; registered once.
  private readonly namesOfDefs = new Map<string, Map<string, string>>();

  /**
   * Converts the very schemas the handlers validate with; requests are described as zod accepts
   * them (`input`), answers as handlers produce them (`output`).
   */
  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const converted = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      // Transforms and refinements have no JSON Schema form; the base type still documents them.
      unrepresentable: 'any',
    }) as JsonSchema;
    // The dialect is declared once, in jsonSchemaDialect.
    delete converted.$schema;
    const defs = converted.$defs as Record<string, JsonSchema> | undefined;
    if (!defs) return converted;
    delete converted.$defs;
    const key = JSON.stringify(defs);
    let names = this.namesOfDefs.get(key);
    const isNew = !names;
    names ??= new Map(Object.keys(defs).map((local) => [local, `Shared${++this.count}`]));
    this.namesOfDefs.set(key, names);
    const rewrite = (value: JsonSchema) =>
      JSON.parse(
        JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, (_m, local: string) =>
          JSON.stringify(`#/components/schemas/${names.get(local)}`),
        ),
      ) as JsonSchema;
    if (isNew)
      for (const [local, def] of Object.entries(defs))
        this.schemas[names.get(local)!] = rewrite(def);
    return rewrite(converted);
  }
}

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const errorResponse = (description: string) => ({
  description,
  content: json({ $ref: '#/components/schemas/Error' }),
});

function parameters(route: RouteDef, shared: SharedSchemas) {
  const params: object[] = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  if (route.query) {
    const q = shared.convert(route.query, 'input');
    for (const [name, schema] of Object.entries(q.properties ?? {}))
      params.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
  }
  return params;
}

function operation(route: RouteDef, shared: SharedSchemas) {
  const status = String(route.successStatus ?? 200);
  return {
    summary: route.summary,
    operationId: `${route.method}${route.path.replace(/[/:](\w)/g, (_m, c: string) => c.toUpperCase()).replace(/\W/g, '')}`,
    description: route.query?.description,
    'x-permission': route.permission,
    // Either credential; writes made with the cookie also need the X-CSRF-Token header.
    security: route.permission === 'public' ? [] : [{ bearerToken: [] }, { sessionCookie: [] }],
    parameters: parameters(route, shared),
    ...(route.body
      ? { requestBody: { required: true, content: json(shared.convert(route.body, 'input')) } }
      : {}),
    responses: {
      [status]: route.response
        ? { description: 'Success', content: json(shared.convert(route.response, 'output')) }
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
  const shared = new SharedSchemas();
  for (const route of routes) {
    const path = `/api/v1${route.path.replace(/:(\w+)/g, '{$1}')}`;
    (paths[path] ??= {})[route.method] = operation(route, shared);
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
      securitySchemes: {
        bearerToken: { type: 'http', scheme: 'bearer' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
      },
      schemas: { Error: shared.convert(errorBody, 'output'), ...shared.schemas },
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
