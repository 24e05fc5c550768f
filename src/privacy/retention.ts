import { randomUUID } from 'node:crypto';
import type { Connection, Types } from 'mongoose';
import type { RetentionConfig } from '../config/config.js';
import type { Models } from '../db/models/index.js';
import type { Clock } from '../shared/clock.js';
import { AppError, isDuplicateKey } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { AuditContext } from './audit.js';
import type { ErasureService } from './erasure.js';
import { PERSONAL_DATA, type PersonalDataEntry } from './personal-data.js';
import { addInterval, formatInterval, type Interval } from '../shared/periods.js';

export type RetentionTrigger = 'schedule' | 'cli' | 'api';

export interface RuleResult {
  rule: string;
  description: string;
  cutoff: Date;
  matched: number;
  removed: number;
}

export interface RetentionReportView {
  id: string;
  startedAt: Date;
  finishedAt: Date | null;
  dryRun: boolean;
  trigger: string;
  rules: RuleResult[];
  error: string | null;
}

const SCHEDULE_ID = 'retention';
export const DEFAULT_INTERVAL: Interval = { count: 6, unit: 'months' };
const BATCH = 500;
// Long enough for a large register; a process that dies frees the schedule when it passes.
const LEASE_MS = 60 * 60_000;
const RETENTION_ACTOR: AuditContext = { actor: { type: 'system', name: 'retention' } };

const missingOrBefore = (field: string, cutoff: Date) => ({
  $or: [{ [field]: { $exists: false } }, { [field]: null }, { [field]: { $lt: cutoff } }],
});

/**
 * Removes what is no longer needed (seed §4: "unneeded personal data is removed every six
 * months"), per configurable rules, and reports counts per rule — never who.
 */
export class RetentionService {
  constructor(
    private readonly models: Pick<
      Models,
      | 'Subscriber'
      | 'Membership'
      | 'Order'
      | 'RetentionReport'
      | 'RetentionSchedule'
      | 'RetentionClaim'
    >,
    private readonly connection: Connection,
    private readonly erasure: ErasureService,
    private readonly config: RetentionConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * Runs the rules now. A real run claims the current schedule slot, so it never overlaps another
   * process's run, and moves the next scheduled run one interval on; a dry run only counts.
   */
  async run(opts: { dryRun: boolean; trigger: RetentionTrigger }): Promise<RetentionReportView> {
    if (opts.dryRun) return this.execute(opts, null);
    const claim = await this.claim(false);
    if (!claim) throw new AppError('invalid_state', 'a retention run is already in progress');
    return this.execute(opts, claim);
  }

  /**
   * The scheduler's check: runs only when the persisted next due time has come. An aborted
   * `signal` (shutdown) stops the run before its next rule; the run counts as failed, so its
   * slot is run again at the next check.
   */
  async runIfDue(signal?: AbortSignal): Promise<RetentionReportView | null> {
    if (!this.config.interval) return null;
    const claim = await this.claim(true);
    return claim ? this.execute({ dryRun: false, trigger: 'schedule' }, claim, signal) : null;
  }

  async reports(limit = 50): Promise<RetentionReportView[]> {
    const docs = await this.models.RetentionReport.find()
      .sort({ startedAt: -1, _id: -1 })
      .limit(limit)
      .lean();
    return docs.map(toView);
  }

  async schedule() {
    const doc = await this.models.RetentionSchedule.findById(SCHEDULE_ID).lean();
    const running = await this.models.RetentionClaim.exists({
      finishedAt: { $exists: false },
      leaseUntil: { $gt: this.clock.now() },
    });
    return {
      interval: this.config.interval ? formatInterval(this.config.interval) : null,
      nextDueAt: doc?.nextDueAt ?? null,
      lastRunAt: doc?.lastRunAt ?? null,
      running: running !== null,
    };
  }

  private async claim(onlyWhenDue: boolean): Promise<{ id: string; slot: Date } | null> {
    const now = this.clock.now();
    // A fresh install is due at once: it finds nothing old, and starts the rhythm.
    await this.models.RetentionSchedule.create({ _id: SCHEDULE_ID, nextDueAt: now }).catch(
      (err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
      },
    );
    // A slot whose run succeeded has already moved the schedule on: read it again.
    for (let tries = 0; tries < 3; tries += 1) {
      const schedule = await this.models.RetentionSchedule.findById(SCHEDULE_ID).lean();
      if (!schedule || (onlyWhenDue && schedule.nextDueAt > now)) return null;
      const slot = schedule.nextDueAt.toISOString();
      const last = await this.models.RetentionClaim.findOne({ slot }).sort({ attempt: -1 }).lean();
      if (last?.finishedAt && !last.error) continue;
      if (last && !last.finishedAt && last.leaseUntil > now) return null;
      const attempt = (last?.attempt ?? -1) + 1;
      const id = `${slot}#${attempt}`;
      try {
        await this.models.RetentionClaim.create({
          _id: id,
          slot,
          attempt,
          owner: randomUUID(),
          leaseUntil: new Date(now.getTime() + LEASE_MS),
        });
      } catch (err) {
        if (isDuplicateKey(err)) return null;
        throw err;
      }
      return { id, slot: schedule.nextDueAt };
    }
    return null;
  }

  private async execute(
    opts: { dryRun: boolean; trigger: RetentionTrigger },
    claim: { id: string; slot: Date } | null,
    signal?: AbortSignal,
  ): Promise<RetentionReportView> {
    const startedAt = this.clock.now();
    const report = await this.models.RetentionReport.create({
      startedAt,
      dryRun: opts.dryRun,
      trigger: opts.trigger,
      rules: [],
    });
    const rules: RuleResult[] = [];
    let error: string | undefined;
    try {
      for (const rule of this.rules(startedAt)) {
        if (signal?.aborted) throw new Error('stopped by shutdown; the next check runs it again');
        rules.push(await rule(opts.dryRun));
      }
    } catch (err) {
      error = (err as Error).message;
    }
    const done = await this.models.RetentionReport.findByIdAndUpdate(
      report._id,
      { $set: { rules, finishedAt: this.clock.now(), error } },
      { new: true },
    ).lean();
    if (claim) {
      // Only the claim's winner writes the schedule; a failed run keeps its slot and is retried.
      if (!error) {
        await this.models.RetentionSchedule.updateOne(
          { _id: SCHEDULE_ID },
          {
            $set: {
              lastRunAt: startedAt,
              nextDueAt: addInterval(startedAt, this.config.interval ?? DEFAULT_INTERVAL),
            },
          },
        );
      }
      await this.models.RetentionClaim.updateOne(
        { _id: claim.id },
        { $set: { finishedAt: this.clock.now(), error } },
      );
    }
    if (error) throw new Error(`retention run failed: ${error}`);
    return toView(done!);
  }

  private rules(now: Date): Array<(dryRun: boolean) => Promise<RuleResult>> {
    const c = this.config;
    const unconfirmedCutoff = addInterval(now, { count: c.unconfirmedDays, unit: 'days' }, -1);
    const contactCutoff = addInterval(now, { count: c.contactMonths, unit: 'months' }, -1);
    return [
      (dry) => this.unconfirmedMemberships(unconfirmedCutoff, dry),
      (dry) => this.unconfirmedContacts(unconfirmedCutoff, dry),
      (dry) => this.inactiveContacts(contactCutoff, dry),
      ...PERSONAL_DATA.flatMap((entry) => {
        const r = entry.retention;
        if (!r) return [];
        const months = c[r.months];
        const cutoff = addInterval(now, { count: months, unit: 'months' }, -1);
        return [
          (dry: boolean) =>
            this.olderThan(
              r.rule,
              `${entry.title} older than ${months} months`,
              entry,
              r.dateField,
              cutoff,
              dry,
            ),
        ];
      }),
    ];
  }

  private async unconfirmedMemberships(cutoff: Date, dryRun: boolean): Promise<RuleResult> {
    const filter = { status: 'unconfirmed', createdAt: { $lt: cutoff } };
    const matched = await this.models.Membership.countDocuments(filter);
    const removed = dryRun ? 0 : (await this.models.Membership.deleteMany(filter)).deletedCount;
    return {
      rule: 'unconfirmed-opt-ins',
      description: `list memberships never confirmed within ${this.config.unconfirmedDays} days`,
      cutoff,
      matched,
      removed,
    };
  }

  /** Contacts who signed up but never confirmed, and have no other basis to be kept. */
  private async unconfirmedContacts(cutoff: Date, dryRun: boolean): Promise<RuleResult> {
    return this.removeContacts(
      'unconfirmed-contacts',
      `contacts that never confirmed an opt-in within ${this.config.unconfirmedDays} days and have no orders`,
      cutoff,
      { status: 'unconfirmed', createdAt: { $lt: cutoff } },
      async (ids) => [
        ...(await this.models.Membership.find(
          { subscriberId: { $in: ids }, status: 'subscribed' },
          { subscriberId: 1 },
        ).lean()),
        ...(await this.models.Order.find(
          { subscriberId: { $in: ids } },
          { subscriberId: 1 },
        ).lean()),
      ],
      dryRun,
    );
  }

  /**
   * No customer relationship (no order, no recorded activity) and no valid consent (no subscribed
   * membership, none ended) for N months.
   */
  private async inactiveContacts(cutoff: Date, dryRun: boolean): Promise<RuleResult> {
    return this.removeContacts(
      'inactive-contacts',
      `contacts with no order, activity or valid consent for ${this.config.contactMonths} months`,
      cutoff,
      { $and: [{ createdAt: { $lt: cutoff } }, missingOrBefore('lastActivityAt', cutoff)] },
      async (ids) => [
        ...(await this.models.Membership.find(
          {
            subscriberId: { $in: ids },
            $or: [{ status: 'subscribed' }, { updatedAt: { $gte: cutoff } }],
          },
          { subscriberId: 1 },
        ).lean()),
        ...(await this.models.Order.find(
          { subscriberId: { $in: ids }, orderedAt: { $gte: cutoff } },
          { subscriberId: 1 },
        ).lean()),
      ],
      dryRun,
    );
  }

  /** Walks candidates by `_id` in batches; those with a reason to stay are skipped. */
  private async removeContacts(
    rule: string,
    description: string,
    cutoff: Date,
    filter: Record<string, unknown>,
    keepers: (ids: Types.ObjectId[]) => Promise<Array<{ subscriberId: unknown }>>,
    dryRun: boolean,
  ): Promise<RuleResult> {
    let matched = 0;
    let removed = 0;
    let after: Types.ObjectId | undefined;
    for (;;) {
      const batch = await this.models.Subscriber.find(
        after ? { $and: [filter, { _id: { $gt: after } }] } : filter,
        { email: 1, name: 1, phone: 1 },
      )
        .sort({ _id: 1 })
        .limit(BATCH)
        .lean();
      if (batch.length === 0) break;
      after = batch.at(-1)!._id as Types.ObjectId;
      const keep = new Set(
        (await keepers(batch.map((b) => b._id as Types.ObjectId))).map((k) =>
          String(k.subscriberId),
        ),
      );
      const gone = batch.filter((sub) => !keep.has(String(sub._id)));
      matched += gone.length;
      if (dryRun || gone.length === 0) continue;
      await this.erasure.removeContacts(
        RETENTION_ACTOR,
        gone.map((g) => ({
          _id: g._id as Types.ObjectId,
          email: g.email,
          name: g.name,
          phone: g.phone,
        })),
      );
      removed += gone.length;
    }
    return { rule, description, cutoff, matched, removed };
  }

  private async olderThan(
    rule: string,
    description: string,
    entry: PersonalDataEntry,
    dateField: string,
    cutoff: Date,
    dryRun: boolean,
  ): Promise<RuleResult> {
    const coll = this.connection.collection(entry.collection);
    const filter = { [dateField]: { $lt: cutoff } };
    const matched = await coll.countDocuments(filter);
    const removed = dryRun ? 0 : (await coll.deleteMany(filter)).deletedCount;
    return { rule, description, cutoff, matched, removed };
  }
}

function toView(d: {
  _id: unknown;
  startedAt: Date;
  finishedAt?: Date | null;
  dryRun: boolean;
  trigger: string;
  rules: unknown;
  error?: string | null;
}): RetentionReportView {
  return {
    id: String(d._id),
    startedAt: d.startedAt,
    finishedAt: d.finishedAt ?? null,
    dryRun: d.dryRun,
    trigger: d.trigger,
    rules: d.rules as RuleResult[],
    error: d.error ?? null,
  };
}

/**
 * Checks "next due ≤ now" against the persisted schedule: restarts keep the rhythm, and the lease
 * in `claim` lets only one of several processes run it.
 */
export class RetentionScheduler {
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private current: Promise<unknown> = Promise.resolve();
  private readonly stopping = new AbortController();

  constructor(
    private readonly retention: RetentionService,
    private readonly logger: Logger,
    private readonly checkEveryMs = 15 * 60_000,
  ) {}

  /** One check; never throws (a failed run is reported and retried at the next check). */
  tick(): Promise<unknown> {
    this.current = this.current.then(async () => {
      try {
        const report = await this.retention.runIfDue(this.stopping.signal);
        if (report)
          this.logger.info(
            { reportId: report.id, rules: report.rules.map((r) => [r.rule, r.removed]) },
            'retention run finished',
          );
      } catch (err) {
        if (this.stopping.signal.aborted) this.logger.info('retention run stopped by shutdown');
        else this.logger.error({ err }, 'retention run failed');
      }
    });
    return this.current;
  }

  /**
   * The first check waits a minute: start-up and an early shutdown stay light, and the persisted
   * schedule means nothing is missed.
   */
  start(firstCheckMs = 60_000): void {
    this.first = setTimeout(() => void this.tick(), firstCheckMs);
    this.first.unref();
    this.timer = setInterval(() => void this.tick(), this.checkEveryMs);
    this.timer.unref();
  }

  /** Stops checking; a run in progress stops after its current rule (it is run again later). */
  async stop(): Promise<void> {
    clearTimeout(this.first);
    clearInterval(this.timer);
    this.stopping.abort();
    await this.current;
  }
}
