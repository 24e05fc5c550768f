import type { FilterQuery, Model } from 'mongoose';

/**
 * How many documents match `filter`, by the `count` command. On the embedded database a filter
 * of indexed equalities is counted from its indexes without reading a document
 * (src/db/ferretdb/README.md); `countDocuments` runs an aggregation, which reads every match.
 * On MongoDB `count` with a query is exact and uses the same indexes.
 */
export async function countMatching<T>(model: Model<T>, filter: FilterQuery<T>): Promise<number> {
  const query = model.find(filter);
  const casted = query.cast(model) as Record<string, unknown>;
  const res = await model.db.db!.command({ count: model.collection.collectionName, query: casted });
  return Number(res.n);
}
