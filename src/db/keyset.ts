import { Types, type FilterQuery, type Model } from 'mongoose';
import {
  decodeCursor,
  decodeDateCursor,
  encodeCursor,
  encodeDateCursor,
} from '../shared/cursor.js';

/** The smallest and largest ObjectIds: the bounds of a keyset walk's first page. */
const FIRST_OBJECT_ID = new Types.ObjectId('000000000000000000000000');
const LAST_OBJECT_ID = new Types.ObjectId('ffffffffffffffffffffffff');

/**
 * The `_id` condition of a keyset page sorted by `_id`: after the previous page's last id, or from
 * the start. Every page, the first too, bounds `_id` by an ObjectId, so the embedded database reads
 * it in `_id` index order and stops at the limit (src/db/ferretdb/README.md); on MongoDB it is
 * the same index walk.
 */
export function idsAfter(
  after?: Types.ObjectId,
): { $gt: Types.ObjectId } | { $gte: Types.ObjectId } {
  return after ? { $gt: after } : { $gte: FIRST_OBJECT_ID };
}

/** The same for a walk newest first (sorted by `_id` descending). */
export function idsBefore(
  before?: Types.ObjectId,
): { $lt: Types.ObjectId } | { $lte: Types.ObjectId } {
  return before ? { $lt: before } : { $lte: LAST_OBJECT_ID };
}

/** `filter` restricted to one keyset page's ids, whatever `filter` says of `_id` itself. */
export function pageFilter<T>(filter: FilterQuery<T>, after?: Types.ObjectId): FilterQuery<T> {
  return { $and: [filter, { _id: idsAfter(after) }] } as FilterQuery<T>;
}

/** What a client asks of a keyset-paged collection. */
export interface PageRequest {
  cursor?: string | undefined;
  limit?: number | undefined;
}

/**
 * One page of `filter`'s documents in `_id` order (oldest first, or newest first), read by the
 * keyset conditions above with one document more than asked, so "is there a next page" costs no
 * count. `nextCursor` is the opaque cursor of the last document, or null on the last page.
 * `filter` says nothing of `_id`: the page's bound takes that field.
 */
export async function readPage<T>(
  model: Model<T>,
  filter: FilterQuery<T>,
  request: PageRequest & { defaultLimit: number; newestFirst?: boolean },
): Promise<{ docs: Array<T & { _id: Types.ObjectId }>; nextCursor: string | null }> {
  const limit = request.limit ?? request.defaultLimit;
  const from = request.cursor ? new Types.ObjectId(decodeCursor(request.cursor)) : undefined;
  const ids = request.newestFirst ? idsBefore(from) : idsAfter(from);
  const found = await model
    .find({ ...filter, _id: ids } as FilterQuery<T>)
    .sort({ _id: request.newestFirst ? -1 : 1 })
    .limit(limit + 1)
    .lean<Array<T & { _id: Types.ObjectId }>>();
  const docs = found.slice(0, limit);
  return {
    docs,
    nextCursor: found.length > limit ? encodeCursor(String(docs.at(-1)!._id)) : null,
  };
}

/** `filter` restricted to the documents after `from` in the order of readPageByDate. */
export function datePageFilter<T>(
  filter: FilterQuery<T>,
  field: string,
  from?: { at: Date; id: string },
): FilterQuery<T> {
  const older = from
    ? {
        [field]: { $lte: from.at },
        $or: [
          { [field]: { $lt: from.at } },
          { [field]: from.at, _id: { $lt: new Types.ObjectId(from.id) } },
        ],
      }
    : {};
  return { $and: [filter, older] } as FilterQuery<T>;
}

/**
 * One page of `filter`'s documents newest first by the date `field`, ties newest `_id` first, for
 * lists ordered by a time other than the insert (inbound mail by when it was received). The
 * cursor holds both values of the last document, so documents sharing a millisecond are never
 * split across pages with one lost. The embedded database sorts these matches itself (it sorts
 * only by `_id` from an index); the date bound at least keeps the older ones out of each read.
 * `projection` must include `field`.
 */
export async function readPageByDate<T>(
  model: Model<T>,
  filter: FilterQuery<T>,
  request: PageRequest & {
    defaultLimit: number;
    field: string;
    projection?: Record<string, number>;
  },
): Promise<{ docs: Array<T & { _id: Types.ObjectId }>; nextCursor: string | null }> {
  const { field } = request;
  const limit = request.limit ?? request.defaultLimit;
  const from = request.cursor ? decodeDateCursor(request.cursor) : undefined;
  const found = await model
    .find(datePageFilter(filter, field, from), request.projection)
    .sort({ [field]: -1, _id: -1 })
    .limit(limit + 1)
    .lean<Array<T & { _id: Types.ObjectId } & Record<string, unknown>>>();
  const docs = found.slice(0, limit);
  const last = docs.at(-1);
  return {
    docs,
    nextCursor:
      found.length > limit && last ? encodeDateCursor(last[field] as Date, String(last._id)) : null,
  };
}
