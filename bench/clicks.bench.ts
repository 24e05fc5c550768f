import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Types } from 'mongoose';
import { countsByHour, totalOf } from '../src/campaigns/stats/buckets.js';
import { openDatabase } from '../src/db/connection.js';
import { startService } from '../src/server.js';
import { systemClock } from '../src/shared/clock.js';
import { createLogger } from '../src/shared/logger.js';
import { cpuMeter } from './support.js';

/**
 * Clicks on a campaign's wrapped links (/r/:token), CONCURRENCY in flight over loopback keep-alive
 * HTTP, against the whole service (startService, as `npm start` runs it). Each answer is a 302;
 * counts are grouped in memory and written every second. The service is then shut down as on
 * SIGTERM, the database opened again, and the stored count of every link must equal the clicks
 * made: none lost. Target: >= 2,000 clicks/s.
 */
const CLICKS = Number(process.env.BENCH_CLICKS ?? 30_000);
const CONCURRENCY = Number(process.env.BENCH_CLICKS_CONCURRENCY ?? 32);
const WARM_UP = 500;
const LINKS = [
  'https://shop.example.com/a',
  'https://shop.example.com/b',
  'https://blog.example.com/c',
];
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36';

/**
 * The clicking browsers: a worker thread with CONCURRENCY keep-alive requests in flight, so the
 * client has a core of its own as remote readers would, and the service's thread only answers.
 */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { Agent, request } = require('node:http');
const { port, paths, concurrency, userAgent } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const latencies = [];
const get = (p) => new Promise((resolve, reject) => {
  const req = request({ agent, host: '127.0.0.1', port, path: p, headers: { 'user-agent': userAgent } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  });
  req.on('error', reject);
  req.end();
});
let next = 0;
const started = performance.now();
Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < paths.length) {
    const sent = performance.now();
    const status = await get(paths[next++]);
    latencies.push(performance.now() - sent);
    if (status !== 302) throw new Error('unexpected status ' + status);
  }
})).then(() => {
  agent.destroy();
  parentPort.postMessage({ seconds: (performance.now() - started) / 1000, latencies });
});
`;

function drive(port: number, paths: string[]) {
  return new Promise<{ perSecond: number; latencies: number[] }>((resolve, reject) => {
    const worker = new Worker(CLIENT, {
      eval: true,
      workerData: { port, paths, concurrency: CONCURRENCY, userAgent: BROWSER },
    });
    worker.once('message', (m: { seconds: number; latencies: number[] }) =>
      resolve({ perSecond: paths.length / m.seconds, latencies: m.latencies }),
    );
    worker.once('error', reject);
  });
}

export async function run(): Promise<Record<string, number | string>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kirje-bench-clicks-'));
  try {
    const service = await startService({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      PORT: '0',
      DATA_DIR: dataDir,
      MONGODB_URI: process.env.MONGODB_URI ?? '',
      BASE_URL: 'https://news.example.com',
      TOKEN_KEYS: `b1:${randomBytes(32).toString('base64url')}`,
      DATA_KEY: randomBytes(32).toString('base64'),
      INBOUND_SMTP_PORT: '',
      SEND_WORKER: 'false',
    });
    const { services } = service;
    const ctx = { actor: { type: 'system' as const, name: 'bench' } };
    const slug = `bench-${randomBytes(4).toString('hex')}`;
    await services.lists.create(ctx, { name: 'Bench', slug, doubleOptIn: false });
    const mjml = `<mj-section><mj-column><mj-text>${LINKS.map((u) => `<a href="${u}">x</a>`).join(' ')}</mj-text></mj-column></mj-section>`;
    const campaign = await services.campaigns.create(
      { name: 'Bench', subject: 'Bench', mjml, lists: [slug], fromEmail: 'news@example.com' },
      ctx,
    );
    const paths = LINKS.map(
      (_, index) => `/r/${services.tokens.signLink('click', { campaignId: campaign.id, index })}`,
    );
    const clicks = Array.from({ length: CLICKS + WARM_UP }, (_, i) => paths[i % paths.length]!);
    const port = Number(new URL(service.url).port);
    const meter = cpuMeter();
    await drive(port, clicks.slice(0, WARM_UP));
    const measured = await drive(port, clicks.slice(WARM_UP));
    const used = meter();
    // Shut down as on SIGTERM; the counts still in memory are written on the way out.
    await service.stop();

    const db = await openDatabase({
      uri: process.env.MONGODB_URI || undefined,
      dataDir,
      clock: systemClock,
      logger: createLogger('warn', 2),
    });
    let stored: number[];
    try {
      const totals = totalOf(await countsByHour(db.models, new Types.ObjectId(campaign.id)));
      stored = LINKS.map((_, i) => totals[`click_${i}`] ?? 0);
    } finally {
      await db.close();
    }
    const made = LINKS.map((_, i) => clicks.filter((p) => p === paths[i]).length);
    if (stored.some((n, i) => n !== made[i]))
      throw new Error(`stored clicks ${stored.join('/')} but made ${made.join('/')}`);

    const { latencies } = measured;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    return {
      'clicks.perSecond': Math.round(measured.perSecond),
      'clicks.p50Ms': Number(pct(0.5).toFixed(1)),
      'clicks.p99Ms': Number(pct(0.99).toFixed(1)),
      'clicks.storedAfterShutdown': `${stored.reduce((a, b) => a + b, 0)} of ${CLICKS + WARM_UP} (per link ${stored.join(', ')})`,
      // Node's figure includes the client's thread.
      'clicks.cpuMsPerClick': `Node ${(used.node / clicks.length).toFixed(3)}; database ${(used.database / clicks.length).toFixed(3)}`,
      'clicks.target': '>= 2,000 clicks/s, every click stored after shutdown',
      'clicks.setup': `${CLICKS} clicks on ${LINKS.length} links, concurrency ${CONCURRENCY}, ${process.env.MONGODB_URI ? 'MONGODB_URI' : 'embedded database'}`,
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// Run alone with `npx tsx bench/clicks.bench.ts`; bench/run.ts imports run() instead.
if (import.meta.url === `file://${process.argv[1]}`) {
  run().then(
    (r) => console.log(r),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
