import { z } from 'zod';

/** Building blocks shared by the admin API's request and response schemas (and so its OpenAPI). */
export const objectId = z.string().regex(/^[0-9a-f]{24}$/, 'not an id');
/** Dates leave the API as ISO 8601 strings (JSON.stringify of a Date). */
export const dateTime = z.iso.datetime();
/**
 * A whole number given as a query parameter: decimal digits only, so `0x10`, `1e2`, ` 16` or
 * `16.0` are refused instead of being read as numbers.
 */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,9}$/, 'must be a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
export const cursorQuery = {
  cursor: z.string().max(100).optional(),
  limit: queryInt(1, 200).optional(),
};
// C0 and C1 controls (NUL, CR, LF, TAB, U+0085 …), DEL, and the Unicode line and paragraph
// separators: none belongs in a name or subject, and each breaks the exports and logs they reach.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** A name or subject: one line of text, trimmed, at most `max` characters. */
export const singleLine = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine(
      (s) => !CONTROL_CHARACTERS.test(s),
      'must not contain control characters or line breaks',
    );
export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });
/** A problem of a template at its line (MJML, variables, includes), for editors to mark. */
const lineError = z.looseObject({
  line: z.number().int(),
  message: z.string(),
  file: z.string().optional(),
});
export const errorBody = z.object({
  error: z.looseObject({
    code: z.string(),
    message: z.string(),
    errors: z.array(lineError).optional(),
  }),
});
/** The body of a POST that takes none: absent, or an empty JSON object. */
export const emptyBody = z.strictObject({});
