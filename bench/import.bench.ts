import { DomainEvents } from '../src/events/domain-events.js';
import { Types } from 'mongoose';
import { Readable } from 'node:stream';
import { membershipId } from '../src/db/models/membership.js';
import { AuditLog } from '../src/privacy/audit.js';
import { systemClock } from '../src/shared/clock.js';
import { mapConcurrent } from '../src/shared/concurrency.js';
import { DataProtector } from '../src/shared/crypto.js';
import { ImportService } from '../src/subscribers/csv-import.js';
import { SubscriberAddresses } from '../src/subscribers/by-address.js';
import { SuppressionService } from '../src/unsubscribe/suppressions.js';
import { benchDatabase, mib, withPeakRss } from './support.js';

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);

const address = (n: number) => `row${n}@example.com`;
/** What row i of the CSV says, before any checks: a malformed address, a repeat, or row i's own. */
const rowEmail = (i: number): string | null =>
  i % 100 === 57 ? null : i % 20 === 9 && i > 20 ? address(i - 21) : address(i);
const pick = (every: number, offset: number) => {
  const out: string[] = [];
  for (let n = offset; n < ROWS; n += every) out.push(address(n));
  return out;
};

/**
 * A generated CSV of ROWS rows streamed through ImportService (the same code the HTTP route
 * feeds) into one list: 1% malformed, 5% repeating an earlier address, and among the addresses
 * already known: 2% unsubscribed, 1% still subscribed but unsubscribed from this list, 1%
 * suppressed (erased: only the suppression remains), 1% subscribed and not on the list. The
 * counts are checked against a count made here from the same rules, and no opted-out address
 * may come out mailable. Peak RSS is sampled while it runs; with streaming it should not grow
 * with ROWS beyond the set of addresses seen (duplicates are merged across the whole file).
 */
export async function run(): Promise<Record<string, number | string>> {
  const db = await benchDatabase();
  try {
    const { models } = db;
    const protector = new DataProtector(Buffer.alloc(32, 3));
    const suppressions = new SuppressionService(models, protector);
    const addresses = new SubscriberAddresses(models);
    const imports = new ImportService(
      models,
      addresses,
      suppressions,
      protector,
      new AuditLog(models, systemClock),
      systemClock,
      new DomainEvents(models, systemClock),
    );
    const listId = (await models.List.create({ name: 'Bench', slug: 'bench' }))._id;

    const unsubscribed = pick(50, 3);
    const leftList = pick(100, 28);
    const existing = pick(100, 78);
    const suppressed = pick(100, 11);
    const known = [
      ...unsubscribed.map((email) => ({ email, status: 'unsubscribed' as const })),
      ...[...leftList, ...existing].map((email) => ({ email, status: 'subscribed' as const })),
    ].map((p) => ({ ...p, _id: new Types.ObjectId(), source: 'api' }));
    const idOf = new Map(known.map((p) => [p.email, p._id]));
    for (let i = 0; i < known.length; i += 1000) {
      const created = await addresses.createMany(known.slice(i, i + 1000), []);
      if (created.some(Boolean)) throw new Error('seeding found an address taken');
    }
    for (let i = 0; i < leftList.length; i += 1000)
      await models.Membership.insertMany(
        leftList.slice(i, i + 1000).map((email) => ({
          subscriberId: idOf.get(email),
          listId,
          status: 'unsubscribed',
        })),
      );
    for (const email of suppressed) await suppressions.suppress(email, 'all', 'unsubscribe');

    const expected = expectedCounts({ unsubscribed, leftList, existing, suppressed });

    const rssAt: number[] = [];
    const secondsAt: number[] = [];
    let started = 0;
    async function* csv(): AsyncGenerator<string> {
      yield 'email,name,locale,attributes.tier\n';
      let chunk = '';
      for (let i = 0; i < ROWS; i++) {
        const email = rowEmail(i);
        if (email === null) chunk += `broken-${i},Bad,fi,\n`;
        else if (email !== address(i)) chunk += `${email},Again ${i},fi,\n`;
        else chunk += `${email},Person ${i},${i % 3 ? 'fi' : 'en'},${i % 7 ? 'basic' : 'gold'}\n`;
        if (i % 500 === 499) {
          yield chunk;
          chunk = '';
        }
        if (i % (ROWS / 4) === ROWS / 4 - 1) {
          rssAt.push(mib(process.memoryUsage.rss()));
          secondsAt.push(Math.round((performance.now() - started) / 100) / 10);
        }
      }
      yield chunk;
    }

    const ctx = { actor: { type: 'system' as const, name: 'bench' } };
    started = performance.now();
    const { result, peakRss, baseRss } = await withPeakRss(async () => {
      const job = await imports.start(ctx, { mode: 'add', list: 'bench' });
      return imports.run(ctx, job, Readable.from(csv()));
    });
    const seconds = (performance.now() - started) / 1000;

    if (JSON.stringify(result.counts) !== JSON.stringify(expected))
      throw new Error(
        `counts ${JSON.stringify(result.counts)}, expected ${JSON.stringify(expected)}`,
      );
    const resubscribed = await optedOutNowMailable(db.models, listId, idOf, {
      unsubscribed,
      leftList,
      suppressed,
      addresses,
    });
    if (resubscribed > 0) throw new Error(`${resubscribed} opted-out addresses became mailable`);
    const subscribers = await models.Subscriber.estimatedDocumentCount();
    if (subscribers !== known.length + expected.created)
      throw new Error(`${subscribers} subscribers, expected ${known.length + expected.created}`);

    return {
      rows: ROWS,
      seconds: Math.round(seconds * 10) / 10,
      rowsPerSecond: Math.round(ROWS / seconds),
      baseRssMiB: mib(baseRss),
      peakRssMiB: mib(peakRss),
      rssAtQuartersMiB: rssAt.join(' / '),
      // When the CSV reached each quarter (the parser reads at most a few chunks ahead): equal
      // steps mean the cost per row does not grow with the register.
      secondsAtQuarters: secondsAt.join(' / '),
      counts: JSON.stringify(result.counts),
      countsAsExpected: 'yes',
      optedOutResubscribed: resubscribed,
    };
  } finally {
    await db.dispose();
  }
}

/** The counts the import must report, counted row by row from how the CSV was made. */
function expectedCounts(pre: {
  unsubscribed: string[];
  leftList: string[];
  existing: string[];
  suppressed: string[];
}) {
  const optedOut = new Set([...pre.unsubscribed, ...pre.leftList]);
  const suppressed = new Set(pre.suppressed);
  const existing = new Set(pre.existing);
  const seen = new Set<string>();
  const c = {
    total: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    skippedSuppressed: 0,
    skippedUnsubscribed: 0,
    duplicates: 0,
    invalid: 0,
    addedToList: 0,
  };
  for (let i = 0; i < ROWS; i++) {
    c.total += 1;
    const email = rowEmail(i);
    if (email === null) c.invalid += 1;
    else if (seen.has(email)) c.duplicates += 1;
    else {
      seen.add(email);
      if (suppressed.has(email)) c.skippedSuppressed += 1;
      else if (optedOut.has(email)) c.skippedUnsubscribed += 1;
      else {
        c[existing.has(email) ? 'unchanged' : 'created'] += 1;
        c.addedToList += 1;
      }
    }
  }
  return c;
}

/** Opted-out people the import made mailable: read back by `_id`, one by one. */
async function optedOutNowMailable(
  models: Awaited<ReturnType<typeof benchDatabase>>['models'],
  listId: Types.ObjectId,
  idOf: Map<string, Types.ObjectId>,
  pre: {
    unsubscribed: string[];
    leftList: string[];
    suppressed: string[];
    addresses: SubscriberAddresses;
  },
): Promise<number> {
  const unsubscribed = new Set(pre.unsubscribed);
  const bad = await mapConcurrent([...pre.unsubscribed, ...pre.leftList], 16, async (email) => {
    const id = idOf.get(email)!;
    const [sub, membership] = await Promise.all([
      models.Subscriber.findById(id, { status: 1 }).lean(),
      models.Membership.findById(membershipId(id, listId), { status: 1 }).lean(),
    ]);
    return (
      (unsubscribed.has(email) && sub?.status !== 'unsubscribed') ||
      (membership !== null && membership.status !== 'unsubscribed')
    );
  });
  const created = await pre.addresses.lookupMany(pre.suppressed, []);
  return bad.filter(Boolean).length + created.size;
}
