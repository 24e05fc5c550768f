import { Types } from 'mongoose';
import { GroupCommit } from './group-commit.js';
import { retryTransient } from './retry.js';

/**
 * `_id` values in one `_id: {$in}` read. Kirje's FerretDB build answers up to 1,000 from the `_id`
 * index (src/db/embedded.ts); MongoDB any number.
 */
export const MAX_IDS_PER_READ = 500;

type Projection = Record<string, 0 | 1>;

/** What is used of a mongoose model here: its driver collection, and the type of its `_id`. */
export interface IdReadable {
  collection: {
    find(
      filter: { _id: { $in: unknown[] } },
      options: { projection: Projection },
    ): { toArray(): Promise<unknown[]> };
  };
  schema: { path(name: '_id'): { instance: string } | undefined };
}

/**
 * Documents by `_id`, in one `_id: {$in}` command per MAX_IDS_PER_READ distinct ids instead of one
 * command each: on the embedded FerretDB every command costs about as much as reading 16
 * documents by `_id`. Keyed by `String(_id)`; missing ids are absent. Retried as a whole on a
 * transient error (a read changes nothing).
 */
export async function findByIds<T>(
  model: IdReadable,
  ids: readonly unknown[],
  projection: Projection,
): Promise<Map<string, T>> {
  // Cast here as mongoose would (a string id of an ObjectId key), so the driver is called
  // directly: a mongoose query costs more CPU than the read it sends (src/inbound/ports.ts).
  const objectIds = model.schema.path('_id')?.instance === 'ObjectId';
  const cast = (id: unknown) =>
    objectIds && typeof id === 'string' && /^[0-9a-f]{24}$/i.test(id) ? new Types.ObjectId(id) : id;
  const distinct = [...new Map(ids.map((id) => [String(id), cast(id)])).values()];
  const out = new Map<string, T>();
  for (let i = 0; i < distinct.length; i += MAX_IDS_PER_READ) {
    const part = distinct.slice(i, i + MAX_IDS_PER_READ);
    const docs = (await retryTransient(() =>
      model.collection.find({ _id: { $in: part } }, { projection }).toArray(),
    )) as Array<T & { _id: unknown }>;
    for (const d of docs) out.set(String(d._id), d);
  }
  return out;
}

/**
 * Single `_id` reads from concurrent callers, combined: the first is sent at once, those that
 * arrive while it is in flight go together in the next `findByIds` (src/db/group-commit.ts does
 * the same for writes). A read asked for after a write resolved starts after it, so it sees it.
 */
export class GroupRead<T> {
  private readonly group: GroupCommit<unknown, T | null>;

  constructor(model: IdReadable, projection: Projection) {
    this.group = new GroupCommit<unknown, T | null>(async (ids) => {
      const found = await findByIds<T>(model, ids, projection);
      return ids.map((id) => found.get(String(id)) ?? null);
    }, MAX_IDS_PER_READ);
  }

  byId(id: unknown): Promise<T | null> {
    return this.group.add(id);
  }
}
