import { Types, type FilterQuery } from 'mongoose';

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
