import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import type { UnsubscribeFollowUpEntry as Entry } from '../db/models/unsubscribe-event.js';
import { retryTransient } from '../db/retry.js';
import type { Logger } from '../shared/logger.js';
import { insertEach } from '../db/bulk.js';
import { GroupCommit } from '../db/group-commit.js';
import { findByIds } from '../db/group-read.js';
import {
  scopesOf,
  type OptOut,
  type SubscriberStatus,
  type SuppressedOptOut,
  type UnsubscribeRequest,
  type UnsubscribeResult,
  type UnsubscribeService,
} from './service.js';
import type { SuppressionService } from './suppressions.js';

type Page = { _id: Types.ObjectId; entries: Entry[] };
type Person = {
  _id: Types.ObjectId;
  email: string;
  locale: string;
  name?: string | null;
  status: SubscriberStatus;
};
const PERSON = { email: 1, locale: 1, name: 1, status: 1 } as const;

interface Pending {
  entry: Entry;
  optOut: OptOut;
}

/** What record() learns in its grouped write: the person (null if unknown) and whether new. */
interface Recorded {
  person: Person | null;
  changed: boolean;
}

/** An opt-out the background step completed, for what follows it (the confirmation mail). */
export interface CompletedOptOut {
  optOut: OptOut;
  /** The list the one-click link named, if any. */
  linkListId?: string;
  subscriber: { email: string; locale: string; name: string };
  /** This completion wrote the opt-out's event: it is new, not a repeat. */
  changed: boolean;
}

export interface FollowUpOptions {
  /**
   * Pages completed per step (a page holds the opt-outs of one group commit): reads and writes
   * of the step are shared by all their opt-outs. At most MAX_UPDATE_STATEMENTS, so their
   * deletes are one command.
   */
  pagesPerStep: number;
  /** How often the outbox is looked at with nothing announced (work left by another process). */
  idleMs: number;
  /** After an opt-out is recorded, how long to wait for more to complete together. */
  gatherMs: number;
}

const DEFAULTS: FollowUpOptions = { pagesPerStep: 32, idleMs: 1000, gatherMs: 200 };

/**
 * The opt-outs in the outbox at one moment, as the send worker needs them: who must not be mailed
 * on which lists although no suppression says so yet.
 */
export class PendingOptOuts {
  private readonly bySubscriber = new Map<string, { all: boolean; lists: Set<string> }>();

  constructor(entries: Array<Pick<Entry, 'subscriberId' | 'allLists' | 'listIds'>>) {
    for (const e of entries) {
      const id = String(e.subscriberId);
      const mine = this.bySubscriber.get(id) ?? { all: false, lists: new Set<string>() };
      mine.all ||= e.allLists;
      for (const l of e.listIds) mine.lists.add(String(l));
      this.bySubscriber.set(id, mine);
    }
  }

  get size(): number {
    return this.bySubscriber.size;
  }

  /**
   * Whether mail to this person (on this list; without one, mail to a segment) is opted out of.
   * The same rule as the suppressions it stands in for: an opt-out of all lists covers everything,
   * one of a list covers that list.
   */
  covers(subscriberId: string, listId?: string): boolean {
    const mine = this.bySubscriber.get(subscriberId);
    return Boolean(mine && (mine.all || (listId !== undefined && mine.lists.has(listId))));
  }
}

/**
 * Opt-outs that arrive in bulk: RFC 8058 one-click at the rate mailbox providers send it, and
 * inbound mail (mailto tokens, replies, complaints, bounces). Concurrent requests are grouped into
 * one page of the outbox (collection unsubscribe_followups), one insert for the group:
 *
 * - record() writes the page, then the opt-out's suppressions, and resolves only then: the
 *   suppression is durable before the answer (issue #5: "The suppression is durable before the
 *   response"), and the caller learns whether the opt-out is new. The suppression is keyed by the
 *   address, so the group's people are read while its page is written.
 * - Until the page is completed, the readers that decide on mailing or on a resubscribe also look
 *   at the outbox: the send worker before each chunk (pending()), the preference centre, a lift of
 *   a suppression, the subscribe form, privacy export and erasure (settle()), so a late
 *   membership update can never undo a resubscribe that follows the opt-out.
 *
 * The rest is done here in the background, page by page: read the people, write their
 * suppressions (first: they are what stops mail once the page is gone), then
 * UnsubscribeService.complete (memberships, status, consent ledger, event), then whatever follows a
 * completed one-click (the optional confirmation mail), and only then delete the page. An entry
 * whose person no longer exists (erased) is dropped: nothing is left to mail or to record.
 *
 * Crash safety: a crash before the page is written gave no answer; after it, the page is completed
 * by the next step (of this process after a restart, or of any other process). Every step is
 * idempotent, so a page completed twice (two processes, or a crash after the work but before the
 * delete) changes nothing more.
 */
export class UnsubscribeFollowUps {
  private readonly opts: FollowUpOptions;
  private readonly commit = new GroupCommit<Pending, Recorded>((items) => this.write(items));
  /** Page id -> the step completing it now, so settle() and a step never do a page twice at once. */
  private readonly busy = new Map<string, Promise<void>>();
  private completed: ((done: CompletedOptOut[]) => void) | undefined;
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

  /** Told of every opt-out the background step completed (not awaited: it must not hold the step). */
  afterComplete(listener: (done: CompletedOptOut[]) => void): void {
    this.completed = listener;
  }

  /**
   * The opt-out, durable with its suppressions: once this resolves the address is suppressed and
   * the rest will follow. `changed` is whether this request brought a suppression into being
   * (false for a repeat).
   */
  async record(
    req: UnsubscribeRequest,
    link: { listId?: string } = {},
  ): Promise<UnsubscribeResult> {
    const optOut = this.unsubscribe.decide(req);
    // Named in advance and kept in the entry: whichever write creates a suppression (this one, or
    // the completion after a crash), it has this generation, so the event is named the same.
    const generations = scopesOf(optOut).map(() => new Types.ObjectId());
    const entry: Entry = { ...entryOf(optOut), generations };
    if (link.listId) entry.linkListId = new Types.ObjectId(link.listId);
    const { person, changed } = await this.commit.add({ entry, optOut });
    this.schedule(this.opts.gatherMs);
    // Someone unknown (erased, or never stored): the step drops the entry, nothing to suppress.
    if (!person) return { changed: false, found: false };
    return {
      changed,
      found: true,
      subscriber: { email: person.email, locale: person.locale, name: person.name ?? '' },
    };
  }

  /**
   * One grouped write for the opt-outs that arrived together: their page and the read of their
   * people at once (the page needs no address), then their suppressions, which are keyed by the
   * address and come after the page (see the class comment). Two round trips for the group.
   */
  private async write(items: Pending[]): Promise<Recorded[]> {
    // The page's `_id` is fresh, so a duplicate is our own retry.
    const [, people] = await Promise.all([
      insertEach(this.models.UnsubscribeFollowUp.collection, [
        { _id: new Types.ObjectId(), entries: items.map((i) => i.entry) },
      ]),
      findByIds<Person>(
        this.models.Subscriber,
        items.map((i) => i.entry.subscriberId),
        PERSON,
      ),
    ]);
    const specs = items.map(({ entry, optOut }) => {
      const person = people.get(String(entry.subscriberId));
      return person
        ? this.unsubscribe
            .suppressionsOf(optOut, this.suppressions.hash(person.email))
            .map((spec, k) => ({ ...spec, generation: entry.generations![k]! }))
        : [];
    });
    const states = await this.suppressions.ensureAll(specs.flat());
    let next = 0;
    return items.map(({ entry }, i) => ({
      person: people.get(String(entry.subscriberId)) ?? null,
      changed: states.slice(next, (next += specs[i]!.length)).some((s) => s.created),
    }));
  }

  /**
   * The opt-outs in flight, read in one pass over the outbox. A caller that also reads
   * suppressions must read this first: a page is deleted only after its suppressions exist, so an
   * opt-out missing here is then found there.
   */
  async pending(): Promise<PendingOptOuts> {
    const pages = await retryTransient(() =>
      this.models.UnsubscribeFollowUp.find({}, { entries: 1 }).lean<Page[]>(),
    );
    return new PendingOptOuts(pages.flatMap((p) => p.entries));
  }

  /**
   * Completes up to pagesPerStep pages; how many pages there were. In the database's natural
   * order (insertion order on the embedded FerretDB; MongoDB promises none, and nothing here
   * depends on it), not sorted: on the embedded FerretDB a sort reads and orders the whole outbox,
   * which grows while opt-outs arrive faster than they are completed, where a plain limit reads
   * only the pages it returns.
   */
  async tick(): Promise<number> {
    const pages = await this.models.UnsubscribeFollowUp.find({})
      .limit(this.opts.pagesPerStep)
      .lean<Page[]>();
    if (pages.length > 0) await this.apply(pages);
    return pages.length;
  }

  /** Completes every page there is (tests, benchmarks, shutdown of a one-off tool). */
  async drain(): Promise<void> {
    while ((await this.tick()) > 0);
  }

  /**
   * Completes a person's opt-outs in flight before their state is read or changed: the pages that
   * hold an entry of theirs, or, for someone known only by address (a lift of a suppression, a
   * subscribe form, a privacy request), every page: an entry names only the subscriber id, and the
   * outbox holds only what is in flight.
   */
  async settle(subscriberId?: string): Promise<void> {
    const filter = subscriberId ? { 'entries.subscriberId': new Types.ObjectId(subscriberId) } : {};
    const pages = await retryTransient(() =>
      this.models.UnsubscribeFollowUp.find(filter).lean<Page[]>(),
    );
    if (pages.length > 0) await this.apply(pages);
  }

  /** Completes these pages; a page a step is already completing is waited for, not done twice. */
  private async apply(pages: Page[]): Promise<void> {
    const waits: Array<Promise<void>> = [];
    const mine = pages.filter((p) => {
      const running = this.busy.get(String(p._id));
      if (running) waits.push(running);
      return !running;
    });
    if (mine.length > 0) {
      const run = this.complete(mine);
      for (const p of mine) this.busy.set(String(p._id), run);
      waits.push(
        run.finally(() => {
          for (const p of mine)
            if (this.busy.get(String(p._id)) === run) this.busy.delete(String(p._id));
        }),
      );
    }
    const results = await Promise.allSettled(waits);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async complete(pages: Page[]): Promise<void> {
    const entries = pages.flatMap((p) => p.entries);
    const people = await findByIds<Person>(
      this.models.Subscriber,
      entries.map((e) => e.subscriberId),
      PERSON,
    );
    // Nobody left to suppress or to record (erased, or a valid link to someone never stored).
    const known = entries.flatMap((entry) => {
      const person = people.get(String(entry.subscriberId));
      return person ? [{ entry, person, optOut: optOutOf(entry) }] : [];
    });
    // Suppressions first: once the page is gone they are what stops mail.
    const specs = known.map(({ entry, optOut, person }) =>
      this.unsubscribe
        .suppressionsOf(optOut, this.suppressions.hash(person.email))
        .map((spec, k) => {
          const generation = entry.generations?.[k];
          return generation ? { ...spec, generation } : spec;
        }),
    );
    // Usually there already: record() wrote them before its answer.
    const states = await this.suppressions.ensureAll(specs.flat(), { existing: true });
    let next = 0;
    const batch: SuppressedOptOut[] = known.map(({ optOut, person }, i) => ({
      optOut,
      subscriber: { _id: person._id, status: person.status },
      suppressions: states.slice(next, (next += specs[i]!.length)),
    }));
    const changed = batch.length > 0 ? await this.unsubscribe.complete(batch) : [];
    this.completed?.(
      known.map(({ entry, person, optOut }, i) => ({
        optOut,
        ...(entry.linkListId ? { linkListId: String(entry.linkListId) } : {}),
        subscriber: { email: person.email, locale: person.locale, name: person.name ?? '' },
        changed: changed[i]!,
      })),
    );
    await retryTransient(() =>
      this.models.UnsubscribeFollowUp.deleteMany({ _id: { $in: pages.map((p) => p._id) } }),
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
    const full = done >= this.opts.pagesPerStep;
    this.schedule(full ? 0 : again ? this.opts.gatherMs : this.opts.idleMs);
  }
}

function entryOf(optOut: OptOut): Entry {
  return {
    subscriberId: new Types.ObjectId(optOut.subscriberId),
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
}

function optOutOf(e: Entry): OptOut {
  return {
    subscriberId: String(e.subscriberId),
    allLists: e.allLists,
    listIds: e.listIds.map(String),
    reason: e.reason,
    channel: e.channel,
    ...(e.campaignId ? { campaignId: String(e.campaignId) } : {}),
    ...(e.inboundMessageId ? { inboundMessageId: String(e.inboundMessageId) } : {}),
    at: e.at,
  };
}
