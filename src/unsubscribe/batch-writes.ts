import { setTimeout as sleep } from 'node:timers/promises';
import { isTransientDbError } from '../db/retry.js';

/**
 * Group commit: callers that arrive while a write is in flight are written together by the next
 * one, so N concurrent requests cost about one database round trip each way instead of N. No timer:
 * a lone caller is written at once.
 */
export class GroupCommit<T, R> {
  private queue: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  private running = false;

  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly maxBatch = 500,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await this.write(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i]!));
      } catch (err) {
        batch.forEach((b) => b.reject(err));
      }
    }
    this.running = false;
  }
}

/** The one driver call used here; a mongoose model's `collection` has it. */
export interface InsertManyTarget {
  insertMany(docs: object[], opts: { ordered: boolean }): Promise<unknown>;
}

interface BulkError {
  code?: number;
  writeErrors?: Array<{ index: number; code?: number }> | { index: number; code?: number };
}

/**
 * Inserts every document in one unordered insertMany; per document, true when it was inserted and
 * false when its `_id` (or another unique key) already existed. Transient failures (SQLITE_BUSY on
 * the embedded FerretDB) are retried for the documents not known to be in. After a failure that
 * does not say which documents went in, a duplicate on the retry may be this call's own earlier
 * insert: callers that must know tell them apart by a value only they wrote.
 */
export async function insertEach(collection: InsertManyTarget, docs: object[]): Promise<boolean[]> {
  const inserted = docs.map(() => false);
  let pending = docs.map((_, i) => i);
  for (let attempt = 1; pending.length > 0; attempt++) {
    try {
      await collection.insertMany(
        pending.map((i) => docs[i]!),
        { ordered: false },
      );
      for (const i of pending) inserted[i] = true;
      return inserted;
    } catch (err) {
      const e = err as BulkError;
      const writeErrors = Array.isArray(e.writeErrors)
        ? e.writeErrors
        : e.writeErrors
          ? [e.writeErrors]
          : null;
      if (!writeErrors) {
        if (e.code === 11000 && pending.length === 1) return inserted;
        if (attempt >= 10 || !isTransientDbError(err)) throw err;
      } else {
        const failed = new Map(writeErrors.map((w) => [w.index, w.code]));
        const retry: number[] = [];
        pending.forEach((docIndex, k) => {
          if (!failed.has(k)) inserted[docIndex] = true;
          else if (failed.get(k) !== 11000) retry.push(docIndex);
        });
        if (retry.length > 0 && attempt >= 10) throw err;
        pending = retry;
      }
      if (pending.length > 0) await sleep(Math.random() * Math.min(250, 5 * 2 ** attempt));
    }
  }
  return inserted;
}

/** `work` over every item with at most `limit` in flight; results in the order of `items`. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!, i);
      }
    }),
  );
  return out;
}
