import { randomBytes } from 'node:crypto';
import { Agent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Types } from 'mongoose';
import { loadConfig } from '../src/config/config.js';
import { createApp } from '../src/http/app.js';
import { createSmtpMailer } from '../src/mail/mailer.js';
import { buildServices } from '../src/services.js';
import { systemClock } from '../src/shared/clock.js';
import { createLogger } from '../src/shared/logger.js';
import { benchDatabase, cpuMeter } from './support.js';

/**
 * RFC 8058 one-click POSTs, each for a different person, CONCURRENCY in flight over loopback
 * keep-alive HTTP: opt-outs per second and latency percentiles. Each 200 means the whole opt-out
 * is durable (suppression, membership, consent ledger entry, event); after every round the bench
 * checks that all of it is there. Target: >= 300/s and p99 <= 50 ms at 32 concurrent.
 */
const PEOPLE = Number(process.env.BENCH_UNSUBSCRIBE_PEOPLE ?? 6000);
const ROUNDS = Number(process.env.BENCH_UNSUBSCRIBE_ROUNDS ?? 3);
const WARM_UP = 200;
const CONCURRENCY = Number(process.env.BENCH_UNSUBSCRIBE_CONCURRENCY ?? 32);
const BODY = 'List-Unsubscribe=One-Click';

/** Sends every path once with CONCURRENCY requests in flight: per second, and each latency. */
async function drive(port: number, paths: string[]) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  const post = (p: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: '127.0.0.1',
          port,
          path: p,
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': BODY.length,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(BODY);
    });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < paths.length) {
        const sent = performance.now();
        const status = await post(paths[next++]!);
        latencies.push(performance.now() - sent);
        if (status !== 200) throw new Error(`unexpected status ${status}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { perSecond: paths.length / seconds, latencies };
}

export async function run(): Promise<Record<string, number | string>> {
  const db = await benchDatabase();
  try {
    const loaded = loadConfig({
      NODE_ENV: 'test',
      BASE_URL: 'https://news.example.com',
      TOKEN_KEYS: `b1:${randomBytes(32).toString('base64url')}`,
      DATA_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'silent',
    });
    const config = { ...loaded, tokenKeys: loaded.tokenKeys!, dataKey: loaded.dataKey! };
    const mailer = createSmtpMailer({ url: undefined });
    const logger = createLogger('silent');
    const adapters = { config, db, clock: systemClock, logger, mailer };
    const services = buildServices(adapters);

    // People on a list, a campaign to that list, one campaign link each as MailComposer signs it
    // for a list campaign (subscriber, campaign, list).
    const list = await db.models.List.create({ name: 'Bench', slug: 'bench' });
    const listId = String(list._id);
    const campaignId = new Types.ObjectId();
    await db.connection.db!.collection('campaigns').insertOne({
      _id: campaignId,
      listIds: [list._id],
    });
    const people = Array.from({ length: PEOPLE + WARM_UP }, (_, i) => ({
      _id: new Types.ObjectId(),
      email: `bench${i}@example.com`,
      source: 'bench',
      status: 'subscribed',
    }));
    await db.models.Subscriber.insertMany(people);
    await db.models.Membership.insertMany(
      people.map((p) => ({ subscriberId: p._id, listId: list._id, status: 'subscribed' })),
    );
    const paths = people.map(
      (p) =>
        `/u/${services.tokens.sign('unsubscribe', {
          subscriberId: String(p._id),
          campaignId: String(campaignId),
          listId,
        })}`,
    );
    const hashes = people.map((p) => services.suppressions.hash(p.email));

    const server: Server = await new Promise((resolve) => {
      const s = createApp({ ...adapters, services }).listen(0, '127.0.0.1', () => resolve(s));
    });
    const { port } = server.address() as AddressInfo;
    try {
      await drive(port, paths.slice(PEOPLE));
      const rates: number[] = [];
      const latencies: number[] = [];
      const perRound = Math.floor(PEOPLE / ROUNDS);
      const meter = cpuMeter();
      for (let r = 0; r < ROUNDS; r++) {
        const from = r * perRound;
        const round = await drive(port, paths.slice(from, from + perRound));
        rates.push(round.perSecond);
        latencies.push(...round.latencies);
        // Every 200 stood for the whole opt-out.
        const ids = people.slice(from, from + perRound).map((p) => p._id);
        const [suppressed, events, ledger, left] = await Promise.all([
          services.suppressions.suppressedHashes(hashes.slice(from, from + perRound), listId),
          db.models.UnsubscribeEvent.countDocuments({ subscriberId: { $in: ids } }),
          db.models.ConsentEvent.countDocuments({ subscriberId: { $in: ids } }),
          db.models.Membership.countDocuments({
            subscriberId: { $in: ids },
            status: { $ne: 'unsubscribed' },
          }),
        ]);
        if (suppressed.size !== perRound || events !== perRound || ledger !== perRound || left)
          throw new Error(
            `round ${r}: ${suppressed.size} suppressions, ${events} events, ${ledger} ledger ` +
              `entries, ${left} memberships left of ${perRound} opt-outs`,
          );
      }
      const used = meter();
      const n = perRound * ROUNDS;
      latencies.sort((a, b) => a - b);
      const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * n))]!;
      return {
        'unsubscribe.oneClickPerSecond': Math.round(median(rates)),
        'unsubscribe.p50Ms': Number(pct(0.5).toFixed(1)),
        'unsubscribe.p99Ms': Number(pct(0.99).toFixed(1)),
        'unsubscribe.maxMs': Number(latencies[n - 1]!.toFixed(1)),
        'unsubscribe.rounds': rates.map(Math.round).join(', '),
        // CPU per opt-out (the HTTP client included: it runs in this process) and the database's.
        'unsubscribe.cpuMsPerOptOut': `Node ${(used.node / n).toFixed(3)}; database ${(used.database / n).toFixed(3)}`,
        'unsubscribe.target': '>= 300/s and p99 <= 50 ms at 32 concurrent',
        'unsubscribe.setup': `${PEOPLE} people in ${ROUNDS} rounds, concurrency ${CONCURRENCY}, ${process.env.MONGODB_URI ? 'MONGODB_URI' : 'embedded database'}`,
      };
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  } finally {
    await db.dispose();
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// Run alone with `npx tsx bench/unsubscribe.bench.ts`; bench/run.ts imports run() instead.
if (import.meta.url === `file://${process.argv[1]}`) {
  run().then(
    (r) => console.log(r),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
