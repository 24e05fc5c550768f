import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { PollingLoop } from '../../shared/polling-loop.js';
import type { Types } from 'mongoose';
import type { SendConfig } from '../../config/config.js';
import {
  CAMPAIGN_STATUSES,
  type CampaignBatchDoc,
  type CampaignDoc,
} from '../../db/models/campaign.js';
import { sendingClaims } from '../../db/claims.js';
import { findByIds } from '../../db/group-read.js';
import type { Models } from '../../db/models/index.js';
import type { DomainEvents } from '../../events/domain-events.js';
import type { Mailer } from '../../mail/mailer.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { SuppressionService } from '../../unsubscribe/suppressions.js';
import type { CampaignRenderer, CompiledCampaign } from '../render/types.js';
import type { MailComposer, MailList, MailRecipient } from './compose.js';
import { writeCampaign, type CampaignWrite } from './lifecycle.js';
import { sendFailureOf } from '../../mail/send-failure.js';
import { DomainPacing, domainOf } from './domain-pacing.js';
import { RateLimiter } from './rate-limiter.js';
import { expireRecipientRecords } from './records.js';
import type { BatchEntry, RecipientSnapshot } from './snapshot.js';
import type { CampaignCounter } from '../stats/counter.js';
import type { CampaignTracking } from '../stats/tracking.js';
import {
  noOutcomes,
  WindowLedger,
  type PlannedWindow,
  type WindowOutcomes,
  type WindowRef,
} from './windows.js';

type WorkerModels = Pick<
  Models,
  | 'Campaign'
  | 'CampaignRecipient'
  | 'CampaignBatch'
  | 'CampaignBatchEntries'
  | 'CampaignWindow'
  | 'CampaignWindowOutcome'
  | 'Subscriber'
  | 'List'
  | 'Claim'
>;
type Campaign = CampaignDoc & { _id: Types.ObjectId };
type Batch = CampaignBatchDoc & { _id: Types.ObjectId };
interface Person {
  email: string;
  name: string;
  locale: string;
  status: string;
  attributes?: unknown;
}

export interface SendWorkerDeps {
  models: WorkerModels;
  mailer: Mailer;
  composer: MailComposer;
  renderer: CampaignRenderer;
  snapshot: RecipientSnapshot;
  suppressions: SuppressionService;
  clock: Clock;
  logger: Logger;
  config: SendConfig;
  events: DomainEvents;
  /** Campaign analytics: aggregate link tracking, and the counts of each recorded outcome. */
  tracking: CampaignTracking;
  counter: CampaignCounter;
  /** Idle wait between polls when there is nothing to do. */
  pollMs?: number;
}

/** What one recipient's SMTP transaction came to. */
type MailResult =
  | { status: 'sent' }
  | { status: 'failed' | 'unknown'; reply: string }
  /** `deferredByDomain`: the domain's server, not one mailbox, turned the mail away for now. */
  | { status: 'retry'; reply: string; deferredByDomain: boolean };

/** A window's recipients, read and checked, ready to go to SMTP. */
interface PreparedWindow {
  window: PlannedWindow;
  skipped: WindowOutcomes['skipped'];
  mails: Array<{ i: number; to: MailRecipient; list: MailList }>;
}

/** Everything a batch's windows share. */
interface BatchContext {
  campaign: Campaign;
  batch: Batch;
  entries: BatchEntry[];
  compiled: CompiledCampaign;
  lists: Map<string, MailList>;
  /** Unique per worker, batch and lease generation: a window opened by this holder says so. */
  owner: string;
}

const SEGMENT_LIST: MailList = { slug: 'campaigns', name: 'Campaigns' };
// Finished campaigns whose per-recipient records are due to go are looked for this often.
const RECORD_EXPIRY_EVERY_MS = 60_000;

/**
 * Sends running campaigns by the window protocol (docs/sending.md). Any number of workers, in one
 * process or many, may run against one database: a batch is leased by a unique insert
 * (src/db/claims.ts); within it, each window of recipients is opened by a unique insert before any
 * of them goes to SMTP and settled by one record of their outcomes after. A window opened by a
 * holder that died is settled as unknown by the next holder and never resent by itself.
 */
export class SendWorker {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly limiter: RateLimiter;
  private readonly domains: DomainPacing;
  private readonly ledger: WindowLedger;
  private readonly compiled = new Map<
    string,
    { subject: string; mjml: string; compiled: CompiledCampaign }
  >();
  private readonly polling: PollingLoop;
  /** Snapshots this worker is taking, by campaign id: sending starts on their first batches. */
  private readonly snapshots = new Map<string, AudienceInProgress>();
  private lastRecordExpiry = 0;
  /** Whether this worker has emitted the finished events a dead worker left behind. */
  private leftBehindChecked = false;

  constructor(private readonly deps: SendWorkerDeps) {
    this.limiter = new RateLimiter(deps.config.ratePerSecond);
    this.domains = new DomainPacing(deps.clock, {
      baseBackoffMs: deps.config.retryBaseSeconds * 1000,
      perDomainPerSecond: deps.config.domainRatePerSecond,
    });
    this.ledger = new WindowLedger(deps.models, deps.counter, deps.clock);
    this.polling = new PollingLoop(
      'send worker',
      async () => {
        if (!this.leftBehindChecked) {
          await this.emitFinishedEventsLeftBehind();
          this.leftBehindChecked = true;
        }
        const worked = await this.tick();
        await this.expireRecordsNowAndThen();
        return worked;
      },
      deps.pollMs ?? 500,
      deps.logger,
    );
  }

  start(): void {
    this.polling.start();
  }

  /**
   * Stops claiming, lets the window in flight finish and be recorded, releases held batches, and
   * lets a snapshot being taken finish.
   */
  async stop(): Promise<void> {
    await this.polling.stop();
    // A failed snapshot was logged where it failed.
    await Promise.all([...this.snapshots.values()].map((s) => s.done.catch(() => undefined)));
  }

  private async expireRecordsNowAndThen(): Promise<void> {
    if (Date.now() - this.lastRecordExpiry < RECORD_EXPIRY_EVERY_MS) return;
    this.lastRecordExpiry = Date.now();
    await expireRecipientRecords(this.deps.models, this.deps.clock, this.id);
  }

  /** One pass: start due schedules, then one batch of every running campaign. True if it sent. */
  async tick(): Promise<boolean> {
    const now = this.deps.clock.now();
    const due = await this.deps.models.Campaign.find(
      { status: 'scheduled', sendAt: { $lte: now } },
      { _id: 1 },
    ).lean();
    for (const c of due) {
      await this.write(c._id, {
        from: ['scheduled'],
        when: (doc) => Boolean(doc.sendAt && doc.sendAt <= now),
        set: { status: 'running', startedAt: now },
      });
    }
    const running = await this.deps.models.Campaign.find({ status: 'running' }).lean<Campaign[]>();
    let worked = false;
    for (const campaign of running) {
      if (this.polling.stopping) break;
      if (await this.work(campaign)) worked = true;
    }
    return worked;
  }

  private async work(campaign: Campaign): Promise<boolean> {
    const snapshotting =
      campaign.snapshot !== 'done' ? await this.snapshotting(campaign) : undefined;
    // While the snapshot is taken, the batches it has written so far are sent.
    const batch = await this.claimBatch(campaign._id);
    if (batch) {
      await this.sendBatch(campaign, batch);
      return true;
    }
    if (campaign.snapshot === 'done') {
      await this.finishIfDone(campaign._id);
      return false;
    }
    if (!snapshotting) return false; // another worker takes it
    await snapshotting.nextPage();
    return true;
  }

  /** The snapshot of this campaign this worker takes, started now if nobody holds it. */
  private async snapshotting(campaign: Campaign): Promise<AudienceInProgress | undefined> {
    const key = String(campaign._id);
    const taking = this.snapshots.get(key);
    if (taking) return taking;
    const mine = await this.claimSnapshot(campaign);
    if (!mine) return undefined;
    const started = new AudienceInProgress((pagePlaced) => this.takeSnapshot(mine, pagePlaced));
    this.snapshots.set(key, started);
    void started.done
      .catch((err: unknown) => {
        // Its lease lapses and the next worker resumes it from what was placed.
        this.deps.logger.error({ err, campaignId: key }, 'campaign snapshot failed');
      })
      .finally(() => this.snapshots.delete(key));
    return started;
  }

  private leaseEnd(): Date {
    return new Date(this.deps.clock.now().getTime() + this.deps.config.leaseSeconds * 1000);
  }

  /** Every write to a campaign document: one state version each (lifecycle.ts). */
  private write(id: Types.ObjectId, change: CampaignWrite) {
    return writeCampaign(this.deps.models, this.deps.clock, id, change, this.id);
  }

  /** Takes the snapshot lease when it is free (never taken, or its holder's lease lapsed). */
  private async claimSnapshot(campaign: Campaign): Promise<Campaign | null> {
    const now = this.deps.clock.now();
    const expired = (c: Campaign) =>
      c.snapshotLeaseExpiresAt === undefined ||
      c.snapshotLeaseExpiresAt === null ||
      c.snapshotLeaseExpiresAt < now;
    if (!expired(campaign)) return null;
    // Contenders that saw the same expired lease claim the same state version; one write wins.
    return this.write(campaign._id, {
      from: ['running'],
      when: (c) => c.snapshot !== 'done' && expired(c),
      set: {
        snapshot: 'taking',
        snapshotLeaseOwner: this.id,
        snapshotLeaseExpiresAt: this.leaseEnd(),
      },
    });
  }

  private async takeSnapshot(campaign: Campaign, pagePlaced: () => void): Promise<void> {
    const ours = (c: Campaign) => c.snapshotLeaseOwner === this.id;
    const leaseUntil = (until: Date) =>
      this.write(campaign._id, {
        from: CAMPAIGN_STATUSES,
        when: ours,
        set: { snapshotLeaseExpiresAt: until },
      });
    const keepAlive = async () => {
      pagePlaced();
      // A shutdown stops the snapshot between pages rather than wait for a large audience.
      if (this.polling.stopping) throw new SnapshotInterrupted();
      await leaseUntil(this.leaseEnd());
    };
    const { batchSize, windowSize } = this.deps.config;
    let recipientCount: number;
    try {
      recipientCount = await this.deps.snapshot.take(
        campaign,
        { batchSize, windowSize },
        keepAlive,
      );
    } catch (err) {
      if (!(err instanceof SnapshotInterrupted)) throw err;
      // Lease given back: the next worker to start resumes from what was placed, at once.
      await leaseUntil(new Date(0));
      this.deps.logger.info({ campaignId: String(campaign._id) }, 'campaign snapshot paused');
      return;
    }
    await this.write(campaign._id, {
      from: CAMPAIGN_STATUSES,
      when: ours,
      set: { snapshot: 'done', recipientCount },
      unset: { snapshotLeaseOwner: 1, snapshotLeaseExpiresAt: 1 },
    });
    this.deps.logger.info({ campaignId: String(campaign._id) }, 'campaign audience snapshotted');
  }

  private async claimBatch(campaignId: Types.ObjectId): Promise<Batch | null> {
    const { CampaignBatch } = this.deps.models;
    const now = this.deps.clock.now();
    const free = await CampaignBatch.find({
      campaignId,
      open: true,
      availableAt: { $lte: now },
      leaseExpiresAt: { $lt: now },
    })
      .sort({ batchNo: 1 })
      .limit(4)
      .lean<Batch[]>();
    for (const batch of free) {
      const gen = batch.leaseGen ?? 0;
      // The filtered read above is only a hint; the unique insert decides who holds the batch.
      if (!(await this.claimGeneration(batch, gen))) continue;
      const lease = { leaseOwner: this.id, leaseExpiresAt: this.leaseEnd(), leaseGen: gen + 1 };
      await CampaignBatch.updateOne({ _id: batch._id }, { $set: lease });
      return { ...batch, ...lease };
    }
    return null;
  }

  /**
   * Wins generation `gen` of a batch. A winner that died before writing its lease would hold the
   * generation forever, so once its claim is older than a lease and the batch still shows `gen`,
   * contenders race again under the next key.
   */
  private async claimGeneration(batch: Batch, gen: number): Promise<boolean> {
    const { CampaignBatch, Claim } = this.deps.models;
    const won = await sendingClaims(Claim).lease(
      `batch:${String(batch._id)}:${gen}`,
      this.deps.config.leaseSeconds * 1000,
      this.deps.clock.now(),
      { owner: this.id },
      async () =>
        (await CampaignBatch.findById(batch._id, { leaseGen: 1 }).lean())?.leaseGen === gen,
    );
    return won !== null;
  }

  private async finishIfDone(campaignId: Types.ObjectId): Promise<void> {
    if (await this.deps.models.CampaignBatch.exists({ campaignId, open: true })) return;
    const now = this.deps.clock.now();
    const keepDays = this.deps.config.recipientRecordDays;
    const done = await this.write(campaignId, {
      from: ['running'],
      when: (c) => c.snapshot === 'done',
      set: {
        status: 'finished',
        finishedAt: now,
        recordsKeptUntil: new Date(now.getTime() + keepDays * 86_400_000),
        finishedEventDue: true,
      },
    });
    if (!done) return;
    await this.emitFinished(campaignId);
    this.deps.logger.info({ campaignId: String(campaignId) }, 'campaign finished');
  }

  /**
   * The `campaign.finished` event, then the mark that it is stored. A worker that died between the
   * finishing write and the event leaves the mark: the next worker to start emits it (under the
   * same key, so never twice).
   */
  private async emitFinished(campaignId: Types.ObjectId): Promise<void> {
    await this.deps.events.emit([
      {
        type: 'campaign.finished',
        key: String(campaignId),
        data: { campaignId: String(campaignId) },
      },
    ]);
    await this.write(campaignId, {
      from: CAMPAIGN_STATUSES,
      set: {},
      unset: { finishedEventDue: 1 },
    });
  }

  /** Run once when a worker starts: the finished events a worker that died did not emit. */
  async emitFinishedEventsLeftBehind(): Promise<void> {
    const left = await this.deps.models.Campaign.find(
      { finishedEventDue: true },
      { _id: 1 },
    ).lean();
    for (const campaign of left) await this.emitFinished(campaign._id);
  }

  private compile(campaign: Campaign): CompiledCampaign {
    const key = String(campaign._id);
    const { subject, mjml } = campaign;
    const hit = this.compiled.get(key);
    // Compiled once per campaign: content is frozen once sending starts.
    if (hit && hit.subject === subject && hit.mjml === mjml) return hit.compiled;
    const compiled = this.deps.renderer.compile({
      subject,
      mjml,
      tracking: this.deps.tracking.of({ id: key, links: campaign.links }, campaign.tracking),
    });
    this.compiled.set(key, { subject, mjml, compiled });
    return compiled;
  }

  private async lists(campaign: Campaign): Promise<Map<string, MailList>> {
    const docs = await this.deps.models.List.find(
      { _id: { $in: campaign.listIds } },
      { slug: 1, name: 1 },
    ).lean();
    return new Map(
      docs.map((l) => [String(l._id), { id: String(l._id), slug: l.slug, name: l.name }]),
    );
  }

  /**
   * Sends what is left of a leased batch, one window at a time: the next window's recipients are
   * read and checked while the current one is on the wire. Stops early on pause, cancel,
   * shutdown, a lost lease, or a window someone else opened.
   */
  private async sendBatch(campaign: Campaign, batch: Batch): Promise<void> {
    const { models, config } = this.deps;
    const stored = await models.CampaignBatchEntries.findById(batch._id).lean();
    const entries = (stored?.entries ?? []) as BatchEntry[];
    const windowSize = batch.windowSize ?? config.windowSize;
    // The first holder of a batch knows no window of it was opened before.
    const plan =
      batch.leaseGen === 1
        ? this.ledger.planFresh(batch._id, entries.length, windowSize)
        : await this.ledger.planBatch(campaign._id, batch._id, entries.length, windowSize);
    const ctx: BatchContext = {
      campaign,
      batch,
      entries,
      compiled: this.compile(campaign),
      lists: await this.lists(campaign),
      owner: `${this.id}:${String(batch._id)}:${batch.leaseGen}`,
    };
    const heartbeat = new BatchHeartbeat(
      this,
      campaign,
      batch,
      Math.min(1000, (config.leaseSeconds * 1000) / 4),
    );
    const waiting: Date[] = plan.waitingUntil ? [plan.waitingUntil] : [];
    let sentAll = false;
    let lost = false;
    try {
      let next = plan.due[0] ? this.prepare(ctx, plan.due[0]) : undefined;
      for (let k = 0; next; k++) {
        const prepared = await next;
        next = undefined;
        if (!heartbeat.ok) break;
        const settled = this.sendWindow(ctx, prepared);
        const following = plan.due[k + 1];
        if (following) {
          next = this.prepare(ctx, following);
          // Awaited on the next turn; until then a failure must not count as unhandled.
          next.catch(() => {});
        }
        const outcomes = await settled;
        if (!outcomes) {
          lost = true;
          break;
        }
        if (outcomes.retryAt && outcomes.retry.length > 0) waiting.push(outcomes.retryAt);
        if (!next) sentAll = true;
      }
      if (plan.due.length === 0) sentAll = true;
    } finally {
      await heartbeat.end();
    }
    if (lost) return; // the batch has another holder now
    await this.releaseBatch(batch, !sentAll, waiting);
  }

  /** Reads a window's people and checks them right before their sends. */
  private async prepare(ctx: BatchContext, window: PlannedWindow): Promise<PreparedWindow> {
    const entries = window.entryIndexes.map((i) => ({ i, entry: ctx.entries[i]! }));
    const people = await findByIds<Person>(
      this.deps.models.Subscriber,
      entries.map((e) => e.entry.subscriberId),
      { email: 1, name: 1, locale: 1, attributes: 1, status: 1 },
    );
    // Suppression is checked again right before the send: an opt-out after the snapshot wins.
    const suppressed = await this.suppressedNow(entries, people);
    const prepared: PreparedWindow = { window, skipped: [], mails: [] };
    for (const { i, entry } of entries) {
      const person = people.get(String(entry.subscriberId));
      const reason = !person
        ? 'erased'
        : person.status !== 'subscribed'
          ? person.status
          : suppressed.has(i)
            ? 'suppressed'
            : undefined;
      if (reason || !person) {
        prepared.skipped.push({ i, reason: reason ?? 'erased' });
        continue;
      }
      prepared.mails.push({
        i,
        to: {
          subscriberId: String(entry.subscriberId),
          email: person.email,
          name: person.name,
          locale: person.locale,
          attributes: (person.attributes ?? {}) as MailRecipient['attributes'],
        },
        list: (entry.listId && ctx.lists.get(String(entry.listId))) || SEGMENT_LIST,
      });
    }
    return prepared;
  }

  private async suppressedNow(
    entries: Array<{ i: number; entry: BatchEntry }>,
    people: Map<string, Person>,
  ): Promise<Set<number>> {
    const out = new Set<number>();
    const byList = new Map<string, Array<{ i: number; hash: string }>>();
    for (const { i, entry } of entries) {
      const person = people.get(String(entry.subscriberId));
      if (!person) continue;
      const key = entry.listId ? String(entry.listId) : '';
      const group = byList.get(key) ?? [];
      group.push({ i, hash: this.deps.suppressions.hash(person.email) });
      byList.set(key, group);
    }
    for (const [listId, group] of byList) {
      const hit = await this.deps.suppressions.suppressedHashes(
        group.map((g) => g.hash),
        listId || undefined,
      );
      for (const g of group) if (hit.has(g.hash)) out.add(g.i);
    }
    return out;
  }

  /**
   * The protocol for one window: open it (one insert naming who goes to SMTP), send them, record
   * their outcomes (one insert). Null when someone else had opened it: nothing was sent.
   */
  private async sendWindow(
    ctx: BatchContext,
    { window, skipped, mails }: PreparedWindow,
  ): Promise<WindowOutcomes | null> {
    const ref: WindowRef = {
      campaignId: ctx.campaign._id,
      batchId: ctx.batch._id,
      attempt: window.attempt,
      cell: window.cell,
    };
    const handedToSmtp = mails.map((m) => m.i);
    // A window with nobody to send needs no open record: its outcome alone settles it.
    if (handedToSmtp.length > 0 && !(await this.ledger.openWindow(ref, handedToSmtp, ctx.owner))) {
      return null;
    }
    const outcomes: WindowOutcomes = { ...noOutcomes(), skipped };
    const campaignInfo = {
      id: String(ctx.campaign._id),
      subject: ctx.campaign.subject,
      fromEmail: ctx.campaign.fromEmail,
    };
    const retryAfter = (attempt: number) =>
      this.deps.clock.now().getTime() +
      this.deps.config.retryBaseSeconds * 1000 * 2 ** (attempt - 1);
    let retryAt = 0;
    // A recipient held back for its domain was not tried: only real tries count towards the limit.
    const retry = (i: number, reply: string, notBefore: number, tried: boolean) => {
      const tries = (window.triesBefore?.get(i) ?? 0) + (tried ? 1 : 0);
      if (tries > this.deps.config.maxRetries) {
        outcomes.failed.push({ i, reply });
        return;
      }
      outcomes.retry.push({ i, reply, tries });
      retryAt = Math.max(retryAt, notBefore);
    };
    let next = 0;
    const lane = async () => {
      while (next < mails.length) {
        const mail = mails[next++]!;
        const domain = domainOf(mail.to.email);
        // Held back, not handed to SMTP: its domain is deferring; the others keep their pace.
        const backingOff = this.domains.backingOffUntil(domain);
        if (backingOff) {
          retry(mail.i, `${domain} is deferring mail; held back`, backingOff.getTime(), false);
          continue;
        }
        await this.domains.take(domain);
        await this.limiter.take();
        const message = this.deps.composer.compose(campaignInfo, ctx.compiled, mail.to, mail.list);
        const result = await this.transact(message);
        switch (result.status) {
          case 'sent':
            this.domains.accepted(domain);
            outcomes.sent.push(mail.i);
            break;
          case 'unknown':
            outcomes.unknown.push(mail.i);
            break;
          case 'failed':
            outcomes.failed.push({ i: mail.i, reply: result.reply });
            break;
          case 'retry':
            if (result.deferredByDomain) this.domains.deferred(domain);
            retry(mail.i, result.reply, retryAfter(window.attempt), true);
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.deps.config.concurrency, mails.length) }, lane),
    );
    if (outcomes.retry.length > 0) outcomes.retryAt = new Date(retryAt);
    return this.ledger.recordWindowOutcomes(ref, outcomes);
  }

  /** One SMTP transaction; never throws. */
  private async transact(message: Parameters<Mailer['send']>[0]): Promise<MailResult> {
    try {
      await this.deps.mailer.send(message);
      return { status: 'sent' };
    } catch (err) {
      const { status, reply, responseCode, code } = sendFailureOf(err);
      if (status === 'retry')
        return { status, reply, deferredByDomain: deferredByDomain(responseCode, reply) };
      if (status === 'unknown')
        this.deps.logger.warn({ code, err: reply }, 'SMTP transaction outcome unknown');
      return { status, reply };
    }
  }

  /**
   * Closes the batch when nothing is left, else hands it back: due at once when it stopped early
   * (pause, shutdown), else at the earliest retry. Only the holder writes it, by `_id`.
   */
  private async releaseBatch(batch: Batch, unfinished: boolean, waiting: Date[]): Promise<void> {
    const { CampaignBatch } = this.deps.models;
    const now = this.deps.clock.now();
    const open = unfinished || waiting.length > 0;
    const availableAt =
      unfinished || waiting.length === 0
        ? now
        : new Date(Math.min(...waiting.map((d) => d.getTime())));
    const current = await CampaignBatch.findById(batch._id, { leaseOwner: 1 }).lean();
    if (current?.leaseOwner !== this.id) return; // lost to another worker meanwhile
    await CampaignBatch.updateOne(
      { _id: batch._id },
      { $set: { open, availableAt, leaseOwner: '', leaseExpiresAt: new Date(0) } },
    );
  }

  /**
   * Renews the batch lease; false when the batch was lost. Only the batch document is written:
   * an update may write back the whole document it read (docs/database.md).
   */
  async renew(batch: Batch): Promise<boolean> {
    const res = await this.deps.models.CampaignBatch.updateOne(
      { _id: batch._id, leaseOwner: this.id },
      { $set: { leaseExpiresAt: this.leaseEnd() } },
    );
    return res.matchedCount === 1;
  }

  async campaignStillRunning(campaignId: Types.ObjectId): Promise<boolean> {
    const c = await this.deps.models.Campaign.findById(campaignId, { status: 1 }).lean();
    return c?.status === 'running';
  }

  get isStopping(): boolean {
    return this.polling.stopping;
  }
}

class SnapshotInterrupted extends Error {
  override name = 'SnapshotInterrupted';
}

/** A snapshot taken in the background, and a way to wait until it has placed another page. */
class AudienceInProgress {
  private waiting: Array<() => void> = [];
  private ended = false;
  readonly done: Promise<void>;

  constructor(take: (pagePlaced: () => void) => Promise<void>) {
    this.done = take(() => this.wake()).finally(() => {
      this.ended = true;
      this.wake();
    });
  }

  /** Resolves once the next page of the audience is placed in batches, or the snapshot ends. */
  nextPage(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private wake(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

/**
 * Keeps a batch's lease alive on a timer, so even a window stuck in a slow SMTP transaction keeps
 * its batch; and notices pause, cancel or a lost lease, after which no further window is opened.
 */
class BatchHeartbeat {
  private alive = true;
  private readonly timer: NodeJS.Timeout;
  private beating: Promise<void> = Promise.resolve();

  constructor(
    private readonly worker: SendWorker,
    private readonly campaign: Campaign,
    private readonly batch: Batch,
    everyMs: number,
  ) {
    this.timer = setInterval(() => {
      this.beating = this.beat();
    }, everyMs);
  }

  get ok(): boolean {
    return this.alive && !this.worker.isStopping;
  }

  private async beat(): Promise<void> {
    try {
      this.alive =
        this.alive &&
        (await this.worker.campaignStillRunning(this.campaign._id)) &&
        (await this.worker.renew(this.batch));
    } catch {
      // A database hiccup: keep going; if it lasts, the lease lapses and the batch is recovered.
    }
  }

  async end(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
  }
}

/**
 * Whether a temporary refusal is about the sender's pace or the server rather than one mailbox:
 * 421 (closing, too many connections), 451 (local error, greylisting), or an enhanced status of
 * 4.3 (system), 4.4 (network) or 4.7 (policy, rate limits). A full or busy mailbox (450 4.2.x,
 * 452 4.2.2) holds back only its own recipient.
 */
function deferredByDomain(code: number | undefined, reply: string): boolean {
  return code === 421 || code === 451 || /^4\d\d[ -]4\.[347]\./.test(reply);
}
