import { Readable } from 'node:stream';
import { AuditLog } from '../src/privacy/audit.js';
import { systemClock } from '../src/shared/clock.js';
import { DataProtector } from '../src/shared/crypto.js';
import { ImportService } from '../src/subscribers/csv-import.js';
import { EmailKeys } from '../src/subscribers/email-keys.js';
import { SuppressionService } from '../src/unsubscribe/suppressions.js';
import { benchDatabase, mib, withPeakRss } from './support.js';

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);

/**
 * A generated CSV of ROWS rows streamed through ImportService (the same code the HTTP route
 * feeds): 5% repeat an earlier address, 1% are malformed, 2% were unsubscribed before and 1% are
 * suppressed. Peak RSS is sampled while it runs; with streaming it should not grow with ROWS.
 */
export async function run(): Promise<Record<string, number | string>> {
  const db = await benchDatabase();
  try {
    const { models } = db;
    const protector = new DataProtector(Buffer.alloc(32, 3));
    const suppressions = new SuppressionService(models, protector);
    const imports = new ImportService(
      models,
      new EmailKeys(models),
      suppressions,
      protector,
      new AuditLog(models, systemClock),
      systemClock,
    );
    await models.List.create({ name: 'Bench', slug: 'bench' });

    const unsubscribed = Math.floor(ROWS * 0.02);
    const suppressed = Math.floor(ROWS * 0.01);
    const pre = [];
    for (let i = 0; i < unsubscribed; i++)
      pre.push({ email: `row${i * 50 + 3}@example.com`, source: 'api', status: 'unsubscribed' });
    for (let i = 0; i < pre.length; i += 1000)
      await models.Subscriber.insertMany(pre.slice(i, i + 1000));
    for (let i = 0; i < suppressed; i++)
      await suppressions.suppress(`row${i * 100 + 11}@example.com`, 'all', 'unsubscribe');

    const rssAt: number[] = [];
    async function* csv(): AsyncGenerator<string> {
      yield 'email,name,locale,attributes.tier\n';
      let chunk = '';
      for (let i = 0; i < ROWS; i++) {
        if (i % 100 === 57) chunk += `broken-${i},Bad,fi,\n`;
        else if (i % 20 === 9 && i > 20) chunk += `row${i - 21}@example.com,Again ${i},fi,\n`;
        else
          chunk += `row${i}@example.com,Person ${i},${i % 3 ? 'fi' : 'en'},${i % 7 ? 'basic' : 'gold'}\n`;
        if (i % 500 === 499) {
          yield chunk;
          chunk = '';
        }
        if (i % (ROWS / 4) === ROWS / 4 - 1) rssAt.push(mib(process.memoryUsage().rss));
      }
      yield chunk;
    }

    const ctx = { actor: { type: 'system' as const, name: 'bench' } };
    const started = performance.now();
    const { result, peakRss, baseRss } = await withPeakRss(async () => {
      const job = await imports.start(ctx, { mode: 'add', list: 'bench' });
      return imports.run(ctx, job, Readable.from(csv()));
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      rows: ROWS,
      seconds: Math.round(seconds * 10) / 10,
      rowsPerSecond: Math.round(ROWS / seconds),
      baseRssMiB: mib(baseRss),
      peakRssMiB: mib(peakRss),
      rssAtQuartersMiB: rssAt.join(' / '),
      counts: JSON.stringify(result.counts),
    };
  } finally {
    await db.dispose();
  }
}
