import { GroupCommit } from './group-commit.js';
import { retryTransient } from './retry.js';

/**
 * `_id` values in one `_id: {$in}` read. Kirje's FerretDB build answers up to 1,000 from the `_id`
 * index (src/db/embedded.ts); MongoDB any number.
 */
export const MAX_IDS_PER_READ = 500;

type Projection = Record<string, 0 | 1>;

/** What is used of a mongoose model here. */
export interface IdReadable {
  find(filter: object, projection: Projection): { lean(): PromiseLike<unknown> };
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
  const distinct = [...new Map(ids.map((id) => [String(id), id])).values()];
  const out = new Map<string, T>();
  for (let i = 0; i < distinct.length; i += MAX_IDS_PER_READ) {
    const part = distinct.slice(i, i + MAX_IDS_PER_READ);
    const docs = (await retryTransient(async () =>
      model.find({ _id: { $in: part } }, projection).lean(),
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
