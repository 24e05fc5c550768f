import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Errors after which the same idempotent operation may simply be tried again: a lost connection,
 * a write conflict, and the embedded FerretDB's SQLite answering SQLITE_BUSY when concurrent
 * requests write at once (it reports that as a plain InternalError, so the message is the signal).
 */
export function isTransientDbError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; message?: string; code?: number; errorLabels?: unknown };
  const labels = Array.isArray(e.errorLabels) ? (e.errorLabels as string[]) : [];
  return (
    labels.includes('RetryableWriteError') ||
    labels.includes('TransientTransactionError') ||
    e.name === 'MongoNetworkError' ||
    e.code === 112 || // WriteConflict
    /SQLITE_BUSY|database is locked/.test(e.message ?? '')
  );
}

/**
 * Runs `op` again after a transient database error, with jittered backoff. Only for operations
 * that are idempotent as a whole: a retry must find what the failed attempt already wrote.
 */
export async function retryTransient<T>(op: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt >= attempts || !isTransientDbError(err)) throw err;
      // SQLITE_BUSY fails at once rather than waiting for the lock, so short waits suffice.
      await sleep(Math.random() * Math.min(250, 5 * 2 ** attempt));
    }
  }
}
