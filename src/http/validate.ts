import type { z } from 'zod';
import { AppError } from '../shared/errors.js';

/**
 * Parses untrusted input; the first problem becomes a 400 that names the field, or the part of
 * the request (`(body)`, `(query)`) when the problem is the whole of it.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  part: 'body' | 'query' = 'body',
): z.output<S> {
  const res = schema.safeParse(input);
  if (res.success) return res.data;
  const issues = res.error.issues
    .slice(0, 10)
    .map((i) => ({ field: i.path.join('.') || `(${part})`, message: i.message }));
  const first = issues[0]!;
  throw new AppError('validation_failed', `${first.field}: ${first.message}`, { issues });
}

/**
 * Defence in depth against NoSQL operator injection: no key of a request body or query may start
 * with `$`. Schemas already refuse objects where strings belong; this catches any route that
 * forgets.
 */
export function findOperatorKey(value: unknown, depth = 0): string | null {
  if (depth > 20 || value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) return k;
    const inner = findOperatorKey(v, depth + 1);
    if (inner) return inner;
  }
  return null;
}
