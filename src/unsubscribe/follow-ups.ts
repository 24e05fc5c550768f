import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import type { UnsubscribeFollowUpDoc } from '../db/models/unsubscribe-event.js';
import { retryTransient } from '../db/retry.js';
import type { Logger } from '../shared/logger.js';
import { insertEach } from '../db/bulk.js';
import { GroupCommit } from '../db/group-commit.js';
import { mapConcurrent } from '../shared/concurrency.js';
import type { OptOut, SuppressedOptOut, UnsubscribeRequest, UnsubscribeResult } from './service.js';
import type { UnsubscribeService } from './service.js';
import { READ_CONCURRENCY, type SuppressionService, type SuppressionSpec } from './suppressions.js';

type FollowUp = UnsubscribeFollowUpDoc & { _id: Types.ObjectId };

interface Pending {
  followUp: FollowUp;
  suppressions: SuppressionSpec[];
}

export interface FollowUpOptions {
  /** Follow-ups completed per step: one read of the memberships serves them all. */
  batchSize: number;
  /** How often the outbox is looked at with nothing announced (work left by another process). */
  idleMs: number;
  /** After an opt-out is recorded, how long to wait for more to complete together. */
  gatherMs: number;
}

const DEFAULTS: FollowUpOptions = { batchSize: 200, idleMs: 1000, gatherMs: 20 };

/**
 * Opt-outs that arrive in bulk: RFC 8058 one-click at the rate mailbox providers send it, and
 * inbound mail (mailto tokens, replies, complaints, bounces). The request writes only what must be
 * durable before the 200: a to-do (collection unsubscribe_followups) and the suppression, each
 * one `_id`-keyed insert, with concurrent requests' inserts grouped into one insertMany. The rest of
 * the opt-out (memberships, subscriber status, consent ledger, event) is UnsubscribeService.complete
 * run here in the background, in batches, and the to-do is deleted only after it.
 *
 * Crash safety: the to-do is written before the suppression, so any crash leaves either nothing
 * (no 200 was given) or a to-do, which the next step (of this process after a restart, or of any
 * other process) completes, suppression included; every step is idempotent, so a to-do completed
 * twice (two processes, or a crash after the work but before the delete) changes nothing more.
 *
 * Reads the person sees are consistent: the preference centre and any lift of a suppression first
 * settle() that person's to-dos, so the page shows the opt-out and a resubscribe is never undone
 * by a late membership update. The send worker needs nothing: it reads only suppressions.
 */
export class UnsubscribeFollowUps {
  private readonly opts: FollowUpOptions;
  private readonly commit = new GroupCommit<Pending, boolean>((items) => this.write(items));
  /** Subscriber id -> the step completing their to-dos now, so settle() can wait for it. */
  private readonly busy = new Map<string, Promise<void>>();
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private due = Infinity;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly models: Pick<Models, 'Subscriber' | 'UnsubscribeFollowUp'>,
    private readonly suppressions: SuppressionService,
    private readonly unsubscribe: UnsubscribeService,
    private readonly logger: Logger,
    opts: Partial<FollowUpOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /**
   * The opt-out, durable: once this resolves the address is suppressed and the rest will follow.
   * `changed` is whether this request brought a suppression into being (false for a repeat).
   */
  async record(req: UnsubscribeRequest): Promise<UnsubscribeResult> {
    const subscriber = await retryTransient(() =>
      this.models.Subscriber.findById(req.subscriberId, { email: 1, locale: 1, name: 1 }).lean(),
    );
    if (!subscriber) return { changed: false, found: false };
    const optOut = this.unsubscribe.decide(req);
    const emailHash = this.suppressions.hash(subscriber.email);
    const followUp: FollowUp = {
      _id: new Types.ObjectId(),
      subscriberId: subscriber._id,
      emailHash,
      allLists: optOut.allLists,
      listIds: optOut.listIds.map((id) => new Types.ObjectId(id)),
      reason: optOut.reason,
      channel: optOut.channel,
      ...(optOut.campaignId ? { campaignId: new Types.ObjectId(optOut.campaignId) } : {}),
      ...(optOut.inboundMessageId
        ? { inboundMessageId: new Types.ObjectId(optOut.inboundMessageId) }
        : {}),
      at: optOut.at,
    };
    const changed = await this.commit.add({
      followUp,
      suppressions: this.unsubscribe.suppressionsOf(optOut, emailHash),
    });
    this.schedule(this.opts.gatherMs);
    return {
      changed,
      found: true,
      subscriber: {
        email: subscriber.email,
        locale: subscriber.locale,
        name: subscriber.name ?? '',
      },
    };
  }

  /** One grouped write: every to-do, then every suppression. Per item: a suppression was new. */
  private async write(items: Pending[]): Promise<boolean[]> {
    // The to-do first: see the class comment. Its `_id` is fresh, so a duplicate is our own retry.
    await insertEach(
      this.models.UnsubscribeFollowUp.collection,
      items.map((i) => i.followUp),
    );
    const states = await this.suppressions.ensureAll(items.flatMap((i) => i.suppressions));
    let next = 0;
    return items.map((i) =>
      states.slice(next, (next += i.suppressions.length)).some((s) => s.created),
    );
  }

  /** Completes one batch of to-dos, oldest first; how many there were. */
  async tick(): Promise<number> {
    const docs = await this.models.UnsubscribeFollowUp.find({})
      .sort({ _id: 1 })
      .limit(this.opts.batchSize)
      .lean<FollowUp[]>();
    if (docs.length > 0) await this.apply(docs);
    return docs.length;
  }

  /** Completes every to-do there is (tests, benchmarks, shutdown of a one-off tool). */
  async drain(): Promise<void> {
    while ((await this.tick()) > 0);
  }

  /** Completes the to-dos of one person (by id or address hash) before their state is read. */
  async settle(who: { subscriberId: string } | { emailHash: string }): Promise<void> {
    const pending = () => this.models.UnsubscribeFollowUp.find(who).lean<FollowUp[]>();
    let docs = await pending();
    if (docs.length === 0) return;
    await Promise.all(docs.map((d) => this.busy.get(String(d.subscriberId))));
    docs = await pending();
    if (docs.length > 0) await this.apply(docs);
  }

  private async apply(docs: FollowUp[]): Promise<void> {
    const ids = [...new Set(docs.map((d) => String(d.subscriberId)))];
    const run = this.complete(docs, ids);
    for (const id of ids) this.busy.set(id, run);
    try {
      await run;
    } finally {
      for (const id of ids) if (this.busy.get(id) === run) this.busy.delete(id);
    }
  }

  private async complete(docs: FollowUp[], ids: string[]): Promise<void> {
    const found = await mapConcurrent(ids, READ_CONCURRENCY, (id) =>
      retryTransient(() => this.models.Subscriber.findById(id, { status: 1 }).lean()),
    );
    const people = new Map(ids.map((id, i) => [id, found[i] ?? null]));
    const optOuts = docs.map(optOutOf);
    const specs = optOuts.map((o, i) => this.unsubscribe.suppressionsOf(o, docs[i]!.emailHash));
    const states = await this.suppressions.ensureAll(specs.flat(), { existing: true });
    let next = 0;
    const batch: SuppressedOptOut[] = optOuts.map((optOut, i) => ({
      optOut,
      subscriber: people.get(optOut.subscriberId) ?? null,
      suppressions: states.slice(next, (next += specs[i]!.length)),
    }));
    await this.unsubscribe.complete(batch);
    // One statement; its scan is of the outbox, which holds only what is in flight.
    await retryTransient(() =>
      this.models.UnsubscribeFollowUp.deleteMany({ _id: { $in: docs.map((d) => d._id) } }),
    );
  }

  /** Runs steps in the background until stop(); what a crash left is done by the first one. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** Stops taking steps and waits for the one in progress; what is left waits in the outbox. */
  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    this.due = Infinity;
    await this.running;
  }

  private schedule(ms: number): void {
    if (!this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (Date.now() + ms >= this.due) return;
    clearTimeout(this.timer);
    this.due = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.due = Infinity;
      this.running = this.step();
    }, ms);
  }

  private async step(): Promise<void> {
    let done = 0;
    try {
      done = await this.tick();
    } catch (err) {
      this.logger.error({ err }, 'unsubscribe follow-ups failed; they stay in the outbox');
    }
    this.running = undefined;
    const again = this.again;
    this.again = false;
    const full = done >= this.opts.batchSize;
    this.schedule(full ? 0 : again ? this.opts.gatherMs : this.opts.idleMs);
  }
}

function optOutOf(d: FollowUp): OptOut {
  return {
    subscriberId: String(d.subscriberId),
    allLists: d.allLists,
    listIds: d.listIds.map(String),
    reason: d.reason,
    channel: d.channel,
    ...(d.campaignId ? { campaignId: String(d.campaignId) } : {}),
    ...(d.inboundMessageId ? { inboundMessageId: String(d.inboundMessageId) } : {}),
    at: d.at,
  };
}
