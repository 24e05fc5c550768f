import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Types } from 'mongoose';
import type { SendConfig } from '../../config/config.js';
import {
  CAMPAIGN_STATUSES,
  type CampaignBatchDoc,
  type CampaignDoc,
  type RecipientStatus,
} from '../../db/models/campaign.js';
import { insertEach, writeInOrder } from '../../db/bulk.js';
import { sendingClaims } from '../../db/claims.js';
import type { Models } from '../../db/models/index.js';
import type { DomainEvents } from '../../events/domain-events.js';
import type { Mailer } from '../../mail/mailer.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { SuppressionService } from '../../unsubscribe/suppressions.js';
import type { CampaignRenderer, CompiledCampaign } from '../render/types.js';
import type { MailComposer, MailList, MailRecipient } from './compose.js';
import { writeCampaign, type CampaignWrite } from './lifecycle.js';
import { RateLimiter } from './rate-limiter.js';
import { findByIds } from '../../db/group-read.js';
import type { BatchEntry, RecipientSnapshot } from './snapshot.js';
import type { CampaignCounter } from '../stats/counter.js';
import { outcomeCounts } from '../stats/metrics.js';
import type { CampaignTracking } from '../stats/tracking.js';

type WorkerModels = Pick<
  Models,
  | 'Campaign'
  | 'CampaignRecipient'
  | 'CampaignBatch'
  | 'CampaignBatchEntries'
  | 'Subscriber'
  | 'List'
  | 'Claim'
>;
type Campaign = CampaignDoc & { _id: Types.ObjectId };
type Batch = CampaignBatchDoc & { _id: Types.ObjectId };
/** A batch entry with the attempt to make now. */
type Due = BatchEntry & { attempt: number };
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

/** The outcome of one attempt, as recorded on the recipient's document. */
interface Outcome {
  entry: Due;
  status: RecipientStatus;
  set: Record<string, unknown>;
}

// Recipients read, and re-checked for suppression, together just before their sends.
const CHUNK = 8;
const SEGMENT_LIST: MailList = { slug: 'campaigns', name: 'Campaigns' };

/**
 * Sends running campaigns. Any number of workers (in one process or many) may run against one
 * database: a batch is claimed by a unique insert (src/db/claims.ts) and then leased; each attempt
 * of each recipient is claimed by a unique insert before its SMTP transaction, so no two workers
 * make the same attempt; an attempt claimed but never recorded (its worker died) is marked
 * `unknown` by the batch's next holder, never sent again by itself. Per recipient the database sees
 * only `_id` reads and writes, batched across lanes.
 */
export class SendWorker {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly limiter: RateLimiter;
  private readonly compiled = new Map<
    string,
    { subject: string; mjml: string; compiled: CompiledCampaign }
  >();
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: AbortController | undefined;

  constructor(private readonly deps: SendWorkerDeps) {
    this.limiter = new RateLimiter(deps.config.ratePerSecond);
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Stops claiming, lets the mails in flight finish and be recorded, releases held batches. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.abort();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let worked = false;
      try {
        worked = await this.tick();
      } catch (err) {
        this.deps.logger.error({ err }, 'send worker tick failed');
      }
      if (!worked && !this.stopping) {
        this.wakeUp = new AbortController();
        await sleep(this.deps.pollMs ?? 500, undefined, { signal: this.wakeUp.signal }).catch(
          () => {},
        );
      }
    }
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
      if (this.stopping) break;
      if (await this.work(campaign)) worked = true;
    }
    return worked;
  }

  private async work(campaign: Campaign): Promise<boolean> {
    if (campaign.snapshot !== 'done') return this.takeSnapshot(campaign);
    const batch = await this.claimBatch(campaign._id);
    if (batch) {
      await this.processBatch(campaign, batch);
      return true;
    }
    await this.finishIfDone(campaign._id);
    return false;
  }

  private leaseEnd(): Date {
    return new Date(this.deps.clock.now().getTime() + this.deps.config.leaseSeconds * 1000);
  }

  /** Every write to a campaign document: one state version each (lifecycle.ts). */
  private write(id: Types.ObjectId, change: CampaignWrite) {
    return writeCampaign(this.deps.models, this.deps.clock, id, change, this.id);
  }

  private async takeSnapshot(campaign: Campaign): Promise<boolean> {
    const now = this.deps.clock.now();
    const expired = (c: Campaign) =>
      c.snapshotLeaseExpiresAt === undefined ||
      c.snapshotLeaseExpiresAt === null ||
      c.snapshotLeaseExpiresAt < now;
    if (!expired(campaign)) return false;
    // Contenders that saw the same expired lease claim the same state version; one write wins.
    const mine = await this.write(campaign._id, {
      from: ['running'],
      when: (c) => c.snapshot !== 'done' && expired(c),
      set: {
        snapshot: 'taking',
        snapshotLeaseOwner: this.id,
        snapshotLeaseExpiresAt: this.leaseEnd(),
      },
    });
    if (!mine) return false;
    const ours = (c: Campaign) => c.snapshotLeaseOwner === this.id;
    const keepAlive = async () => {
      await this.write(campaign._id, {
        from: CAMPAIGN_STATUSES,
        when: ours,
        set: { snapshotLeaseExpiresAt: this.leaseEnd() },
      });
    };
    const recipientCount = await this.deps.snapshot.take(
      mine,
      this.deps.config.batchSize,
      keepAlive,
    );
    await this.write(campaign._id, {
      from: CAMPAIGN_STATUSES,
      when: ours,
      set: { snapshot: 'done', recipientCount },
      unset: { snapshotLeaseOwner: 1, snapshotLeaseExpiresAt: 1 },
    });
    this.deps.logger.info({ campaignId: String(campaign._id) }, 'campaign audience snapshotted');
    return true;
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
    const done = await this.write(campaignId, {
      from: ['running'],
      when: (c) => c.snapshot === 'done',
      set: { status: 'finished', finishedAt: this.deps.clock.now() },
    });
    if (!done) return;
    await this.deps.events.emit([
      {
        type: 'campaign.finished',
        key: String(campaignId),
        data: { campaignId: String(campaignId) },
      },
    ]);
    this.deps.logger.info({ campaignId: String(campaignId) }, 'campaign finished');
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

  private async processBatch(campaign: Campaign, batch: Batch): Promise<void> {
    const { models } = this.deps;
    const list = await models.CampaignBatchEntries.findById(batch._id).lean();
    const { due, waiting } = await this.dueEntries(batch, list?.entries ?? []);
    const compiled = this.compile(campaign);
    const lists = await this.lists(campaign);
    const recorder = new Recorder(
      models,
      this.deps.counter,
      `${this.id}:${String(batch._id)}:${batch.leaseGen}`,
      campaign._id,
      batch.batchNo,
      this.deps.clock,
    );
    const heartbeat = new BatchHeartbeat(
      this,
      campaign,
      batch,
      Math.min(1000, (this.deps.config.leaseSeconds * 1000) / 4),
    );
    let next = 0;
    let cut = false;
    const lane = async () => {
      while (next < due.length && heartbeat.ok) {
        const chunk = due.slice(next, next + CHUNK);
        next += chunk.length;
        const ctx = { recorder, heartbeat, waiting };
        if (!(await this.sendChunk(campaign, compiled, chunk, lists, ctx))) cut = true;
      }
    };
    // Every lane stops before the batch is let go: a lane still sending after its batch was
    // abandoned could race the next holder.
    const results = await Promise.allSettled(
      Array.from({ length: this.deps.config.concurrency }, () =>
        lane().catch((err: unknown) => {
          heartbeat.fail();
          throw err;
        }),
      ),
    );
    await heartbeat.end();
    const failed = results.find((r) => r.status === 'rejected');
    // On failure the batch stays leased until expiry; its next holder finds the claims of the
    // attempts whose outcome was not recorded and marks them unknown.
    if (failed) throw failed.reason;
    await this.releaseBatch(batch, cut || next < due.length, waiting);
  }

  /**
   * What is left to send in a batch. A batch nobody held before is all first attempts (or, from
   * retry-unknown, the attempt its entry names): no read needed. One that was held before (a retry
   * wait, a pause, a dead holder) is checked against each recipient's recorded outcome, by `_id`;
   * a recipient with none yet is due (if a dead holder claimed that attempt, its claim says so).
   */
  private async dueEntries(
    batch: Batch,
    entries: BatchEntry[],
  ): Promise<{ due: Due[]; waiting: Date[] }> {
    const waiting: Date[] = [];
    if (batch.leaseGen === 1) {
      return { due: entries.map((e) => ({ ...e, attempt: e.attempt ?? 1 })), waiting };
    }
    const now = this.deps.clock.now();
    const due: Due[] = [];
    const recorded = await findByIds<{ status: string; attempts: number; nextAttemptAt?: Date }>(
      this.deps.models.CampaignRecipient,
      entries.map((e) => e.recipientId),
      { status: 1, attempts: 1, nextAttemptAt: 1 },
    );
    for (const e of entries) {
      const stored = recorded.get(String(e.recipientId));
      const attempt = e.attempt ?? 1;
      if (!stored) {
        due.push({ ...e, attempt });
      } else if (stored.status === 'retry' && stored.attempts >= attempt) {
        if (stored.nextAttemptAt && stored.nextAttemptAt > now) waiting.push(stored.nextAttemptAt);
        else due.push({ ...e, attempt: stored.attempts + 1 });
      } else if (stored.attempts < attempt && stored.status !== 'skipped') {
        // Not attempted yet, or claimed by a holder that died: the claim tells which.
        due.push({ ...e, attempt });
      }
    }
    return { due, waiting };
  }

  /**
   * Sends one chunk; false when it stopped early (pause, cancel, shutdown, lost lease). Per mail:
   * its claim (`send:<campaign>:<subscriber>:<attempt>`, a unique insert) is written, together with
   * the lane's previous outcome, before its SMTP transaction starts; whoever loses a claim does not
   * send. So at any crash each lane leaves at most one answered attempt without a
   * recorded outcome (see Recorder), which the next holder marks unknown with any attempt claimed
   * but not yet on the wire; none is resent by itself.
   */
  private async sendChunk(
    campaign: Campaign,
    compiled: CompiledCampaign,
    chunk: Due[],
    lists: Map<string, MailList>,
    {
      recorder,
      heartbeat,
      waiting,
    }: { recorder: Recorder; heartbeat: BatchHeartbeat; waiting: Date[] },
  ): Promise<boolean> {
    const people = await this.people(chunk);
    // Suppression is checked again right before the send: an opt-out after the snapshot wins.
    const suppressed = await this.suppressedNow(chunk, people);
    const campaignInfo = {
      id: String(campaign._id),
      subject: campaign.subject,
      fromEmail: campaign.fromEmail,
    };
    let previous: Outcome | undefined;
    try {
      for (const entry of chunk) {
        if (!heartbeat.ok) return false;
        const person = people.get(String(entry.subscriberId));
        const reason = !person
          ? 'erased'
          : person.status !== 'subscribed'
            ? person.status
            : suppressed.has(String(entry.recipientId))
              ? 'suppressed'
              : undefined;
        if (reason) {
          recorder.add({ entry, status: 'skipped', set: { skipReason: reason } });
          continue;
        }
        const claimed = await recorder.claim(String(entry.subscriberId), entry.attempt, previous);
        previous = undefined;
        if (!claimed) {
          // Claimed before by a holder that recorded no outcome: it died in the transaction.
          recorder.add(lostAttempt(entry));
          continue;
        }
        const to: MailRecipient = {
          subscriberId: String(entry.subscriberId),
          email: person!.email,
          name: person!.name,
          locale: person!.locale,
          attributes: (person!.attributes ?? {}) as MailRecipient['attributes'],
        };
        const list = (entry.listId && lists.get(String(entry.listId))) || SEGMENT_LIST;
        await this.limiter.take();
        const message = this.deps.composer.compose(campaignInfo, compiled, to, list);
        previous = await this.attempt(entry, message);
        if (previous.status === 'retry') waiting.push(previous.set.nextAttemptAt as Date);
      }
    } finally {
      if (previous) recorder.add(previous);
      await recorder.flush();
    }
    return true;
  }

  /** The chunk's people, in one read by `_id`. */
  private people(chunk: Due[]): Promise<Map<string, Person>> {
    return findByIds<Person>(
      this.deps.models.Subscriber,
      chunk.map((e) => e.subscriberId),
      { email: 1, name: 1, locale: 1, attributes: 1, status: 1 },
    );
  }

  private async suppressedNow(chunk: Due[], people: Map<string, Person>): Promise<Set<string>> {
    const out = new Set<string>();
    const byList = new Map<string, Array<{ entry: string; hash: string }>>();
    for (const e of chunk) {
      const person = people.get(String(e.subscriberId));
      if (!person) continue;
      const key = e.listId ? String(e.listId) : '';
      const group = byList.get(key) ?? [];
      group.push({ entry: String(e.recipientId), hash: this.deps.suppressions.hash(person.email) });
      byList.set(key, group);
    }
    for (const [listId, group] of byList) {
      const hit = await this.deps.suppressions.suppressedHashes(
        group.map((g) => g.hash),
        listId || undefined,
      );
      for (const g of group) if (hit.has(g.hash)) out.add(g.entry);
    }
    return out;
  }

  private async attempt(entry: Due, message: Parameters<Mailer['send']>[0]): Promise<Outcome> {
    const attempts = entry.attempt;
    const counted = { attempts };
    try {
      const info = await this.deps.mailer.send(message);
      return {
        entry,
        status: 'sent',
        set: {
          ...counted,
          smtpResponse: info.response,
          messageId: info.messageId,
          sentAt: this.deps.clock.now(),
        },
      };
    } catch (err) {
      const e = err as { responseCode?: number; response?: string; code?: string; message: string };
      const reply = e.response ?? e.message;
      if (e.responseCode && e.responseCode >= 500) {
        return { entry, status: 'failed', set: { ...counted, smtpResponse: reply } };
      }
      // A temporary answer, or no connection at all: nothing was accepted, so trying again is safe.
      if ((e.responseCode && e.responseCode >= 400) || e.code === 'ECONNECTION') {
        if (attempts > this.deps.config.maxRetries) {
          return { entry, status: 'failed', set: { ...counted, smtpResponse: reply } };
        }
        const delay = this.deps.config.retryBaseSeconds * 1000 * 2 ** (attempts - 1);
        return {
          entry,
          status: 'retry',
          set: {
            ...counted,
            smtpResponse: reply,
            nextAttemptAt: new Date(this.deps.clock.now().getTime() + delay),
          },
        };
      }
      // The connection broke with the message possibly on the wire: the outcome is not known.
      this.deps.logger.warn({ code: e.code, err: e.message }, 'SMTP transaction outcome unknown');
      return { entry, status: 'unknown', set: { ...counted, smtpResponse: reply } };
    }
  }

  /**
   * Closes the batch when nothing is left, else hands it back: due at once when lanes stopped early
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
   * an update may write back the whole document it read, so a renewal touching recipients could
   * undo an outcome a lane recorded at the same moment (docs/database.md).
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
    return this.stopping;
  }
}

/**
 * Keeps a batch's lease (and the leases of its mails in flight) alive on a timer, so even a lane
 * stuck in a slow SMTP transaction keeps its claim; and notices pause, cancel or a lost lease, after
 * which lanes stop taking chunks.
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

  fail(): void {
    this.alive = false;
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

const lostAttempt = (e: Due): Outcome => ({
  entry: e,
  status: 'unknown',
  set: { attempts: e.attempt, smtpResponse: 'worker stopped during the SMTP transaction' },
});

/**
 * Group commit for the lanes of one batch: claims go out as one unordered insert, first outcomes
 * as another (the recipient's document is created with its first outcome), later ones as
 * `_id`-only updates in bulk commands; lanes that reach the database together share its round
 * trips. A lane's previous outcome goes out with its next claim, so at most one per lane is
 * unwritten.
 */
class Recorder {
  private outcomes: Outcome[] = [];
  private claims: Array<{ key: string; settle: (won: boolean | Error) => void }> = [];
  private waiters: Array<(err?: unknown) => void> = [];
  private busy = false;

  constructor(
    private readonly models: Pick<Models, 'CampaignRecipient' | 'Claim'>,
    private readonly counter: CampaignCounter,
    /** Unique per worker, batch and lease generation: a claim of ours is one made in this run. */
    private readonly owner: string,
    private readonly campaignId: Types.ObjectId,
    private readonly batchNo: number,
    private readonly clock: Clock,
  ) {}

  add(outcome: Outcome): void {
    this.outcomes.push(outcome);
  }

  /** Writes `previous`, then claims this attempt; true when the claim is ours. */
  claim(subscriberId: string, attempt: number, previous?: Outcome): Promise<boolean> {
    if (previous) this.outcomes.push(previous);
    const key = `send:${String(this.campaignId)}:${subscriberId}:${attempt}`;
    const won = new Promise<boolean>((resolve, reject) =>
      this.claims.push({ key, settle: (r) => (r instanceof Error ? reject(r) : resolve(r)) }),
    );
    this.kick();
    return won;
  }

  /** Resolves once everything added so far is written. */
  flush(): Promise<void> {
    const done = new Promise<void>((resolve, reject) =>
      this.waiters.push((err) => (err ? reject(err as Error) : resolve())),
    );
    this.kick();
    return done;
  }

  private kick(): void {
    if (this.busy) return;
    this.busy = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    while (this.outcomes.length > 0 || this.claims.length > 0) {
      const outcomes = this.outcomes.splice(0);
      const claims = this.claims.splice(0);
      const waiters = this.waiters.splice(0);
      try {
        // Side by side: a claim never waits for another lane's outcome. A lane's own previous
        // outcome may then land just after its next claim, so a crash can leave one lane with two
        // attempts unrecorded: one answered (or not), one not yet on the wire. Both become unknown.
        const [won] = await Promise.all([
          this.insertClaims(claims.map((c) => c.key)),
          this.writeOutcomes(outcomes),
        ]);
        claims.forEach((c, i) => c.settle(won[i]!));
        waiters.forEach((w) => w());
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        claims.forEach((c) => c.settle(e));
        waiters.forEach((w) => w(e));
      }
    }
    // Decided in the same turn as the loop condition, so nothing added meanwhile is left waiting.
    this.busy = false;
    this.waiters.splice(0).forEach((w) => w());
  }

  private async writeOutcomes(outcomes: Outcome[]): Promise<void> {
    const first = outcomes.filter((o) => o.entry.attempt === 1);
    const inserted = await insertEach(
      this.models.CampaignRecipient.collection,
      first.map((o) => this.recipientDoc(o)),
    );
    // A document already there is our own insert repeated after a transient error, or the
    // `pending` document of a campaign snapshotted before recipients waited for their first outcome.
    const updates = [
      ...first.filter((_, i) => !inserted[i]),
      ...outcomes.filter((o) => o.entry.attempt !== 1),
    ];
    await writeInOrder(
      this.models.CampaignRecipient,
      updates.map((o) => ({
        updateOne: {
          filter: { _id: o.entry.recipientId },
          update: { $set: { status: o.status, ...o.set } },
        },
      })),
    );
    this.counter.add(String(this.campaignId), outcomeCounts(outcomes), this.clock.now());
  }

  private recipientDoc(o: Outcome): Record<string, unknown> {
    return {
      _id: o.entry.recipientId,
      campaignId: this.campaignId,
      subscriberId: o.entry.subscriberId,
      ...(o.entry.listId ? { listId: o.entry.listId } : {}),
      batchNo: this.batchNo,
      attempts: 0,
      status: o.status,
      ...o.set,
    };
  }

  private async insertClaims(keys: string[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const at = this.clock.now();
    // The driver directly: claims have string keys, and a refused key is an answer, not an error.
    const won = await insertEach(
      this.models.Claim.collection,
      keys.map((_id) => ({ _id, owner: this.owner, at })),
    );
    // A key already there may be ours from a repeat after SQLITE_BUSY: its owner tells.
    for (const [i, key] of keys.entries()) {
      if (won[i]) continue;
      const claim = await this.models.Claim.findById(key, { owner: 1 }).lean();
      won[i] = claim?.owner === this.owner;
    }
    return won;
  }
}
