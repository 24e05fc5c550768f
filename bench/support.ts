import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * Peak resident set size while `work` runs, sampled every 20 ms. `memoryUsage.rss()`, not
 * `memoryUsage()`: the latter also walks the heap's spaces, which showed up in the CPU profiles.
 */
export async function withPeakRss<T>(
  work: () => Promise<T>,
): Promise<{ result: T; peakRss: number; baseRss: number }> {
  global.gc?.();
  const baseRss = process.memoryUsage.rss();
  let peakRss = baseRss;
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 20);
  try {
    const result = await work();
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    return { result, peakRss, baseRss };
  } finally {
    clearInterval(timer);
  }
}

export const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/**
 * CPU time used since the call, in ms: this process's, and the embedded FerretDB's (a child of
 * this process; 0 with MONGODB_URI; other children, such as an SMTP sink, are not counted). CPU
 * per item does not depend on what else the machine runs, where throughput does. Linux only; the
 * database's figure has 10 ms resolution.
 */
export function cpuMeter(): () => { node: number; database: number } {
  const node0 = process.cpuUsage();
  const db0 = databaseCpuMs();
  return () => {
    const used = process.cpuUsage(node0);
    return { node: (used.user + used.system) / 1000, database: databaseCpuMs() - db0 };
  };
}

/** CPU ms used so far by this process's FerretDB children. */
function databaseCpuMs(): number {
  const children = readdirSync('/proc/self/task').flatMap((t) =>
    readFileSync(`/proc/self/task/${t}/children`, 'utf8').split(' ').filter(Boolean),
  );
  let total = 0;
  for (const pid of children) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(ferretdb)')) continue;
      // After the command name: [11] and [12] are user and system time in clock ticks.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
    } catch {
      // The process ended while being read.
    }
  }
  return total;
}

/** Linux's USER_HZ, which /proc reports times in. */
const TICKS_PER_SECOND = 100;
