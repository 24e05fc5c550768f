import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Types } from 'mongoose';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { loadConfig } from '../src/config/config.js';
import type { Database } from '../src/db/connection.js';
import { membershipId } from '../src/db/models/membership.js';
import { createSmtpMailer } from '../src/mail/mailer.js';
import { connectNoDelay } from '../src/mail/smtp-pool.js';
import { createThreadedMailer } from '../src/mail/threaded-mailer.js';
import { buildServices } from '../src/services.js';
import { systemClock } from '../src/shared/clock.js';
import { createLogger } from '../src/shared/logger.js';
import { startSinkProcess, type SinkProcess } from './sink-process.js';
import { benchDatabase, cpuMeter, mib, withPeakRss } from './support.js';

/**
 * Campaign sending: RECIPIENTS personalised mails through the real path (audience snapshot, the
 * send worker's claims and outcome records, per-mail rendering, pooled nodemailer), without and
 * with DKIM, to a local smtp-server sink; beside it the floor, nodemailer's pooled transport
 * sending as many prebuilt raw messages of the same size to the same sink in the same run.
 * The sink runs in a process of its own, as a relay would; it, the embedded FerretDB and this
 * process share the machine's two cores.
 */
const RECIPIENTS = Number(process.env.BENCH_SEND_RECIPIENTS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_SEND_CONCURRENCY ?? 8);
const BATCH_SIZE = Number(process.env.BENCH_SEND_BATCH_SIZE ?? 500);
const HISTORY = Number(process.env.BENCH_SEND_HISTORY ?? 50);

const MJML = `<mj-section><mj-column>
  <mj-text><h1>Hei {{subscriber.name}}!</h1>
    <p>Kevään kampanja alkaa nyt{{#if subscriber.attributes.city}} myös myymälässämme ({{subscriber.attributes.city}}){{/if}}.</p>
    <p>Katso uutuudet ja toimitusajat verkkokaupasta. Tarjous on voimassa kuun loppuun.</p></mj-text>
  <mj-button href="https://shop.example.com/spring?utm_campaign=spring">Katso tuotteet</mj-button>
  <mj-text><p>Etkö halua näitä viestejä? <a href="{{unsubscribeUrl}}">Peru tilaus</a>.</p></mj-text>
</mj-column></mj-section>`;

async function seed(db: Database): Promise<string> {
  const list = await db.models.List.create({ name: 'Bench', slug: 'bench', doubleOptIn: false });
  const people = Array.from({ length: RECIPIENTS }, (_, i) => ({
    _id: new Types.ObjectId(),
    email: `bench${i}@example.com`,
    name: `Asiakas ${i}`,
    locale: i % 3 ? 'fi' : 'en',
    attributes: { city: `Kaupunki ${i % 50}` },
    source: 'bench',
    status: 'subscribed',
  }));
  for (let i = 0; i < people.length; i += 1000) {
    const page = people.slice(i, i + 1000);
    await db.models.Subscriber.insertMany(page, { lean: true });
    await db.models.Membership.insertMany(
      // `lean` skips the model's hooks, so the pair key is written here as the model would.
      page.map((p) => ({
        _id: membershipId(p._id, list._id),
        subscriberId: p._id,
        listId: list._id,
        status: 'subscribed',
      })),
      { lean: true },
    );
  }
  return String(list._id);
}

async function assertDelivered(sink: SinkProcess, what: string): Promise<void> {
  const delivered = await sink.delivered();
  const unique = new Set(delivered).size;
  if (delivered.length !== RECIPIENTS || unique !== RECIPIENTS) {
    throw new Error(`${what}: ${delivered.length} delivered, ${unique} distinct`);
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const db = await benchDatabase();
  const sink = await startSinkProcess();
  const logger = createLogger('silent');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dkimKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const actor = { actor: { type: 'system' as const, name: 'bench' } };
  try {
    const listId = await seed(db);
    let sampleRaw: Buffer | undefined;

    const servicesFor = (dkim: boolean) => {
      const loaded = loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        BASE_URL: 'https://news.example.com',
        SMTP_URL: sink.url,
        MAIL_FROM: 'Kauppa <news@example.com>',
        TOKEN_KEYS: `b1:${randomBytes(32).toString('base64url')}`,
        DATA_KEY: randomBytes(32).toString('base64'),
        SEND_CONCURRENCY: String(CONCURRENCY),
        SEND_BATCH_SIZE: String(BATCH_SIZE),
        SEND_RATE_PER_SECOND: '100000',
        ...(dkim
          ? { DKIM_DOMAIN: 'example.com', DKIM_SELECTOR: 'k1', DKIM_PRIVATE_KEY: dkimKey }
          : {}),
      });
      const config = { ...loaded, tokenKeys: loaded.tokenKeys!, dataKey: loaded.dataKey! };
      const mailer = createThreadedMailer({
        url: sink.url,
        dkim: config.dkim,
        maxConnections: CONCURRENCY,
      });
      const services = buildServices({ config, db, clock: systemClock, logger, mailer });
      return { services, mailer, windowSize: config.send.windowSize };
    };
    const createCampaign = (services: ReturnType<typeof servicesFor>['services']) =>
      services.campaigns.create(
        {
          name: 'Bench',
          subject: '{{subscriber.name}}, kevään uutuudet',
          mjml: MJML,
          lists: [listId],
        },
        actor,
      );

    const campaignRun = async (dkim: boolean) => {
      const { services, mailer } = servicesFor(dkim);
      const campaign = await createCampaign(services);
      // One mail exactly as the worker builds it (headers, tokens, personalisation), unsigned.
      sampleRaw ??= await rawOf(
        services.composer.compose(
          { id: campaign.id, subject: campaign.subject, fromEmail: campaign.fromEmail },
          services.campaignRenderer.compile({ subject: campaign.subject, mjml: MJML }),
          {
            subscriberId: new Types.ObjectId().toHexString(),
            email: 'bench1@example.com',
            name: 'Asiakas 1',
            locale: 'fi',
            attributes: { city: 'Kaupunki 1' },
          },
          { id: listId, slug: 'bench', name: 'Bench' },
        ),
      );
      // The mail thread loads its modules and opens a connection before the meter starts, as a
      // running service's has long done.
      await mailer.send({
        envelope: { from: 'bench@example.com', to: 'warm-up@example.com' },
        raw: 'Subject: warm-up\r\n\r\nwarm-up\r\n',
      });
      await sink.reset();
      const {
        result: { seconds, cpu },
        peakRss,
        baseRss,
      } = await withPeakRss(async () => {
        const started = performance.now();
        const cpu = cpuMeter();
        await services.campaigns.send(campaign.id);
        const worker = services.sendWorker;
        // The status alone, by `_id`: the stats of campaigns.get() read every recipient entry.
        const status = async () => (await db.models.Campaign.findById(campaign.id).lean())?.status;
        while ((await status()) !== 'finished') {
          if (!(await worker.tick())) await new Promise((r) => setTimeout(r, 5));
        }
        return { seconds: (performance.now() - started) / 1000, cpu: cpu() };
      });
      mailer.close();
      await assertDelivered(sink, dkim ? 'campaign with DKIM' : 'campaign');
      return {
        perSecond: RECIPIENTS / seconds,
        peakRss,
        baseRss,
        nodeCpuMs: cpu.node / RECIPIENTS,
        databaseCpuMs: cpu.database / RECIPIENTS,
      };
    };

    const plain = await campaignRun(false);
    const signed = await campaignRun(true);

    // The floor (issue 16): nodemailer's pooled transport sending prebuilt raw messages, nothing
    // else. Beside it the same messages through Kirje's pool of nodemailer SMTP connections.
    const raws = Array.from({ length: RECIPIENTS }, (_, i) =>
      Buffer.concat([Buffer.from(`X-Bench: ${i}\r\n`), sampleRaw!]),
    );
    const pooledTransport = nodemailerPool(sink.url);
    const floorRun = await rawRun(sink, raws, (message) => pooledTransport.sendMail(message));
    pooledTransport.close();
    const floor = RECIPIENTS / floorRun.result.seconds;
    const kirjePool = createSmtpMailer({ url: sink.url, maxConnections: CONCURRENCY });
    const poolRun = await rawRun(sink, raws, (message) => kirjePool.send(message));
    kirjePool.close();

    // History: finished campaigns' records seeded in bulk, then a new campaign's first mail and
    // the deletion of one old campaign, each timed.
    const history = await (async () => {
      const { services, mailer, windowSize } = servicesFor(false);
      const old = await seedHistory(db, listId, windowSize);
      const campaign = await createCampaign(services);
      await sink.reset();
      const started = performance.now();
      await services.campaigns.send(campaign.id);
      const worker = services.sendWorker;
      let firstMailSeconds = 0;
      const ticking = (async () => {
        while (!firstMailSeconds) await worker.tick();
      })();
      while (!firstMailSeconds) {
        if ((await sink.delivered()).length > 0) {
          firstMailSeconds = (performance.now() - started) / 1000;
        } else await new Promise((r) => setTimeout(r, 10));
      }
      await ticking;
      await services.campaigns.cancel(campaign.id);
      const deleting = performance.now();
      await services.campaigns.remove(old);
      const deleteSeconds = (performance.now() - deleting) / 1000;
      mailer.close();
      return { firstMailSeconds, deleteSeconds };
    })();

    return {
      'send.history.firstMailSeconds': Number(history.firstMailSeconds.toFixed(2)),
      'send.history.deleteCampaignSeconds': Number(history.deleteSeconds.toFixed(2)),
      'send.history.setup': `${HISTORY} finished campaigns of ${RECIPIENTS} recipients in the database (records seeded in bulk); /send to the first mail at the sink, and deleting one old campaign`,
      'send.mailsPerSecond': Math.round(plain.perSecond),
      'send.peakRssMiB': mib(plain.peakRss),
      'send.cpuMsPerMail': `Kirje ${plain.nodeCpuMs.toFixed(2)}, FerretDB ${plain.databaseCpuMs.toFixed(2)}`,
      'send.dkim.mailsPerSecond': Math.round(signed.perSecond),
      'send.dkim.peakRssMiB': mib(signed.peakRss),
      'send.dkim.cpuMsPerMail': `Kirje ${signed.nodeCpuMs.toFixed(2)}, FerretDB ${signed.databaseCpuMs.toFixed(2)}`,
      'send.floor.rawMailsPerSecond': Math.round(floor),
      'send.floor.peakRssMiB': mib(floorRun.peakRss),
      // What nodemailer's pooled transport alone costs per mail (loopback TCP included).
      'send.floor.cpuMsPerMail': (floorRun.result.cpu.node / RECIPIENTS).toFixed(2),
      'send.kirjePool.rawMailsPerSecond': Math.round(RECIPIENTS / poolRun.result.seconds),
      'send.kirjePool.cpuMsPerMail': (poolRun.result.cpu.node / RECIPIENTS).toFixed(2),
      'send.ratioToFloor': Number((plain.perSecond / floor).toFixed(3)),
      'send.dkim.ratioToFloor': Number((signed.perSecond / floor).toFixed(3)),
      'send.target':
        'issue 16: CPU (Kirje + FerretDB) <= 0.4 ms per mail without DKIM, rate >= 0.5 x floor; first mail <= 2 s and deleting a campaign < 5 s after 50 campaigns of 10,000',
      'send.setup': `${RECIPIENTS} recipients from /send to finished (snapshot included), concurrency ${CONCURRENCY}, batches of ${BATCH_SIZE}, raw message ${sampleRaw!.length} bytes, sink and ${process.env.MONGODB_URI ? 'MONGODB_URI' : 'embedded FerretDB (SQLite)'} on the same machine`,
    };
  } finally {
    await sink.stop();
    await db.dispose();
  }
}

/**
 * HISTORY finished campaigns of RECIPIENTS each, written straight into the collections as the
 * send worker leaves them (batches, entry lists, window records and outcomes, all sent). Returns
 * the id of one of them, to delete.
 */
async function seedHistory(db: Database, listId: string, windowSize: number): Promise<string> {
  const people = (
    await db.models.Membership.find({ listId: new Types.ObjectId(listId) }, { subscriberId: 1 })
      .limit(RECIPIENTS)
      .lean()
  ).map((m) => m.subscriberId);
  const c = (name: string) => db.connection.collection(name);
  const now = new Date();
  let oldest = '';
  for (let n = 0; n < HISTORY; n++) {
    const campaignId = new Types.ObjectId();
    oldest ||= String(campaignId);
    await c('campaigns').insertOne({
      _id: campaignId,
      name: `History ${n}`,
      subject: 'Old news',
      mjml: MJML,
      listIds: [new Types.ObjectId(listId)],
      fromEmail: 'news@example.com',
      status: 'finished',
      snapshot: 'done',
      recipientCount: people.length,
      startedAt: now,
      finishedAt: now,
      recordsKeptUntil: new Date(now.getTime() + 30 * 86_400_000),
      stateVersion: 3,
      createdAt: now,
      updatedAt: now,
    });
    const batches = [];
    const entryLists = [];
    const windows = [];
    const outcomes = [];
    for (let b = 0; b * BATCH_SIZE < people.length; b++) {
      const batchId = new Types.ObjectId();
      const members = people.slice(b * BATCH_SIZE, (b + 1) * BATCH_SIZE);
      batches.push({
        _id: batchId,
        campaignId,
        batchNo: b,
        open: false,
        availableAt: now,
        leaseOwner: '',
        leaseExpiresAt: new Date(0),
        leaseGen: 1,
        windowSize,
        requeued: 0,
      });
      entryLists.push({
        _id: batchId,
        campaignId,
        entries: members.map((subscriberId) => ({
          subscriberId,
          listId: new Types.ObjectId(listId),
        })),
      });
      for (let cell = 0; cell * windowSize < members.length; cell++) {
        const sent = Array.from(
          { length: Math.min(windowSize, members.length - cell * windowSize) },
          (_, k) => cell * windowSize + k,
        );
        const ref = { _id: `${String(batchId)}:1:${cell}`, campaignId, batchId, attempt: 1, cell };
        windows.push({ ...ref, entryIndexes: sent, owner: 'history', openedAt: now });
        outcomes.push({
          ...ref,
          sent,
          failed: [],
          retry: [],
          skipped: [],
          unknown: [],
          counts: { sent: sent.length, failed: 0, retry: 0, skipped: 0, unknown: 0 },
          recordedAt: now,
        });
      }
    }
    await c('campaign_batches').insertMany(batches);
    await c('campaign_batch_entries').insertMany(entryLists);
    await c('campaign_windows').insertMany(windows as never[]);
    await c('campaign_window_outcomes').insertMany(outcomes as never[]);
  }
  return oldest;
}

/** Sends prebuilt raw messages CONCURRENCY at a time, timed and metered, and checks delivery. */
async function rawRun(
  sink: SinkProcess,
  raws: Buffer[],
  send: (message: SendMailOptions) => Promise<unknown>,
) {
  await send({ envelope: { from: 'bench@example.com', to: 'warm-up@example.com' }, raw: raws[0]! });
  await sink.reset();
  const run = await withPeakRss(async () => {
    const started = performance.now();
    const cpu = cpuMeter();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < raws.length) {
          const i = next++;
          await send({
            envelope: { from: 'bounces@example.com', to: `bench${i}@example.com` },
            raw: raws[i]!,
          });
        }
      }),
    );
    return { seconds: (performance.now() - started) / 1000, cpu: cpu() };
  });
  await assertDelivered(sink, 'raw messages');
  return run;
}

/** nodemailer's own pooled SMTP transport, with Nagle's algorithm off as Kirje's pool has it. */
function nodemailerPool(url: string) {
  const relay = new URL(url);
  return nodemailer.createTransport({
    host: relay.hostname,
    port: Number(relay.port),
    pool: true,
    maxConnections: CONCURRENCY,
    maxMessages: Infinity,
    getSocket: (
      _options: unknown,
      callback: (err: Error | null, socket?: { connection: Socket }) => void,
    ) => {
      connectNoDelay(relay.hostname, Number(relay.port)).then(
        (connection) => callback(null, { connection }),
        (err: Error) => callback(err),
      );
    },
  } as SMTPPool.Options);
}

/** A campaign mail as the wire carries it, for the floor's prebuilt messages. */
async function rawOf(mail: SendMailOptions): Promise<Buffer> {
  const stream = nodemailer.createTransport({ streamTransport: true, buffer: true });
  return (await stream.sendMail(mail)).message as Buffer;
}

// Run alone with `npx tsx bench/send.bench.ts`; bench/run.ts imports run() instead.
if (import.meta.url === `file://${process.argv[1]}`) {
  run().then(
    (r) => console.log(r),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
