import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express, { type Express } from 'express';
import { Types } from 'mongoose';
import { loadConfig } from '../src/config/config.js';
import { connect } from '../src/db/connection.js';
import { startEmbedded } from '../src/db/embedded.js';
import { createApp } from '../src/http/app.js';
import { createSmtpMailer } from '../src/mail/mailer.js';
import { buildServices } from '../src/services.js';
import { systemClock } from '../src/shared/clock.js';
import { createLogger } from '../src/shared/logger.js';
import { cpuMeter } from './support.js';

/**
 * RFC 8058 one-click POSTs per second, each for a different person so every one writes a durable
 * opt-out before its 200 (its suppression, and a page of the outbox shared with the requests
 * written together), beside the floor: a bare Express route that only verifies the same token.
 * Both run in the same process, same run, same concurrency, over loopback keep-alive HTTP, in
 * alternating rounds after a warm-up of each; medians of the rounds are reported. The background
 * step that completes the opt-outs runs during the one-click rounds, as in the service; after each
 * round the bench checks that every opt-out answered had its suppression, then waits until the
 * step has completed them all (membership, ledger, event), so that the next floor round runs on a
 * quiet machine and the step's work is counted for one-click: as CPU per request and as a second
 * rate, "complete", up to the last completion. Rounds of 2,000: shorter ones (500 before
 * 2026-11-26) ended before the step had done much, which left its work to the floor's rounds and
 * flattered the ratio.
 */
const PEOPLE = Number(process.env.BENCH_UNSUBSCRIBE_PEOPLE ?? 6000);
const ROUNDS = Number(process.env.BENCH_UNSUBSCRIBE_ROUNDS ?? 3);
const FLOOR_REQUESTS = Number(process.env.BENCH_UNSUBSCRIBE_FLOOR ?? 3000);
const WARM_UP = 200;
const CONCURRENCY = Number(process.env.BENCH_UNSUBSCRIBE_CONCURRENCY ?? 8);
const BODY = 'List-Unsubscribe=One-Click';
// A .cpuprofile of the one-click rounds only (not setup, warm-up or the bare route's rounds).
const PROFILE = process.env.BENCH_UNSUBSCRIBE_PROFILE;

async function listen(app: Express): Promise<{ server: Server; port: number }> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Sends every path once with CONCURRENCY requests in flight; requests per second, or throws. */
async function drive(port: number, paths: string[]): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
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
        const status = await post(paths[next++]!);
        if (status !== 200) throw new Error(`unexpected status ${status}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return paths.length / seconds;
}

export async function run(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kirje-bench-unsub-'));
  const logger = createLogger('silent');
  const embedded = process.env.MONGODB_URI ? undefined : await startEmbedded(dir, logger);
  const uri = process.env.MONGODB_URI ?? embedded!.uri;
  const db = await connect(uri, `kirje_bench_${randomBytes(4).toString('hex')}`, {
    clock: systemClock,
    logger,
  });
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
    const adapters = { config, db, clock: systemClock, logger, mailer };
    const services = buildServices(adapters);

    // People on a list, a campaign to that list, one campaign link each as MailComposer signs it
    // for a list campaign (subscriber, campaign, list).
    const list = await db.models.List.create({ name: 'Bench', slug: 'bench' });
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
    const tokens = people.map((p) =>
      services.tokens.sign('unsubscribe', {
        subscriberId: String(p._id),
        campaignId: String(campaignId),
        listId: String(list._id),
      }),
    );

    const bare = express();
    bare.post('/u/:token', express.text({ type: () => true, limit: '16kb' }), (req, res) => {
      services.tokens.verify('unsubscribe', String(req.params.token));
      res.status(200).type('text').send('ok');
    });
    const floorServer = await listen(bare);
    const appServer = await listen(createApp({ ...adapters, services }));
    const followUps = services.unsubscribeFollowUps;
    followUps.start();
    try {
      const paths = tokens.map((t) => `/u/${t}`);
      const floorPaths = (n: number) => Array.from({ length: n }, (_, i) => paths[i % PEOPLE]!);
      await drive(floorServer.port, floorPaths(WARM_UP));
      await drive(appServer.port, paths.slice(PEOPLE));
      const floors: number[] = [];
      const oneClicks: number[] = [];
      const completes: number[] = [];
      const tails: number[] = [];
      const perRound = Math.floor(PEOPLE / ROUNDS);
      const cpu = { floor: { node: 0, database: 0 }, oneClick: { node: 0, database: 0 } };
      const add = (to: { node: number; database: number }, used: typeof to) => {
        to.node += used.node;
        to.database += used.database;
      };
      const profiler = PROFILE ? new Session() : undefined;
      if (profiler) {
        profiler.connect();
        await profiler.post('Profiler.enable');
      }
      const hashes = people.map((p) => services.suppressions.hash(p.email));
      for (let r = 0; r < ROUNDS; r++) {
        // The floor on a quiet machine: the previous round's opt-outs are all complete.
        let meter = cpuMeter();
        floors.push(await drive(floorServer.port, floorPaths(FLOOR_REQUESTS)));
        add(cpu.floor, meter());
        meter = cpuMeter();
        if (profiler) await profiler.post('Profiler.start');
        const round = { from: r * perRound, to: (r + 1) * perRound };
        const rate = await drive(appServer.port, paths.slice(round.from, round.to));
        oneClicks.push(rate);
        if (profiler) {
          const { profile } = await profiler.post('Profiler.stop');
          writeFileSync(`${PROFILE}.${r}.cpuprofile`, JSON.stringify(profile));
        }
        // Every opt-out answered had its suppression durable before the 200.
        const mine = hashes.slice(round.from, round.to);
        const suppressed = await services.suppressions.suppressedHashes(mine, String(list._id));
        if (suppressed.size !== perRound) {
          throw new Error(`only ${suppressed.size} of ${perRound} suppressions were durable`);
        }
        // Then until the background step has completed them all; its work counts for one-click.
        const tailStarted = performance.now();
        await followUps.stop();
        await followUps.drain();
        const tail = (performance.now() - tailStarted) / 1000;
        add(cpu.oneClick, meter());
        followUps.start();
        tails.push(tail);
        completes.push(perRound / (perRound / rate + tail));
      }
      const n = perRound * ROUNDS;
      await followUps.stop();
      await followUps.drain();
      const events = await db.models.UnsubscribeEvent.countDocuments();
      const left = await db.models.Membership.countDocuments({ status: { $ne: 'unsubscribed' } });
      const written = (
        await services.suppressions.suppressedHashes(hashes.slice(0, n), String(list._id))
      ).size;
      if (events !== people.length || left !== 0 || written !== n) {
        throw new Error(
          `follow-ups incomplete: ${events} events, ${left} memberships left, ${written} suppressions`,
        );
      }
      const oneClick = median(oneClicks);
      const complete = median(completes);
      const floor = median(floors);
      return {
        // Answered, each opt-out durable (in the outbox) before its 200.
        'unsubscribe.oneClickPerSecond': Math.round(oneClick),
        'unsubscribe.bareVerifyPerSecond': Math.round(floor),
        'unsubscribe.ratio': Number((oneClick / floor).toFixed(4)),
        // Until the background step had also completed every opt-out of the round.
        'unsubscribe.oneClickCompletePerSecond': Math.round(complete),
        'unsubscribe.ratioComplete': Number((complete / floor).toFixed(4)),
        'unsubscribe.rounds': `one-click ${oneClicks.map(Math.round).join(', ')}; complete ${completes.map(Math.round).join(', ')}; bare ${floors.map(Math.round).join(', ')}`,
        'unsubscribe.completionTailSeconds': tails.map((t) => t.toFixed(2)).join(', '),
        // CPU per request (the HTTP client included: it runs in this process), Kirje's process and
        // the embedded FerretDB's; one-click's includes the background step's work for it.
        'unsubscribe.cpuMsPerRequest': [
          `one-click: Node ${perRequest(cpu.oneClick.node, n)}`,
          `FerretDB ${perRequest(cpu.oneClick.database, n)}`,
          `bare: Node ${perRequest(cpu.floor.node, FLOOR_REQUESTS * ROUNDS)}`,
          `FerretDB ${perRequest(cpu.floor.database, FLOOR_REQUESTS * ROUNDS)}`,
        ].join('; '),
        'unsubscribe.target': '>= 0.5 of the bare verify route',
        'unsubscribe.setup': `${PEOPLE} people in ${ROUNDS} rounds, concurrency ${CONCURRENCY}, ${embedded ? 'embedded FerretDB (SQLite)' : 'MONGODB_URI'}`,
      };
    } finally {
      await followUps.stop();
      await new Promise((resolve) => floorServer.server.close(resolve));
      await new Promise((resolve) => appServer.server.close(resolve));
    }
  } finally {
    await db.connection.dropDatabase();
    await db.close();
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const perRequest = (ms: number, n: number) => (ms / n).toFixed(3);

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
