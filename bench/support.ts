import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '../src/db/connection.js';
import { systemClock } from '../src/shared/clock.js';
import { createLogger } from '../src/shared/logger.js';

/** A database for one benchmark: MONGODB_URI when set, else a throwaway embedded FerretDB. */
export async function benchDatabase(): Promise<Database & { dispose(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kirje-bench-'));
  const db = await openDatabase({
    uri: process.env.MONGODB_URI || undefined,
    dataDir: dir,
    dbName: `kirje_bench_${process.pid}`,
    clock: systemClock,
    logger: createLogger('warn', 2),
  });
  return {
    ...db,
    async dispose() {
      await db.connection.dropDatabase();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Peak resident set size while `work` runs, sampled every 20 ms. */
export async function withPeakRss<T>(
  work: () => Promise<T>,
): Promise<{ result: T; peakRss: number; baseRss: number }> {
  global.gc?.();
  const baseRss = process.memoryUsage().rss;
  let peakRss = baseRss;
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  try {
    const result = await work();
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    return { result, peakRss, baseRss };
  } finally {
    clearInterval(timer);
  }
}

export const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
