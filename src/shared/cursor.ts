import { badRequest } from './errors.js';

/**
 * Opaque keyset cursors over `_id`: the client sends back what it was given, and the next page
 * starts strictly after that id, so inserts and deletes never shift or repeat items (no skip).
 */
const OBJECT_ID = /^[0-9a-f]{24}$/;

export function encodeCursor(lastId: string): string {
  return Buffer.from(`v1:${lastId}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const decoded = /^[A-Za-z0-9_-]{1,64}$/.test(cursor)
    ? Buffer.from(cursor, 'base64url').toString('utf8')
    : '';
  const id = decoded.startsWith('v1:') ? decoded.slice(3) : '';
  if (!OBJECT_ID.test(id)) throw badRequest('cursor: not a cursor this API gave out');
  return id;
}

/**
 * The cursor of a walk ordered by a date and then `_id` (src/db/keyset.ts readPageByDate): both
 * values of the last item, so items sharing a millisecond are neither repeated nor skipped.
 */
export function encodeDateCursor(at: Date, lastId: string): string {
  return Buffer.from(`d1:${at.getTime()}:${lastId}`, 'utf8').toString('base64url');
}

export function decodeDateCursor(cursor: string): { at: Date; id: string } {
  const decoded = /^[A-Za-z0-9_-]{1,80}$/.test(cursor)
    ? Buffer.from(cursor, 'base64url').toString('utf8')
    : '';
  const m = /^d1:(-?[0-9]{1,15}):([0-9a-f]{24})$/.exec(decoded);
  const at = m ? new Date(Number(m[1])) : null;
  if (!m || !at || Number.isNaN(at.getTime()))
    throw badRequest('cursor: not a cursor this API gave out');
  return { at, id: m[2]! };
}
