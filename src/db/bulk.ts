import { setTimeout as sleep } from 'node:timers/promises';
import { isTransientDbError, retryTransient } from './retry.js';
import { isDuplicateKey } from '../shared/errors.js';

/**
 * Runs an unordered bulk write and returns the indexes of the operations a unique index refused
 * (the others were applied); any other failure is rethrown.
 */
export async function refusedAsDuplicates(write: () => Promise<unknown>): Promise<number[]> {
  try {
    await write();
    return [];
  } catch (err) {
    const writeErrors = (
      err as { writeErrors?: Array<{ index: number; code?: number; err?: { code?: number } }> }
    ).writeErrors;
    if (
      !writeErrors?.length ||
      !writeErrors.every((e) => isDuplicateKey(e) || isDuplicateKey(e.err))
    )
      throw err;
    return writeErrors.map((e) => e.index);
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

/**
 * Statements per update command: FerretDB 1.24 holds a pooled connection per statement until the
 * command ends and has 100, so a command of 100 (or several adding up to 100) never returns.
 */
export const MAX_UPDATE_STATEMENTS = 32;

/** The one call used here; a mongoose model and its driver collection both have it. */
export interface BulkWriteTarget<Op> {
  bulkWrite(ops: Op[], opts: { ordered: boolean }): Promise<unknown>;
}

/**
 * Idempotent writes (a `$set` or a delete by `_id`, the same from every writer) in ordered
 * commands of at most MAX_UPDATE_STATEMENTS: one round trip per command instead of per statement,
 * and the statements run one after another, as SQLite takes one writer at a time. A transient
 * failure retries the whole command, which is why the writes must be idempotent.
 */
export async function writeInOrder<Op>(model: BulkWriteTarget<Op>, ops: Op[]): Promise<void> {
  for (let i = 0; i < ops.length; i += MAX_UPDATE_STATEMENTS) {
    const chunk = ops.slice(i, i + MAX_UPDATE_STATEMENTS);
    await retryTransient(() => model.bulkWrite(chunk, { ordered: true }));
  }
}
