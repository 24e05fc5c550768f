import { expect } from 'chai';
import type { Types } from 'mongoose';
import { RetentionScheduler, RetentionService } from '../../../src/privacy/retention.js';
import { createLogger } from '../../../src/shared/logger.js';
import { bootApp, TEST_DATA_KEY, TEST_TOKEN_KEYS, type TestApp } from '../../helpers/app.js';
import { testServerUri } from '../../helpers/db.js';
import { email, staffToken } from '../../helpers/factories.js';
import { runCli } from '../../helpers/service-process.js';

const NOW = '2026-07-15T12:00:00Z';
const monthsAgo = (n: number) => {
  const d = new Date(NOW);
  d.setUTCMonth(d.getUTCMonth() - n);
  return d;
};

/** Creates documents as if at `at`: the models' timestamps come from the injected clock. */
async function at<T>(t: TestApp, when: Date, fn: () => Promise<T>): Promise<T> {
  const saved = t.clock.now();
  t.clock.set(when);
  try {
    return await fn();
  } finally {
    t.clock.set(saved);
  }
}

async function population(t: TestApp) {
  const { models } = t.db;
  const list = await models.List.create({ name: 'News', slug: `news-${Math.random()}` });
  const contact = (when: Date, status: string, membership?: string) =>
    at(t, when, async () => {
      const s = await models.Subscriber.create({
        email: email('ret'),
        name: 'Retention Person',
        source: 'api',
        status,
      });
      if (membership)
        await models.Membership.create({
          subscriberId: s._id,
          listId: list._id,
          status: membership,
        });
      return s._id as Types.ObjectId;
    });
  const ids = {
    inactiveOld: await contact(monthsAgo(7), 'unsubscribed', 'unsubscribed'),
    inactiveRecent: await contact(monthsAgo(5), 'unsubscribed', 'unsubscribed'),
    subscribedOld: await contact(monthsAgo(7), 'subscribed', 'subscribed'),
    customerOld: await contact(monthsAgo(7), 'subscribed'),
    unconfirmedOld: await contact(
      new Date(new Date(NOW).getTime() - 40 * 86_400_000),
      'unconfirmed',
      'unconfirmed',
    ),
    unconfirmedNew: await contact(
      new Date(new Date(NOW).getTime() - 10 * 86_400_000),
      'unconfirmed',
      'unconfirmed',
    ),
  };
  await models.Order.create({
    externalId: `o-${Math.random()}`,
    subscriberId: ids.customerOld,
    orderedAt: monthsAgo(5),
    totalCents: 100,
    currency: 'EUR',
  });
  const c = t.db.connection;
  await c.collection('inbound_messages').insertMany([
    { from: 'a@example.com', receivedAt: monthsAgo(7) },
    { from: 'b@example.com', receivedAt: monthsAgo(5) },
  ]);
  await c.collection<{ _id: string; owner: string; at: Date }>('claims').insertMany([
    {
      _id: `send:${String(list._id)}:${String(ids.subscribedOld)}:1`,
      owner: 'w',
      at: monthsAgo(7),
    },
    { _id: `send:${String(list._id)}:${String(ids.customerOld)}:1`, owner: 'w', at: monthsAgo(5) },
  ]);
  await c.collection<{ _id: string; at: Date }>('inbound_claims').insertMany([
    { _id: 'confirm:old-hash:day', at: monthsAgo(7) },
    { _id: 'act:recent-message', at: monthsAgo(5) },
  ]);
  await c.collection('campaign_recipients').insertMany([
    {
      campaignId: list._id,
      subscriberId: ids.subscribedOld,
      status: 'sent',
      batchNo: 0,
      sentAt: monthsAgo(7),
    },
    {
      campaignId: list._id,
      subscriberId: ids.customerOld,
      status: 'sent',
      batchNo: 0,
      sentAt: monthsAgo(5),
    },
  ]);
  return ids;
}

const counts = (rules: Array<{ rule: string; matched: number; removed: number }>) =>
  Object.fromEntries(rules.map((r) => [r.rule, [r.matched, r.removed]]));

describe('privacy: retention', () => {
  let t: TestApp;
  let sales: string;
  before(async () => {
    t = await bootApp();
    t.clock.set(NOW);
    sales = (await staffToken(t.services, 'sales')).token;
  });
  after(async () => t.close());
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('removes 7-month-old data, keeps 5-month-old data, reports counts per rule; a dry run removes nothing', async () => {
    const ids = await population(t);
    const { models } = t.db;
    const snapshot = async () => ({
      subscribers: await models.Subscriber.countDocuments(),
      memberships: await models.Membership.countDocuments(),
      inbound: await t.db.connection.collection('inbound_messages').countDocuments(),
      inboundClaims: await t.db.connection.collection('inbound_claims').countDocuments(),
      deliveries: await t.db.connection.collection('campaign_recipients').countDocuments(),
    });
    const before = await snapshot();

    const dry = await t.http
      .post('/api/v1/privacy/retention/run')
      .set(auth(sales))
      .send({ dryRun: true })
      .expect(200);
    expect(counts(dry.body.rules)).to.deep.equal({
      'unconfirmed-opt-ins': [1, 0],
      'unconfirmed-contacts': [1, 0],
      'inactive-contacts': [1, 0],
      'inbound-mail': [1, 0],
      'inbound-claims': [1, 0],
      'send-claims': [1, 0],
      'delivery-logs': [1, 0],
    });
    expect(await snapshot()).to.deep.equal(before);

    const real = await t.services.retention.run({ dryRun: false, trigger: 'api' });
    expect(counts(real.rules)).to.deep.equal({
      'unconfirmed-opt-ins': [1, 1],
      'unconfirmed-contacts': [1, 1],
      'inactive-contacts': [1, 1],
      'inbound-mail': [1, 1],
      'inbound-claims': [1, 1],
      'send-claims': [1, 1],
      'delivery-logs': [1, 1],
    });
    const exists = async (id: Types.ObjectId) =>
      (await models.Subscriber.exists({ _id: id })) !== null;
    expect(await exists(ids.inactiveOld)).to.equal(false);
    expect(await exists(ids.unconfirmedOld)).to.equal(false);
    for (const kept of [
      ids.inactiveRecent,
      ids.subscribedOld,
      ids.customerOld,
      ids.unconfirmedNew,
    ]) {
      expect(await exists(kept)).to.equal(true);
    }
    expect(
      await models.Membership.countDocuments({
        subscriberId: { $in: [ids.inactiveOld, ids.unconfirmedOld] },
      }),
    ).to.equal(0);
    expect(await t.db.connection.collection('inbound_messages').countDocuments()).to.equal(1);
    expect(await t.db.connection.collection('campaign_recipients').countDocuments()).to.equal(1);
    // Removal for age is not an opt-out: no suppression is written.
    expect(await models.Suppression.countDocuments()).to.equal(0);

    const reports = await t.http
      .get('/api/v1/privacy/retention/reports')
      .set(auth(sales))
      .expect(200);
    expect(reports.body.items.map((r: { dryRun: boolean }) => r.dryRun)).to.deep.equal([
      false,
      true,
    ]);
    expect(JSON.stringify(reports.body)).not.to.match(/@example\.com/);
    expect(reports.body.schedule.lastRunAt).to.equal(new Date(NOW).toISOString());

    const again = await t.services.retention.run({ dryRun: false, trigger: 'api' });
    expect(again.rules.every((r) => r.removed === 0)).to.equal(true);
  });

  it('runs on its persisted schedule: due once per interval, across restarts, by one process only', async () => {
    const config = { ...t.config.retention, interval: { count: 6, unit: 'months' as const } };
    const fresh = () =>
      new RetentionService(t.db.models, t.db.connection, t.services.erasure, config, t.clock);
    await t.db.models.RetentionSchedule.deleteMany({});
    t.clock.set('2027-01-01T00:00:00Z');
    const a = fresh();
    const racers = await Promise.all(
      [a, ...Array.from({ length: 5 }, fresh)].map((r) => r.runIfDue()),
    );
    expect(racers.filter(Boolean), 'one of six processes runs it').to.have.length(1);
    expect(await a.runIfDue()).to.equal(null);

    t.clock.set('2027-06-30T23:59:00Z');
    expect(await fresh().runIfDue(), 'a restart does not reset the schedule').to.equal(null);
    t.clock.set('2027-07-01T00:00:00Z');
    const due = await fresh().runIfDue();
    expect(due?.trigger).to.equal('schedule');
    expect((await fresh().schedule()).nextDueAt!.toISOString()).to.equal(
      '2028-01-01T00:00:00.000Z',
    );

    // A process that claimed the next slot and died: others wait for its lease, then take over.
    t.clock.set('2028-01-01T00:00:00Z');
    await t.db.models.RetentionClaim.create({
      _id: '2028-01-01T00:00:00.000Z#0',
      slot: '2028-01-01T00:00:00.000Z',
      attempt: 0,
      owner: 'dead-process',
      leaseUntil: new Date('2028-01-01T01:00:00Z'),
    });
    expect(await fresh().runIfDue()).to.equal(null);
    const busy = await t.http
      .post('/api/v1/privacy/retention/run')
      .set(auth(sales))
      .send({})
      .expect(409);
    expect(busy.body.error.code).to.equal('invalid_state');
    t.clock.set('2028-01-01T01:00:01Z');
    expect((await fresh().runIfDue())?.trigger).to.equal('schedule');
    expect(
      await t.db.models.RetentionClaim.exists({ _id: '2028-01-01T00:00:00.000Z#1' }),
    ).to.not.equal(null);

    const off = new RetentionService(
      t.db.models,
      t.db.connection,
      t.services.erasure,
      { ...config, interval: null },
      t.clock,
    );
    t.clock.set('2030-01-01T00:00:00Z');
    expect(await off.runIfDue()).to.equal(null);
  });

  it('a shutdown stops a scheduled run before its next rule; the slot runs again at the next check', async () => {
    const config = { ...t.config.retention, interval: { count: 6, unit: 'months' as const } };
    const service = new RetentionService(
      t.db.models,
      t.db.connection,
      t.services.erasure,
      config,
      t.clock,
    );
    await t.db.models.RetentionSchedule.deleteMany({});
    t.clock.set('2031-01-01T00:00:00Z');
    const stopped = new AbortController();
    stopped.abort();
    const err = await service.runIfDue(stopped.signal).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.include('stopped by shutdown');
    expect((await service.schedule()).nextDueAt!.toISOString()).to.equal(
      '2031-01-01T00:00:00.000Z',
    );
    expect((await service.runIfDue())?.trigger).to.equal('schedule');
    expect((await service.schedule()).nextDueAt!.toISOString()).to.equal(
      '2031-07-01T00:00:00.000Z',
    );

    // The scheduler's stop: a check that is running when it is called ends without waiting for
    // the rest of the rules.
    t.clock.set('2031-07-01T00:00:00Z');
    const scheduler = new RetentionScheduler(service, createLogger('silent'));
    const running = scheduler.tick();
    await scheduler.stop();
    await running;
    expect((await service.schedule()).nextDueAt!.toISOString()).to.equal(
      '2031-07-01T00:00:00.000Z',
    );
  });

  it('`npm run cli -- retention:run --dry-run` reports and removes nothing; without the flag it removes', async function () {
    this.timeout(120_000);
    // The CLI runs on the system clock, so these records are years old.
    const oldId = await at(t, new Date('2020-01-01T00:00:00Z'), async () => {
      const s = await t.db.models.Subscriber.create({
        email: email('cli'),
        source: 'api',
        status: 'unsubscribed',
      });
      return s._id;
    });
    const env = {
      NODE_ENV: 'test',
      MONGODB_URI: `${testServerUri()}${t.db.connection.name}`,
      TOKEN_KEYS: TEST_TOKEN_KEYS,
      DATA_KEY: TEST_DATA_KEY,
      LOG_LEVEL: 'silent',
    };
    const dry = runCli(['retention:run', '--dry-run'], env);
    expect(dry.status, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/inactive-contacts\tmatched=[1-9]\d*\tremoved=0/);
    expect(await t.db.models.Subscriber.exists({ _id: oldId })).to.not.equal(null);

    const real = runCli(['retention:run'], env);
    expect(real.status, real.stderr).to.equal(0);
    expect(real.stdout).to.match(/inactive-contacts\tmatched=[1-9]\d*\tremoved=[1-9]/);
    expect(await t.db.models.Subscriber.exists({ _id: oldId })).to.equal(null);
    const bad = runCli(['retention:run', '--dryrun'], env);
    expect(bad.status).to.not.equal(0);
    expect(bad.stderr).to.match(/unknown option/i);
  });
});
