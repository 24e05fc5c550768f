import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { seedList, type SeededList } from '../../helpers/audience.js';
import { CountingSink } from '../../helpers/counting-sink.js';
import { recipientOutcomes } from '../../helpers/send-records.js';
import { serviceCluster, type ServiceCluster } from '../../helpers/service-cluster.js';
import type { ServiceProcess } from '../../helpers/service-process.js';

const MAILS = 3000;
const CONCURRENCY = 16;
// Recipients under one durable record: what a kill can leave unknown per worker process.
const WINDOW = 50;
// The next holder of a batch whose worker was killed takes it over once the lease ran out.
const LEASE_SECONDS = 2;

/** Polls `fn`: often for the sink's own counters, seldom for the database (stats read it all). */
async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  everyMs = 20,
  ms = 330_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
const DB_POLL_MS = 500;

const twice = (addresses: string[]) => {
  const seen = new Set<string>();
  return addresses.filter((a) => (seen.has(a) ? true : (seen.add(a), false)));
};

/**
 * The real service (src/main.ts) as child processes on one database, sending to a slowed sink that
 * counts a message only once it answered 250 on a live connection (as an MTA commits it): killed
 * with SIGKILL mid-campaign and restarted, and two workers sharing one campaign.
 */
describe('campaign sending across processes', function () {
  // Thousands of mails through real processes: a few seconds each on a quiet machine, minutes on
  // one whose cores are shared with other builds. A test that waits for conditions may take that
  // long; only a hang should fail it.
  this.timeout(360_000);
  let sink: CountingSink;
  let cluster: ServiceCluster;

  before(async () => {
    sink = await new CountingSink().start();
    sink.delayMs = 1;
    cluster = await serviceCluster('crash', sink.url);
  });
  after(async () => {
    await cluster.dispose();
    await sink.stop();
  });
  beforeEach(() => {
    sink.delivered.length = 0;
  });

  const start = (extra: NodeJS.ProcessEnv = {}) =>
    cluster.start({
      SEND_RATE_PER_SECOND: '100000',
      SEND_CONCURRENCY: String(CONCURRENCY),
      SEND_LEASE_SECONDS: String(LEASE_SECONDS),
      SEND_BATCH_SIZE: '250',
      SEND_WINDOW_SIZE: String(WINDOW),
      ...extra,
    });
  const api = (p: ServiceProcess, method: string, route: string, body?: unknown) =>
    cluster.api(p, method, route, body);
  const campaign = async (p: ServiceProcess, id: string) =>
    (await (await api(p, 'GET', `/campaigns/${id}`)).json()) as {
      status: string;
      stats: Record<string, number>;
    };
  const finished = (p: ServiceProcess, id: string) =>
    until(
      'the campaign finished',
      async () => {
        const c = await campaign(p, id);
        return c.status === 'finished' && c;
      },
      DB_POLL_MS,
    );
  const createAndSend = async (p: ServiceProcess, listId: string) => {
    const res = await api(p, 'POST', '/campaigns', {
      name: 'Crash',
      subject: 'Hei {{subscriber.name}}',
      mjml: '<mj-section><mj-column><mj-text>Hei {{subscriber.name}}</mj-text></mj-column></mj-section>',
      lists: [listId],
    });
    expect(res.status).to.equal(201);
    const { id } = (await res.json()) as { id: string };
    expect((await api(p, 'POST', `/campaigns/${id}/send`)).status).to.equal(202);
    return id;
  };
  /** Addresses whose last recorded outcome has this status, straight from the database. */
  const addressesWith = async (list: SeededList, id: string, status: string) => {
    const byId = new Map(list.subscribers.map((s) => [s.id, s.email]));
    const outcomes = await recipientOutcomes(cluster.db.models, id);
    return [...outcomes].filter(([, o]) => o.status === status).map(([sid]) => byId.get(sid)!);
  };
  const stop = async (...ps: ServiceProcess[]) => {
    for (const p of ps) p.child.kill('SIGTERM');
    const codes = await Promise.all(ps.map((p) => p.exited));
    const why = ps
      .map((p) => [
        ...p.logs.filter((l) => Number(l.level) >= 50).map((l) => JSON.stringify(l)),
        p.stderr(),
      ])
      .flat()
      .join('\n');
    expect(codes, why).to.deep.equal(ps.map(() => 0));
  };

  it('killed inside SMTP transactions: deliveries + unknown = all exactly, nobody twice; retry-unknown sends exactly those', async () => {
    const list = await seedList(cluster.db.models, MAILS);
    // After a third (a whole number of windows), every lane of the next window ends up waiting
    // for the answer to its DATA; the windows before it get recorded. Then the kill lands with
    // exactly one window open and none of it delivered.
    sink.holdAfter(MAILS / 3);
    const first = await start();
    const id = await createAndSend(first, list.listId);
    await until('every lane in a held transaction', async () => sink.heldCount === CONCURRENCY);
    await until(
      'every answered mail recorded as sent',
      async () => (await addressesWith(list, id, 'sent')).length === sink.delivered.length,
      DB_POLL_MS,
    );
    const inFlight = sink.heldRecipients;
    first.child.kill('SIGKILL');
    await first.exited;
    // The sink discards what it had not answered once the connections are gone.
    await until('the killed connections closed', async () => sink.connections === 0);
    sink.release();
    expect(inFlight).to.have.length(CONCURRENCY);
    expect(sink.delivered.length).to.equal(MAILS / 3);

    const second = await start();
    const done = await finished(second, id);
    expect(twice(sink.delivered)).to.deep.equal([]);
    expect(sink.delivered.length + done.stats.unknown!).to.equal(MAILS);
    expect(done.stats).to.include({ sent: sink.delivered.length, unknown: WINDOW });
    const unknown = await addressesWith(list, id, 'unknown');
    expect(unknown).to.include.members(inFlight);
    expect(sink.delivered.filter((a) => unknown.includes(a))).to.deep.equal([]);

    // The operator resends the unknown ones: exactly those arrive, now everyone has one copy.
    const deliveredBefore = sink.delivered.length;
    const retried = await api(second, 'POST', `/campaigns/${id}/retry-unknown`);
    expect(retried.status).to.equal(202);
    expect(((await retried.json()) as { requeued: number }).requeued).to.equal(WINDOW);
    await until('the resends delivered', async () => sink.delivered.length === MAILS);
    const after = await finished(second, id);
    expect(after.stats).to.include({ sent: MAILS, unknown: 0, recipients: MAILS });
    expect(sink.delivered.slice(deliveredBefore).sort()).to.deep.equal([...unknown].sort());
    expect(twice(sink.delivered)).to.deep.equal([]);
    await stop(second);
  });

  it('killed at three arbitrary instants: nobody twice, nobody left out, unknown within one window per kill', async function () {
    const list = await seedList(cluster.db.models, MAILS);
    let service = await start();
    const id = await createAndSend(service, list.listId);
    const killedAt: number[] = [];
    for (const [from, to] of [
      [0.05, 0.3],
      [0.35, 0.6],
      [0.65, 0.95],
    ] as const) {
      const killAt = randomInt(Math.round(MAILS * from), Math.round(MAILS * to));
      await until('the chosen delivery count', async () => sink.delivered.length >= killAt);
      service.child.kill('SIGKILL');
      await service.exited;
      killedAt.push(sink.delivered.length);
      await until('the killed connections closed', async () => sink.connections === 0);
      service = await start();
    }

    const done = await finished(service, id);
    const delivered = new Set(sink.delivered);
    const unknown = await addressesWith(list, id, 'unknown');
    const sent = await addressesWith(list, id, 'sent');
    expect(twice(sink.delivered)).to.deep.equal([]);
    // Nobody skipped: each address arrived or is reported unknown.
    expect(
      list.subscribers.filter((s) => !delivered.has(s.email) && !unknown.includes(s.email)),
    ).to.deep.equal([]);
    expect(sent.filter((a) => !delivered.has(a))).to.deep.equal([]);
    // Each kill leaves at most the one window it had open unknown, some of it perhaps delivered.
    expect(unknown.length).to.be.at.most(3 * WINDOW);
    const both = unknown.filter((a) => delivered.has(a));
    expect(done.stats).to.include({
      unknown: unknown.length,
      sent: sink.delivered.length - both.length,
    });
    expect(sent.length + unknown.length).to.equal(MAILS);
    this.test!.title += ` (killed after ${killedAt.join(', ')}: ${unknown.length} unknown, ${both.length} of them delivered)`;
    await stop(service);
  });

  it('two worker processes on one campaign send each mail once', async () => {
    const list = await seedList(cluster.db.models, MAILS);
    // Nobody dies here: a lease that outlives any stall of a busy machine keeps each batch with
    // its holder, so what is tested is the claims, not a takeover.
    const env = { SEND_BATCH_SIZE: '100', SEND_LEASE_SECONDS: '30' };
    const [a, b] = await Promise.all([start(env), start(env)]);
    const id = await createAndSend(a, list.listId);
    const done = await finished(b, id);
    expect(twice(sink.delivered)).to.deep.equal([]);
    expect(sink.delivered).to.have.length(MAILS);
    expect(done.stats).to.include({ sent: MAILS, unknown: 0, failed: 0 });
    await stop(a, b);
  });
});
