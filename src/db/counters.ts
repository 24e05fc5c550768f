import type { mongo } from 'mongoose';
import { MAX_UPDATE_STATEMENTS, refusedAsDuplicates } from './bulk.js';
import { retryTransient } from './retry.js';

/** Increments for one counter document, and the fields it is created with. */
export interface CounterIncrement {
  id: string;
  onInsert: mongo.Document;
  inc: Record<string, number>;
}

/**
 * Applies one group of increments (numbered `seq`, rising per writer) to counter documents that
 * only this writer changes, exactly once even when the group is sent again after a failure that
 * did not say what was applied. Each statement is an upsert on `{_id, seq < this group}` that also
 * sets `seq`: a document that already took the group no longer matches, its upsert then collides
 * with the `_id` and the refusal means "already applied". A lone writer per document matters on
 * the embedded database, where concurrent `$inc` on one document lose updates (docs/database.md).
 */
export async function incrementOnce(
  collection: mongo.Collection,
  seq: number,
  increments: CounterIncrement[],
): Promise<void> {
  for (let i = 0; i < increments.length; i += MAX_UPDATE_STATEMENTS) {
    const ops: mongo.AnyBulkWriteOperation[] = increments
      .slice(i, i + MAX_UPDATE_STATEMENTS)
      .map(({ id, onInsert, inc }) => ({
        updateOne: {
          filter: { _id: id as unknown as mongo.Document['_id'], seq: { $lt: seq } },
          update: { $inc: inc, $set: { seq }, $setOnInsert: onInsert },
          upsert: true,
        },
      }));
    await retryTransient(() =>
      refusedAsDuplicates(() => collection.bulkWrite(ops, { ordered: false })),
    );
  }
}
