import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AnyBulkWriteOperation, Types } from 'mongoose';
import type { SendConfig } from '../../config/config.js';
import type {
  CampaignBatchDoc,
  CampaignDoc,
  CampaignRecipientDoc,
  RecipientStatus,
} from '../../db/models/campaign.js';
import { claimOnce } from '../../db/claims.js';
import type { Models } from '../../db/models/index.js';
import type { Mailer } from '../../mail/mailer.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { SuppressionService } from '../../unsubscribe/suppressions.js';
import type { CampaignRenderer, CompiledCampaign } from '../render/types.js';
import type { MailComposer, MailList, MailRecipient } from './compose.js';
import { RateLimiter } from './rate-limiter.js';
import type { RecipientSnapshot } from './snapshot.js';

type WorkerModels = Pick<
  Models,
  'Campaign' | 'CampaignRecipient' | 'CampaignBatch' | 'Subscriber' | 'List' | 'Claim'
>;
type Campaign = CampaignDoc & { _id: Types.ObjectId };
type Batch = CampaignBatchDoc & { _id: Types.ObjectId };
interface Entry {
  _id: Types.ObjectId;
  subscriberId: Types.ObjectId;
  listId?: Types.ObjectId | null;
  attempts: number;
}
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
  /** Idle wait between polls when there is nothing to do. */
  pollMs?: number;
}

/** The outcome of one SMTP attempt, as recorded on the recipient entry. */
interface Outcome {
  id: Types.ObjectId;
  status: RecipientStatus;
  set: Record<string, unknown>;
}

// Recipients whose suppression is re-checked in one query just before their sends.
const CHUNK = 8;
const SEGMENT_LIST: MailList = { slug: 'campaigns', name: 'Campaigns' };

/**
 * Sends running campaigns. Any number of workers (in one process or many) may run against one
 * database: a batch is claimed by a unique insert (src/db/claims.ts) and then leased, each recipient
 * goes pending -> sending (with the lease, before the SMTP transaction) -> sent | failed | retry,
 * and a `sending` entry whose lease ran out is marked `unknown`, never sent again by itself.
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

  constructor(private readonly d: SendWorkerDeps) {
    this.limiter = new RateLimiter(d.config.ratePerSecond);
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
        this.d.logger.error({ err }, 'send worker tick failed');
      }
      if (!worked && !this.stopping) {
        this.wakeUp = new AbortController();
        await sleep(this.d.pollMs ?? 500, undefined, { signal: this.wakeUp.signal }).catch(
          () => {},
        );
      }
    }
  }

  /** One pass: start due schedules, then one batch of every running campaign. True if it sent. */
  async tick(): Promise<boolean> {
    const now = this.d.clock.now();
    await this.d.models.Campaign.updateMany(
      { status: 'scheduled', sendAt: { $lte: now } },
      { $set: { status: 'running', startedAt: now } },
    );
    const running = await this.d.models.Campaign.find({ status: 'running' }).lean<Campaign[]>();
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
    return new Date(this.d.clock.now().getTime() + this.d.config.leaseSeconds * 1000);
  }

  private async takeSnapshot(campaign: Campaign): Promise<boolean> {
    const { Campaign } = this.d.models;
    const now = this.d.clock.now();
    const expired =
      campaign.snapshotLeaseExpiresAt === undefined ||
      campaign.snapshotLeaseExpiresAt === null ||
      campaign.snapshotLeaseExpiresAt < now;
    // Contenders that saw the same expired lease race for the same key; one insert wins.
    const key = `snapshot:${String(campaign._id)}:${campaign.snapshotLeaseExpiresAt?.getTime() ?? 'none'}`;
    if (!expired || !(await claimOnce(this.d.models.Claim, key, this.id))) return false;
    const mine = await Campaign.findOneAndUpdate(
      { _id: campaign._id, status: 'running', snapshot: { $ne: 'done' } },
      {
        $set: {
          snapshot: 'taking',
          snapshotLeaseOwner: this.id,
          snapshotLeaseExpiresAt: this.leaseEnd(),
        },
      },
      { new: true },
    ).lean<Campaign>();
    if (!mine) return false;
    const keepAlive = async () => {
      await Campaign.updateOne(
        { _id: campaign._id, snapshotLeaseOwner: this.id },
        { $set: { snapshotLeaseExpiresAt: this.leaseEnd() } },
      );
    };
    await this.d.snapshot.take(mine, this.d.config.batchSize, keepAlive);
    await Campaign.updateOne(
      { _id: campaign._id, snapshotLeaseOwner: this.id },
      { $set: { snapshot: 'done' }, $unset: { snapshotLeaseOwner: 1, snapshotLeaseExpiresAt: 1 } },
    );
    this.d.logger.info({ campaignId: String(campaign._id) }, 'campaign audience snapshotted');
    return true;
  }

  private async claimBatch(campaignId: Types.ObjectId): Promise<Batch | null> {
    const { CampaignBatch, Claim } = this.d.models;
    const now = this.d.clock.now();
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
      if (!(await claimOnce(Claim, `batch:${String(batch._id)}:${gen}`, this.id))) continue;
      const lease = { leaseOwner: this.id, leaseExpiresAt: this.leaseEnd(), leaseGen: gen + 1 };
      await CampaignBatch.updateOne({ _id: batch._id }, { $set: lease });
      return { ...batch, ...lease };
    }
    return null;
  }

  private async finishIfDone(campaignId: Types.ObjectId): Promise<void> {
    if (await this.d.models.CampaignBatch.exists({ campaignId, open: true })) return;
    const done = await this.d.models.Campaign.findOneAndUpdate(
      { _id: campaignId, status: 'running', snapshot: 'done' },
      { $set: { status: 'finished', finishedAt: this.d.clock.now() } },
    );
    if (done) this.d.logger.info({ campaignId: String(campaignId) }, 'campaign finished');
  }

  private compile(campaign: Campaign): CompiledCampaign {
    const key = String(campaign._id);
    const { subject, mjml } = campaign;
    const hit = this.compiled.get(key);
    // Compiled once per campaign: content is frozen once sending starts.
    if (hit && hit.subject === subject && hit.mjml === mjml) return hit.compiled;
    const compiled = this.d.renderer.compile({ subject, mjml });
    this.compiled.set(key, { subject, mjml, compiled });
    return compiled;
  }

  private async lists(campaign: Campaign): Promise<Map<string, MailList>> {
    const docs = await this.d.models.List.find(
      { _id: { $in: campaign.listIds } },
      { slug: 1, name: 1 },
    ).lean();
    return new Map(
      docs.map((l) => [String(l._id), { id: String(l._id), slug: l.slug, name: l.name }]),
    );
  }

  private async processBatch(campaign: Campaign, batch: Batch): Promise<void> {
    const { CampaignRecipient, Subscriber } = this.d.models;
    const campaignId = campaign._id;
    const now = this.d.clock.now();
    // We hold this batch by a claim (no one else writes its recipients now), and a holder that
    // finished recorded every outcome: whatever is still `sending` was left mid-transaction by a
    // holder whose lease lapsed, and may or may not have been delivered. Recorded as unknown for
    // the operator, never resent here.
    const lost = await CampaignRecipient.updateMany(
      { campaignId, batchNo: batch.batchNo, status: 'sending' },
      {
        $set: { status: 'unknown', smtpResponse: 'worker stopped during the SMTP transaction' },
        $unset: { leaseOwner: 1, leaseExpiresAt: 1 },
      },
    );
    if (lost.modifiedCount > 0) {
      this.d.logger.warn(
        { campaignId: String(campaignId), batchNo: batch.batchNo, unknown: lost.modifiedCount },
        'recipients left in an SMTP transaction by a lost worker marked unknown',
      );
    }
    const due = await CampaignRecipient.find({
      campaignId,
      batchNo: batch.batchNo,
      $or: [{ status: 'pending' }, { status: 'retry', nextAttemptAt: { $lte: now } }],
    })
      .sort({ _id: 1 })
      .lean();
    const people = await Subscriber.find(
      { _id: { $in: due.map((e) => e.subscriberId) } },
      { email: 1, name: 1, locale: 1, attributes: 1, status: 1 },
    ).lean();
    const byId = new Map(people.map((p) => [String(p._id), p]));
    const compiled = this.compile(campaign);
    const lists = await this.lists(campaign);
    const heartbeat = new BatchHeartbeat(
      this,
      campaign,
      batch,
      Math.min(1000, (this.d.config.leaseSeconds * 1000) / 4),
    );
    let next = 0;
    const lane = async () => {
      const carry: Outcome[] = [];
      try {
        while (next < due.length && heartbeat.ok) {
          const chunk = due.slice(next, next + CHUNK);
          next += chunk.length;
          await this.sendChunk(campaign, compiled, chunk, byId, lists, carry);
        }
      } finally {
        await this.record(carry);
      }
    };
    // Every lane stops before the batch is let go: a lane still sending after its batch was
    // abandoned would have its mails swept to `unknown` under it.
    const results = await Promise.allSettled(
      Array.from({ length: this.d.config.concurrency }, () =>
        lane().catch((err: unknown) => {
          heartbeat.fail();
          throw err;
        }),
      ),
    );
    await heartbeat.end();
    const failed = results.find((r) => r.status === 'rejected');
    // On failure the batch stays leased until expiry; what is left `sending` then counts unknown.
    if (failed) throw failed.reason;
    await this.releaseBatch(campaignId, batch.batchNo);
  }

  /**
   * One lane: per mail, a single round trip records the previous mail's outcome and marks this
   * one `sending` (with the lease), and only then does its SMTP transaction start. So at any
   * crash, each lane leaves at most one mail whose outcome was not written: the one in flight.
   */
  private async sendChunk(
    campaign: Campaign,
    compiled: CompiledCampaign,
    chunk: Entry[],
    people: Map<string, Person>,
    lists: Map<string, MailList>,
    carry: Outcome[],
  ): Promise<void> {
    const { CampaignRecipient } = this.d.models;
    // Suppression is checked again right before the send: an opt-out after the snapshot wins.
    const suppressed = await this.suppressedNow(chunk, people);
    const campaignInfo = {
      id: String(campaign._id),
      subject: campaign.subject,
      fromEmail: campaign.fromEmail,
    };
    for (const entry of chunk) {
      const person = people.get(String(entry.subscriberId));
      const reason = !person
        ? 'erased'
        : person.status !== 'subscribed'
          ? person.status
          : suppressed.has(String(entry._id))
            ? 'suppressed'
            : undefined;
      if (reason) {
        carry.push({ id: entry._id, status: 'skipped', set: { skipReason: reason } });
        continue;
      }
      const ops: AnyBulkWriteOperation<CampaignRecipientDoc>[] = [
        ...carry.splice(0).map((o) => this.recordOp(o)),
        {
          updateOne: {
            filter: { _id: entry._id, status: { $in: ['pending', 'retry'] } },
            update: {
              $set: { status: 'sending', leaseOwner: this.id, leaseExpiresAt: this.leaseEnd() },
              $inc: { attempts: 1 },
            },
          },
        },
      ];
      const res = await withRetry(() => CampaignRecipient.bulkWrite(ops, { ordered: true }));
      if (
        res.modifiedCount !== ops.length &&
        !(await CampaignRecipient.exists({
          _id: entry._id,
          status: 'sending',
          leaseOwner: this.id,
        }))
      ) {
        continue; // another worker took this mail over after our lease lapsed: it is theirs
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
      const message = this.d.composer.compose(campaignInfo, compiled, to, list);
      carry.push(await this.attempt(entry._id, entry.attempts + 1, message));
    }
  }

  private async suppressedNow(
    chunk: Array<{
      _id: Types.ObjectId;
      subscriberId: Types.ObjectId;
      listId?: Types.ObjectId | null;
    }>,
    people: Map<string, { email: string }>,
  ): Promise<Set<string>> {
    const out = new Set<string>();
    const byList = new Map<string, Array<{ entry: string; hash: string }>>();
    for (const e of chunk) {
      const person = people.get(String(e.subscriberId));
      if (!person) continue;
      const key = e.listId ? String(e.listId) : '';
      const group = byList.get(key) ?? [];
      group.push({ entry: String(e._id), hash: this.d.suppressions.hash(person.email) });
      byList.set(key, group);
    }
    for (const [listId, group] of byList) {
      const hit = await this.d.suppressions.suppressedHashes(
        group.map((g) => g.hash),
        listId || undefined,
      );
      for (const g of group) if (hit.has(g.hash)) out.add(g.entry);
    }
    return out;
  }

  private async attempt(
    id: Types.ObjectId,
    attempts: number,
    message: Parameters<Mailer['send']>[0],
  ): Promise<Outcome> {
    try {
      const info = await this.d.mailer.send(message);
      return {
        id,
        status: 'sent',
        set: { smtpResponse: info.response, messageId: info.messageId, sentAt: this.d.clock.now() },
      };
    } catch (err) {
      const e = err as { responseCode?: number; response?: string; code?: string; message: string };
      const reply = e.response ?? e.message;
      if (e.responseCode && e.responseCode >= 500) {
        return { id, status: 'failed', set: { smtpResponse: reply } };
      }
      // A temporary answer, or no connection at all: nothing was accepted, so trying again is safe.
      if ((e.responseCode && e.responseCode >= 400) || e.code === 'ECONNECTION') {
        if (attempts > this.d.config.maxRetries) {
          return { id, status: 'failed', set: { smtpResponse: reply } };
        }
        const delay = this.d.config.retryBaseSeconds * 1000 * 2 ** (attempts - 1);
        return {
          id,
          status: 'retry',
          set: {
            smtpResponse: reply,
            nextAttemptAt: new Date(this.d.clock.now().getTime() + delay),
          },
        };
      }
      // The connection broke with the message possibly on the wire: the outcome is not known.
      this.d.logger.warn({ code: e.code, err: e.message }, 'SMTP transaction outcome unknown');
      return { id, status: 'unknown', set: { smtpResponse: reply } };
    }
  }

  private async record(outcomes: Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    await withRetry(() =>
      this.d.models.CampaignRecipient.bulkWrite(
        outcomes.map((o) => this.recordOp(o)),
        { ordered: false },
      ),
    );
  }

  /** An outcome is written only where our lease still holds. */
  private recordOp(o: Outcome): AnyBulkWriteOperation<CampaignRecipientDoc> {
    return {
      updateOne: {
        filter:
          o.status === 'skipped'
            ? { _id: o.id, status: { $in: ['pending', 'retry'] } }
            : { _id: o.id, status: 'sending', leaseOwner: this.id },
        update: {
          $set: { status: o.status, ...o.set },
          $unset: { leaseOwner: 1, leaseExpiresAt: 1 },
        },
      },
    };
  }

  /** Closes the batch when nothing is left, else hands it back, due at the earliest retry. */
  private async releaseBatch(campaignId: Types.ObjectId, batchNo: number): Promise<void> {
    const { CampaignRecipient, CampaignBatch } = this.d.models;
    const left = await CampaignRecipient.find(
      { campaignId, batchNo, status: { $in: ['pending', 'retry', 'sending'] } },
      { status: 1, nextAttemptAt: 1 },
    ).lean();
    const now = this.d.clock.now();
    const open = left.length > 0;
    const availableAt = left.every((e) => e.status === 'retry' && e.nextAttemptAt)
      ? new Date(Math.min(...left.map((e) => e.nextAttemptAt!.getTime())))
      : now;
    await CampaignBatch.updateOne(
      { campaignId, batchNo, leaseOwner: this.id },
      {
        $set: {
          open,
          availableAt: open ? availableAt : now,
          leaseOwner: '',
          leaseExpiresAt: new Date(0),
        },
      },
    );
  }

  /**
   * Renews the batch lease; false when the batch was lost. Only the batch document is written:
   * FerretDB rewrites whole documents from what it read, so a renewal touching recipients could
   * undo an outcome a lane recorded at the same moment (docs/database.md).
   */
  async renew(batch: Batch): Promise<boolean> {
    const res = await this.d.models.CampaignBatch.updateOne(
      { _id: batch._id, leaseOwner: this.id },
      { $set: { leaseExpiresAt: this.leaseEnd() } },
    );
    return res.matchedCount === 1;
  }

  async campaignStillRunning(campaignId: Types.ObjectId): Promise<boolean> {
    return (await this.d.models.Campaign.exists({ _id: campaignId, status: 'running' })) !== null;
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

/**
 * Repeats a write the database refused for contention (FerretDB on SQLite answers SQLITE_BUSY
 * under concurrent writers). The writes here are conditional updates, so a repeat is harmless.
 */
async function withRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !/SQLITE_BUSY|database is locked/.test(String((err as Error).message)))
        throw err;
      await sleep(50 * 2 ** i);
    }
  }
}
