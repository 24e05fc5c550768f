import { z } from 'zod';

/** Building blocks shared by the admin API's request and response schemas (and so its OpenAPI). */
export const objectId = z.string().regex(/^[0-9a-f]{24}$/, 'not an id');
/** Dates leave the API as ISO 8601 strings (JSON.stringify of a Date). */
export const dateTime = z.iso.datetime();
export const cursorQuery = {
  cursor: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
};
export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });
export const errorBody = z.object({
  error: z.looseObject({ code: z.string(), message: z.string() }),
});
/** The body of a POST that takes none: absent, or an empty JSON object. */
export const emptyBody = z.strictObject({});
