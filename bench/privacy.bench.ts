import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/config.js';
import { connect } from '../src/db/connection.js';
import { startEmbedded } from '../src/db/embedded.js';
import { createSmtpMailer } from '../src/mail/mailer.js';
import { buildServices } from '../src/services.js';
import { createLogger } from '../src/shared/logger.js';
import { FakeClock } from '../test/helpers/clock.js';

const CONTACTS = 400;

/**
 * Data-protection costs on the embedded FerretDB: one access export and one erasure of a person
 * with a full record among many, and a retention run that removes a few hundred old contacts
 * (each removal is a resumable erasure job).
 */
export async function run(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kirje-bench-privacy-'));
  const logger = createLogger('silent');
  const embedded = await startEmbedded(dir, logger);
  const clock = new FakeClock('2026-01-01T00:00:00Z');
  const db = await connect(embedded.uri, 'bench_privacy', { clock, logger });
  try {
    const loaded = loadConfig({
      NODE_ENV: 'test',
      TOKEN_KEYS: 'b:0123456789abcdef0123456789abcdef-bench',
      DATA_KEY: Buffer.alloc(32, 3).toString('base64'),
    });
    const config = { ...loaded, tokenKeys: loaded.tokenKeys!, dataKey: loaded.dataKey! };
    const s = buildServices({
      config,
      db,
      clock,
      logger,
      mailer: createSmtpMailer({ url: undefined }),
    });
    const { models } = db;
    const list = await models.List.create({ name: 'News', slug: 'news' });
    const docs = Array.from({ length: CONTACTS }, (_, i) => ({
      email: `old${i}@example.com`,
      name: `Old Contact ${i}`,
      source: 'bench',
      status: 'unsubscribed',
    }));
    const subs = await models.Subscriber.insertMany(docs);
    await models.Membership.insertMany(
      subs.map((sub) => ({ subscriberId: sub._id, listId: list._id, status: 'unsubscribed' })),
    );
    clock.set('2026-06-01T00:00:00Z');
    const person = await models.Subscriber.create({
      email: 'maija@example.com',
      name: 'Maija',
      phone: '+358401234567',
      source: 'bench',
      status: 'subscribed',
      hetuSealed: s.protector.encrypt('131052-308T'),
    });
    await models.Membership.create({
      subscriberId: person._id,
      listId: list._id,
      status: 'subscribed',
    });
    for (let i = 0; i < 20; i += 1) {
      await s.consent.record({
        subscriberId: String(person._id),
        listId: String(list._id),
        kind: 'subscribe',
        source: 'bench',
      });
      await models.Order.create({
        externalId: `o${i}`,
        subscriberId: person._id,
        orderedAt: clock.now(),
        totalCents: 100,
        currency: 'EUR',
      });
    }
    const ctx = { actor: { type: 'system' as const, name: 'bench' } };

    let t0 = performance.now();
    const exp = await s.subjectData.export(ctx, 'maija@example.com', 'json');
    const exportMs = performance.now() - t0;
    t0 = performance.now();
    await s.erasure.erase(ctx, 'maija@example.com');
    const eraseMs = performance.now() - t0;

    clock.set('2026-09-01T00:00:00Z');
    t0 = performance.now();
    await s.retention.run({ dryRun: true, trigger: 'cli' });
    const dryMs = performance.now() - t0;
    t0 = performance.now();
    const real = await s.retention.run({ dryRun: false, trigger: 'cli' });
    const realMs = performance.now() - t0;
    const removed = real.rules.find((r) => r.rule === 'inactive-contacts')!.removed;
    return {
      'access export of one person (ms)': exportMs,
      'export records': exp.sections.reduce((n, sec) => n + sec.records.length, 0),
      'erasure of one person (ms)': eraseMs,
      [`retention dry run over ${CONTACTS + 1} contacts (ms)`]: dryMs,
      'retention contacts removed': removed,
      'retention run (ms)': realMs,
      'retention removals per second': (removed / realMs) * 1000,
    };
  } finally {
    await db.connection.dropDatabase().catch(() => undefined);
    await db.close();
    await embedded.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
