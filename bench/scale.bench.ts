import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { connect } from '../src/db/connection.js';
import { startEmbedded, type EmbeddedDatabase } from '../src/db/embedded.js';
import { startService, type RunningService } from '../src/server.js';
import { systemClock } from '../src/shared/clock.js';
import { encodeCursor } from '../src/shared/cursor.js';
import { createLogger } from '../src/shared/logger.js';
import { staffToken } from '../test/helpers/factories.js';
import {
  emailOf,
  indexOf,
  order,
  person,
  seed,
  SPAN_DAYS,
  unit,
  type OrderFact,
  type Population,
} from './scale-seed.js';
import { startSinkProcess, type SinkProcess } from './sink-process.js';
import { mib, withPeakRss } from './support.js';

/**
 * Issue 22's figures at the size of a real shop: SUBSCRIBERS people (two lists, varied locale,
 * status, tier and join date over two years) with ORDERS order facts, seeded straight through the
 * models (bench/scale-seed.ts), then every operation a person waits for, through HTTP on the real
 * service (src/server.ts: the composition root, with its send worker, and an SMTP sink in a
 * process of its own) with a staff API token. Each figure is the median of REPS runs, in ms unless
 * named otherwise; every answer's status is checked and every count is compared with the count
 * made here from how the register was generated. Nothing here holds the population in memory, so
 * a million people run unchanged. The service runs in this process, so "node RSS" is the
 * service's (the bench's own reading of the export streams and keeps nothing).
 *
 *   BENCH_SCALE_SUBSCRIBERS=100000 BENCH_SCALE_ORDERS=20000 BENCH_SCALE_REPS=5 npm run bench -- scale
 *
 * MONGODB_URI runs it against that server (in a database of its own, dropped at the end).
 */
const SUBSCRIBERS = Number(process.env.BENCH_SCALE_SUBSCRIBERS ?? 100_000);
const ORDERS = Number(process.env.BENCH_SCALE_ORDERS ?? 20_000);
const REPS = Number(process.env.BENCH_SCALE_REPS ?? 5);
/** Single orders posted one after another, to show the cost does not grow with the count. */
const ORDER_SERIES = 50;
const SERIES_ENDS = 10;
/** How long a campaign may take to its first mail before the bench gives up. */
const FIRST_MAIL_TIMEOUT_MS = 30 * 60_000;
const DAY = 86_400_000;

const MJML = `<mj-section><mj-column>
  <mj-text><h1>Hei {{subscriber.name}}!</h1>
    <p>Kultajäsenten ennakkomyynti alkaa nyt. Katso uutuudet verkkokaupasta.</p></mj-text>
  <mj-button href="https://shop.example.com/gold">Katso tuotteet</mj-button>
  <mj-text><p>Etkö halua näitä viestejä? <a href="{{unsubscribeUrl}}">Peru tilaus</a>.</p></mj-text>
</mj-column></mj-section>`;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (ms: number) => Math.round(ms * 10) / 10;

interface Answer {
  status: number;
  text: string;
  ms: number;
}

/**
 * The service over real HTTP (node:http, keep-alive); any status other than `expect` throws with
 * the body. Not fetch: its five-minute header timeout would end a slow answer at a million people
 * before the bench could report how slow it is.
 */
class Client {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });

  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  /** The response, once its headers arrived; the body is left to `onData`. */
  private send(
    method: string,
    url: string,
    opts: { body?: unknown; auth?: boolean },
    onData: (chunk: Buffer) => void,
  ): Promise<number> {
    const payload = opts.body !== undefined ? JSON.stringify(opts.body) : undefined;
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(url, this.base),
        {
          method,
          agent: this.agent,
          headers: {
            ...(opts.auth === false ? {} : { authorization: `Bearer ${this.token}` }),
            ...(payload !== undefined
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          res.on('data', onData);
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  async call(
    method: string,
    url: string,
    opts: { body?: unknown; expect?: number; auth?: boolean } = {},
  ): Promise<Answer> {
    const started = performance.now();
    const chunks: Buffer[] = [];
    const status = await this.send(method, url, opts, (c) => chunks.push(c));
    const ms = performance.now() - started;
    const text = Buffer.concat(chunks).toString('utf8');
    const expect = opts.expect ?? 200;
    if (status !== expect)
      throw new Error(`${method} ${url}: ${status} (expected ${expect}): ${text.slice(0, 2000)}`);
    return { status, text, ms };
  }

  async json<T>(method: string, url: string, opts: Parameters<Client['call']>[2] = {}) {
    const answer = await this.call(method, url, opts);
    return { ...answer, body: JSON.parse(answer.text) as T };
  }

  /** A GET whose body is counted (lines, bytes) as it streams, never kept. */
  async stream(url: string): Promise<{ lines: number; bytes: number }> {
    let lines = 0;
    let bytes = 0;
    let head = '';
    const status = await this.send('GET', url, {}, (chunk) => {
      bytes += chunk.length;
      if (head.length < 2000) head += chunk.toString('utf8', 0, 2000);
      for (let k = chunk.indexOf(10); k !== -1; k = chunk.indexOf(10, k + 1)) lines += 1;
    });
    if (status !== 200) throw new Error(`GET ${url}: ${status} (expected 200): ${head}`);
    return { lines, bytes };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** `uri` naming database `name` instead of its own (or none). */
const withDatabase = (uri: string, name: string) =>
  uri.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?/, `$1/${name}`);

/** Times `fn` REPS times in a row (rep = 0, 1, …); the ms of each run. */
async function repeat(fn: (rep: number) => Promise<number>, reps = REPS): Promise<number[]> {
  const out: number[] = [];
  for (let rep = 0; rep < reps; rep++) out.push(await fn(rep));
  return out;
}

export async function run(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kirje-bench-scale-'));
  const logger = createLogger('warn', 2);
  const dbName = `kirje_scale_${process.pid}`;
  let embedded: EmbeddedDatabase | undefined;
  let serverUri = process.env.MONGODB_URI;
  if (!serverUri) serverUri = (embedded = await startEmbedded(dir, logger)).uri;
  const uri = withDatabase(serverUri, dbName);
  const db = await connect(uri, dbName, { clock: systemClock, logger });
  let sink: SinkProcess | undefined;
  let service: RunningService | undefined;
  let closeClient = () => {};
  try {
    const pop: Population = { subscribers: SUBSCRIBERS, orders: ORDERS, now: Date.now() };
    const {
      result: seeded,
      peakRss: seedPeakRss,
      baseRss: seedBaseRss,
    } = await withPeakRss(() => seed(db.models, pop, (line) => console.log(line)));
    console.log(`seeded in ${seeded.seconds.toFixed(1)} s`);
    const expected = expectedCounts(pop);

    sink = await startSinkProcess();
    service = await startService({
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      PORT: '0',
      BASE_URL: 'https://news.example.com',
      MONGODB_URI: uri,
      DATA_DIR: dir,
      SMTP_URL: sink.url,
      MAIL_FROM: 'Kauppa <news@example.com>',
      ORG_NAME: 'Testikauppa Oy',
      ORG_ADDRESS: 'Testikatu 1, 00100 Helsinki',
      TOKEN_KEYS: `s1:${randomBytes(32).toString('base64url')}`,
      DATA_KEY: randomBytes(32).toString('base64'),
      // No inbound listener (its default port may be taken) and no retention run, which would
      // remove the seeded contacts that have no recent activity while the bench measures.
      INBOUND_SMTP_PORT: '',
      RETENTION_INTERVAL: 'off',
    });
    const { token } = await staffToken(service.services, 'admin');
    const api = new Client(service.url, token);
    closeClient = () => api.close();
    const pick = (rep: number, salt: number, wanted?: (i: number) => boolean) => {
      for (let k = 0; ; k++) {
        const i = Math.floor(unit(rep * 1000 + k, salt) * SUBSCRIBERS);
        if (!wanted || wanted(i)) return i;
      }
    };
    const result: Record<string, number | string> = {
      subscribers: SUBSCRIBERS,
      orders: ORDERS,
      memberships: seeded.memberships,
      'seeding (s)': round(seeded.seconds),
      '  … node RSS growth while seeding (MiB; flat in the size)': mib(seedPeakRss - seedBaseRss),
      repetitions: REPS,
    };
    const record = (key: string, runs: number[]) => (result[key] = round(median(runs)));

    await api.call('GET', '/healthz', { auth: false });
    record(
      'GET /healthz (ms)',
      await repeat(async () => (await api.call('GET', '/healthz', { auth: false })).ms),
    );

    // The page a recipient opens from a mail: a different subscribed person each time.
    record(
      'GET /u/:token unsubscribe page (ms; target ≤ 100)',
      await repeat(async (rep) => {
        const p = person(
          pick(rep, 20, (i) => person(i, pop).status === 'subscribed'),
          pop,
        );
        const link = service!.services.tokens.sign('unsubscribe', {
          subscriberId: p._id.toHexString(),
        });
        const page = await api.call('GET', `/u/${link}`, { auth: false });
        if (!page.text.includes('Uutiskirje'))
          throw new Error(`the unsubscribe page of ${p.email} does not name the list`);
        return page.ms;
      }),
    );

    type Page = { items: Array<{ id: string; email: string }>; nextCursor: string | null };
    record(
      'GET /api/v1/subscribers first page of 50 (ms; target ≤ 200)',
      await repeat(async () => {
        const page = await api.json<Page>('GET', '/api/v1/subscribers?limit=50');
        if (page.body.items[0]?.id !== person(0, pop)._id.toHexString())
          throw new Error(`first page starts with ${page.body.items[0]?.id}`);
        return page.ms;
      }),
    );
    const followed: number[] = [];
    record(
      'GET /api/v1/subscribers deep page by cursor, mid-register (ms; target ≤ 200)',
      await repeat(async (rep) => {
        const mid = Math.floor(SUBSCRIBERS / 2) + rep * Math.floor(SUBSCRIBERS / 1000);
        const cursor = encodeCursor(person(mid, pop)._id.toHexString());
        const page = await api.json<Page>('GET', `/api/v1/subscribers?limit=50&cursor=${cursor}`);
        if (page.body.items[0]?.email !== emailOf(mid + 1) || !page.body.nextCursor)
          throw new Error(`the page after ${mid} starts with ${page.body.items[0]?.email}`);
        const next = await api.json<Page>(
          'GET',
          `/api/v1/subscribers?limit=50&cursor=${page.body.nextCursor}`,
        );
        if (next.body.items[0]?.email !== emailOf(mid + 51))
          throw new Error(`the page after ${mid + 50} starts with ${next.body.items[0]?.email}`);
        followed.push(next.ms);
        return page.ms;
      }),
    );
    record('GET /api/v1/subscribers the page after it, by nextCursor (ms)', followed);
    record(
      'GET /api/v1/subscribers?email= exact search (ms; target ≤ 200)',
      await repeat(async (rep) => {
        const email = emailOf(pick(rep, 21));
        const page = await api.json<Page>(
          'GET',
          `/api/v1/subscribers?email=${encodeURIComponent(email)}`,
        );
        if (page.body.items.length !== 1 || page.body.items[0]!.email !== email)
          throw new Error(`search for ${email} found ${page.body.items.length}`);
        return page.ms;
      }),
    );

    // One order at a time from the shop, for people already in the register.
    const live: LiveOrder[] = [];
    const series = await repeat(async (k) => {
      const subscriber = pick(k, 22);
      const orderedAt = new Date(pop.now - (k % 30) * DAY);
      live.push({ subscriber, orderedAt, totalCents: 5990 });
      const posted = await api.json<{ created: number }>('POST', '/api/v1/orders', {
        body: {
          externalId: `scale-live-${k}`,
          email: emailOf(subscriber),
          orderedAt: orderedAt.toISOString(),
          total: '59.90',
          currency: 'EUR',
          categories: ['shoes'],
        },
      });
      if (posted.body.created !== 1) throw new Error(`order ${k}: created ${posted.body.created}`);
      return posted.ms;
    }, ORDER_SERIES);
    record(
      `POST /api/v1/orders one order, ${ORDERS} stored (ms, median of ${ORDER_SERIES}; target ≤ 20)`,
      series,
    );
    record(`  … median of the first ${SERIES_ENDS} (ms)`, series.slice(0, SERIES_ENDS));
    record(`  … median of the last ${SERIES_ENDS} (ms)`, series.slice(-SERIES_ENDS));

    const from = new Date(pop.now - SPAN_DAYS * DAY * 0.75).toISOString();
    const to = new Date(pop.now - SPAN_DAYS * DAY * 0.5).toISOString();
    const previews: Array<[string, unknown, number]> = [
      [
        'locale = fi, an indexed field (ms; target ≤ 500)',
        { field: 'locale', op: 'eq', value: 'fi' },
        expected.fi,
      ],
      [
        'tier = gold, an attribute (ms; target ≤ 5000)',
        { attribute: 'tier', op: 'eq', value: 'gold' },
        expected.gold,
      ],
      [
        'createdAt in a 6-month range (ms; target ≤ 5000)',
        {
          all: [
            { field: 'createdAt', op: 'after', value: from },
            { field: 'createdAt', op: 'before', value: to },
          ],
        },
        expected.joinedInRange(from, to),
      ],
      [
        'locale = fi and over 100 EUR spent in 365 days, order facts (ms; target ≤ 5000)',
        {
          all: [
            { field: 'locale', op: 'eq', value: 'fi' },
            { orders: 'totalSpent', op: 'gt', amount: 100, currency: 'EUR', withinDays: 365 },
          ],
        },
        expected.fiSpentOver100(live),
      ],
    ];
    for (const [name, rules, count] of previews) {
      record(
        `POST /api/v1/segments/preview ${name}`,
        await repeat(async () => {
          const preview = await api.json<{ count: number }>('POST', '/api/v1/segments/preview', {
            body: { rules },
          });
          if (preview.body.count !== count)
            throw new Error(`preview ${name}: counted ${preview.body.count}, expected ${count}`);
          return preview.ms;
        }),
      );
      result[`  … ${name.split(' (')[0]}: subscribers matched`] = count;
    }

    Object.assign(
      result,
      await campaignToSegment(api, sink, seeded.newsletter.id, pop, expected.gold),
    );
    Object.assign(result, await exportList(api, seeded.newsletter.slug));
    return result;
  } finally {
    closeClient();
    await service?.stop();
    await sink?.stop();
    await db.connection.dropDatabase();
    await db.close();
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A campaign to the newsletter narrowed to the gold segment (about 10 %): the time from `/send`
 * to the first mail at the sink, then cancelled so the bench does not send them all. Before the
 * next run the sink must have been quiet for a second: mails in flight at the cancel still land.
 */
async function campaignToSegment(
  api: Client,
  sink: SinkProcess,
  listId: string,
  pop: Population,
  gold: number,
): Promise<Record<string, number | string>> {
  const segment = await api.json<{ id: string }>('POST', '/api/v1/segments', {
    body: { name: 'Kultajäsenet', rules: { attribute: 'tier', op: 'eq', value: 'gold' } },
    expect: 201,
  });
  const sendMs: number[] = [];
  let mailedBeforeCancel = 0;
  const firstMail = await repeat(async (rep) => {
    await sink.reset();
    const campaign = await api.json<{ id: string }>('POST', '/api/v1/campaigns', {
      body: {
        name: `Kultaviikot ${rep}`,
        subject: '{{subscriber.name}}, kultajäsenten ennakkomyynti',
        mjml: MJML,
        segmentId: segment.body.id,
        lists: [listId],
      },
      expect: 201,
    });
    const started = performance.now();
    const send = await api.call('POST', `/api/v1/campaigns/${campaign.body.id}/send`, {
      body: {},
      expect: 202,
    });
    sendMs.push(send.ms);
    let delivered: string[] = [];
    while ((delivered = await sink.delivered()).length === 0) {
      if (performance.now() - started > FIRST_MAIL_TIMEOUT_MS)
        throw new Error(`campaign ${rep}: no mail within ${FIRST_MAIL_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const ms = performance.now() - started;
    await api.call('POST', `/api/v1/campaigns/${campaign.body.id}/cancel`, {
      body: {},
      expect: 202,
    });
    for (let last = -1; last !== delivered.length;) {
      last = delivered.length;
      await new Promise((r) => setTimeout(r, 1000));
      delivered = await sink.delivered();
    }
    mailedBeforeCancel = Math.max(mailedBeforeCancel, delivered.length);
    for (const to of delivered) {
      const i = indexOf(to);
      const p = i >= 0 ? person(i, pop) : undefined;
      if (!p || p.tier !== 'gold' || p.status !== 'subscribed')
        throw new Error(`campaign ${rep} mailed ${to}, who is not a subscribed gold member`);
    }
    return ms;
  });
  return {
    [`campaign to a 10 % segment (${gold} gold of ${pop.subscribers}): /send → first mail at the sink (ms; target ≤ 10000)`]:
      round(median(firstMail)),
    '  … POST /send itself (ms)': round(median(sendMs)),
    '  … most mails delivered before the cancel took effect': mailedBeforeCancel,
  };
}

/** The whole newsletter list as CSV, streamed: rows per second and the service's RSS growth. */
async function exportList(api: Client, slug: string): Promise<Record<string, number | string>> {
  const rates: number[] = [];
  let growth = 0;
  let bytes = 0;
  for (let rep = 0; rep < REPS; rep++) {
    const started = performance.now();
    const { result, peakRss, baseRss } = await withPeakRss(() =>
      api.stream(`/api/v1/exports?list=${slug}`),
    );
    const seconds = (performance.now() - started) / 1000;
    const rows = result.lines - 1;
    if (rows !== SUBSCRIBERS) throw new Error(`export: ${rows} rows, expected ${SUBSCRIBERS}`);
    rates.push(rows / seconds);
    growth = Math.max(growth, peakRss - baseRss);
    bytes = result.bytes;
  }
  return {
    [`export of the whole list, ${SUBSCRIBERS} rows (rows/s; target ≥ 5000)`]: Math.round(
      median(rates),
    ),
    '  … node RSS growth during an export, largest of the runs (MiB; target < 100)': mib(growth),
    '  … CSV size (MiB)': mib(bytes),
  };
}

type LiveOrder = Pick<OrderFact, 'subscriber' | 'orderedAt' | 'totalCents'>;

/** What each previewed rule must count, from how the register was generated. */
function expectedCounts(pop: Population) {
  let fi = 0;
  let gold = 0;
  for (let i = 0; i < pop.subscribers; i++) {
    const p = person(i, pop);
    if (p.locale === 'fi') fi += 1;
    if (p.tier === 'gold') gold += 1;
  }
  const yearAgo = pop.now - 365 * DAY;
  const spent = new Map<number, number>();
  const add = (o: LiveOrder) => {
    if (o.orderedAt.getTime() >= yearAgo)
      spent.set(o.subscriber, (spent.get(o.subscriber) ?? 0) + o.totalCents);
  };
  for (let j = 0; j < pop.orders; j++) add(order(j, pop));
  return {
    fi,
    gold,
    /** With the orders the bench posted itself. */
    fiSpentOver100(posted: LiveOrder[]) {
      const all = new Map(spent);
      for (const o of posted) all.set(o.subscriber, (all.get(o.subscriber) ?? 0) + o.totalCents);
      let n = 0;
      for (const [i, cents] of all) if (cents > 10_000 && person(i, pop).locale === 'fi') n += 1;
      return n;
    },
    joinedInRange(from: string, to: string) {
      const [a, b] = [Date.parse(from), Date.parse(to)];
      let n = 0;
      for (let i = 0; i < pop.subscribers; i++) {
        const t = person(i, pop).createdAt.getTime();
        if (t > a && t < b) n += 1;
      }
      return n;
    },
  };
}
