import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mongoose, { Types } from 'mongoose';
import { loadConfig } from '../src/config/config.js';
import { openDatabase } from '../src/db/connection.js';
import { createSmtpMailer } from '../src/mail/mailer.js';
import { buildServices } from '../src/services.js';
import { systemClock } from '../src/shared/clock.js';
import { createLogger } from '../src/shared/logger.js';
import { signExampleCom, testDns } from '../test/helpers/inbound.js';
import { cpuMeter } from './support.js';

const MESSAGES = Number(process.env.BENCH_INBOUND_MESSAGES ?? 2000);
// Not timed: JIT, first use of each module and regular expression, the database's own warm-up.
const WARMUP = Number(process.env.BENCH_INBOUND_WARMUP ?? 240);
// A .cpuprofile of the timed phase only (setup and warm-up left out), for `--cpu-prof` without
// the noise of seeding.
const PROFILE = process.env.BENCH_INBOUND_PROFILE;
// Messages in flight at once, as concurrent SMTP sessions: Postfix delivers to one destination
// over up to 20 connections by default (default_destination_concurrency_limit), and the listener
// takes 50 (src/inbound/smtp-listener.ts). Until 2026-11-26 the bench ran 8, which left the
// machine partly idle waiting on database round trips; BENCHMARKS.md gives both.
const CONCURRENCY = Number(process.env.BENCH_INBOUND_CONCURRENCY ?? 16);
// The everyday mix: mostly replies, auto-replies and reports, some unsubscribes by mailto and
// by (DKIM-signed) reply, which go through mailauth and the unsubscribe service.
const MIX = [
  'autoreply-outlook-en-exchange.eml',
  'autoreply-gmail-vacation-en.eml',
  'dsn-postfix-soft-delayed.eml',
  'dsn-exchange-online-hard.eml',
  'arf-yahoo-abuse.eml',
  'mailto-gmail-one-click.eml',
  'reply-gmail-en-unsubscribe.eml',
  'reply-outlook-fi-peru-tilaukseni.eml',
  'reply-gmail-quoted-footer-only.eml',
  'forwarded-campaign-gmail-fi.eml',
  'question-unknown-sender.eml',
  'reply-peruuta-tilaus-ambiguous.eml',
];
const SIGNED = new Set(['reply-gmail-en-unsubscribe.eml', 'reply-outlook-fi-peru-tilaukseni.eml']);

const optOuts = (outcomes: Map<string, number>) =>
  ['unsubscribed', 'complained', 'bounced']
    .map((o) => outcomes.get(o) ?? 0)
    .reduce((a, b) => a + b, 0);

/**
 * Classified messages per second through InboundPipeline.process (parse, dedup insert, classify,
 * act, record) on the real database; MESSAGES distinct messages over the mix above, each about
 * its own subscriber, CONCURRENCY at a time (as concurrent SMTP sessions would). A warm-up of
 * WARMUP other messages (other subscribers, same mix) runs first and is not timed, so the figure
 * is the steady state of a running service, not the cold start of one process (before
 * 2026-11-25 the bench timed 600 messages from cold, which counted JIT and module start-up).
 */
export async function run(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kirje-bench-'));
  const logger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn', 2);
  const loaded = loadConfig({
    NODE_ENV: 'test',
    BASE_URL: 'https://news.example.com',
    TOKEN_KEYS: 'bench:0123456789abcdef0123456789abcdef-bench',
    DATA_KEY: Buffer.alloc(32, 5).toString('base64'),
  });
  const config = { ...loaded, tokenKeys: loaded.tokenKeys!, dataKey: loaded.dataKey! };
  const db = await openDatabase({
    uri: process.env.MONGODB_URI || undefined,
    dataDir: dir,
    dbName: `kirje_bench_inbound_${process.pid}`,
    clock: systemClock,
    logger,
  });
  const mailer = createSmtpMailer({ url: undefined });
  try {
    const services = buildServices({
      config,
      db,
      clock: systemClock,
      logger,
      mailer,
      dnsResolver: testDns,
    });
    const list = await db.models.List.create({ name: 'Bench', slug: 'bench' });
    const campaignId = new Types.ObjectId();
    await db.connection.collection('campaigns').insertOne({ _id: campaignId, listIds: [list._id] });
    const templates = MIX.map((f) => ({
      name: f,
      text: readFileSync(path.resolve('test/fixtures/emails', f), 'utf8'),
    }));

    const subs = await db.models.Subscriber.insertMany(
      Array.from({ length: WARMUP + MESSAGES }, (_, i) => ({
        email: `bench${i}@example.com`,
        source: 'bench',
        status: 'subscribed',
      })),
    );
    await db.models.Membership.insertMany(
      subs.map((sub) => ({ subscriberId: sub._id, listId: list._id, status: 'subscribed' })),
    );
    const messages: Buffer[] = [];
    const cid = String(campaignId);
    for (const [i, sub] of subs.entries()) {
      const sid = String(sub._id);
      const tpl = templates[i % templates.length]!;
      const text = tpl.text
        .replace(/^(Message-ID: <)/im, `$1b${i}-`)
        .replaceAll('{{SUBSCRIBER_EMAIL}}', sub.email)
        .replaceAll('{{MESSAGE_ID}}', `${cid}.${sid}@news.example.com`)
        .replaceAll('{{UNSUB_TOKEN}}', services.tokens.signAddress('unsubscribe', sid, cid))
        .replaceAll('{{BOUNCE_TOKEN}}', services.tokens.signAddress('bounce', sid, cid))
        .replaceAll('{{INBOUND_DOMAIN}}', 'news.example.com');
      const raw = Buffer.from(text.replace(/\r?\n/g, '\r\n'));
      messages.push(SIGNED.has(tpl.name) ? await signExampleCom(raw) : raw);
    }

    const outcomes = new Map<string, number>();
    const pump = async (batch: Buffer[]) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < batch.length) {
            const raw = batch[next++]!;
            const res = await services.inbound.process(raw, {
              via: 'smtp',
              mailFrom: '',
              remoteIp: '127.0.0.1',
            });
            outcomes.set(res.outcome ?? '?', (outcomes.get(res.outcome ?? '?') ?? 0) + 1);
          }
        }),
      );
    };
    await pump(messages.slice(0, WARMUP));
    const warmOptOuts = optOuts(outcomes);
    outcomes.clear();

    // Database operations issued through mongoose (every model and `connection.collection`
    // call; not the driver-level campaign lookup), by collection: round trips per message.
    const ops = new Map<string, number>();
    mongoose.set('debug', (collection: string, method: string) => {
      const key = `${collection}.${method}`;
      ops.set(key, (ops.get(key) ?? 0) + 1);
    });
    const profiler = PROFILE ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const cpu = cpuMeter();
    const started = process.hrtime.bigint();
    await pump(messages.slice(WARMUP));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = cpu();
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(PROFILE!, JSON.stringify(profile));
      profiler.disconnect();
    }
    mongoose.set('debug', false);
    const optedOut = warmOptOuts + optOuts(outcomes);
    const completed = await db.models.UnsubscribeEvent.countDocuments({});
    if (completed !== optedOut) {
      throw new Error(`${completed} unsubscribe events for ${optedOut} opt-outs`);
    }
    const perMessage = (n: number) => Math.round((n / MESSAGES) * 100) / 100;
    return {
      messages: MESSAGES,
      warmup: WARMUP,
      concurrency: CONCURRENCY,
      seconds: Math.round(seconds * 100) / 100,
      // Every message classified and recorded, and every opt-out complete (event, memberships).
      messagesPerSecond: Math.round(MESSAGES / seconds),
      // This process's CPU (parse, authenticate, classify, driver); the database is elsewhere.
      nodeCpuMsPerMessage: perMessage(used.node),
      // The embedded database's CPU (a process of its own); both share the machine's cores.
      dbCpuMsPerMessage: perMessage(used.database),
      dbOpsPerMessage: perMessage([...ops.values()].reduce((a, b) => a + b, 0)),
      dbOps: [...ops]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}:${perMessage(v)}`)
        .join(' '),
      outcomes: [...outcomes].map(([k, v]) => `${k}:${v}`).join(' '),
    };
  } finally {
    mailer.close();
    await db.connection.dropDatabase();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
