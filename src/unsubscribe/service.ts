import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import { retryTransient } from '../db/retry.js';
import { membershipId } from '../db/models/membership.js';
import type { SUBSCRIBER_STATUSES } from '../db/models/subscriber.js';
import type { UnsubscribeChannel } from '../db/models/unsubscribe-event.js';
import type { ConsentLedger } from '../subscribe/consent-ledger.js';
import type { Clock } from '../shared/clock.js';
import { insertEach, writeInOrder } from '../db/bulk.js';
import { GroupCommit } from '../db/group-commit.js';
import { findByIds } from '../db/group-read.js';
import { AppError } from '../shared/errors.js';
import type { DomainEvent, DomainEvents } from '../events/domain-events.js';
import {
  ALL_LISTS,
  type SuppressionService,
  type SuppressionSpec,
  type SuppressionState,
} from './suppressions.js';

export type UnsubscribeScope = { all: true } | { all: false; listIds: string[] };

export interface UnsubscribeRequest {
  subscriberId: string;
  scope: UnsubscribeScope;
  channel: UnsubscribeChannel;
  campaignId?: string;
  inboundMessageId?: string;
  /** complaint and bounce suppress with their own reason; everything else is an unsubscribe. */
  reason?: 'unsubscribe' | 'complaint' | 'bounce' | 'staff';
}

export interface UnsubscribeResult {
  /** False when this opt-out was already recorded (a repeat): nothing new was written. */
  changed: boolean;
  /** False when the subscriber no longer exists (erased); the suppression by hash remains. */
  found: boolean;
  /** Who it was, for an answer in their language or a confirmation mail. */
  subscriber?: { email: string; locale: string; name: string };
}

/** One opt-out as decided: what is suppressed, why, when, through which channel. */
interface OptOut {
  subscriberId: string;
  allLists: boolean;
  /** Sorted, distinct; empty when allLists. */
  listIds: string[];
  reason: NonNullable<UnsubscribeRequest['reason']>;
  channel: UnsubscribeChannel;
  campaignId?: string;
  inboundMessageId?: string;
  /** When the person asked: the time of the memberships' change, the event and the ledger entry. */
  at: Date;
}

/** An opt-out whose suppressions are in place, ready for the rest (see complete()). */
interface SuppressedOptOut {
  optOut: OptOut;
  /** Null when the person was erased meanwhile: only the suppressions remain to be had. */
  subscriber: { _id: Types.ObjectId; status: SubscriberStatus } | null;
  /** In the order of scopesOf(optOut). */
  suppressions: SuppressionState[];
}

type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number];

// A later opt-out never softens an earlier one: a complaint stays a complaint when the person also
// clicks "unsubscribe", and a bounce is not turned back into a plain unsubscribe.
const STATUS_RANK: Record<SubscriberStatus, number> = {
  unconfirmed: 0,
  subscribed: 0,
  unsubscribed: 1,
  bounced: 2,
  complained: 3,
};

type Person = {
  _id: Types.ObjectId;
  email: string;
  locale: string;
  name?: string | null;
  status: SubscriberStatus;
};
const PERSON = { email: 1, locale: 1, name: 1, status: 1 } as const;
type StoredMembership = {
  _id: string;
  subscriberId: Types.ObjectId;
  listId: Types.ObjectId;
  status: string;
  unsubscribedAt?: Date | null;
};

/**
 * THE place that unsubscribes. Link, one-click POST, mailto, reply, complaint, bounce, preference
 * centre and staff all end here, and unsubscribe() answers only once the whole opt-out is durable:
 * the suppression first (it is what stops mail), then memberships and status, then the
 * consent-ledger entries and the event.
 *
 * Requests that arrive while a group is being written are written together by the next group (one
 * read of the people, one insert of the suppressions, and so on, for all of them), and groups run
 * one after another, so two opt-outs of one person are never completed at once.
 *
 * Idempotent and safe to retry: the event is named by the generations of the suppressions the
 * opt-out rests on, not by "did this call change something". A process that dies after the
 * suppression but before the event writes the event on the retry (a "changed?" test would see
 * nothing to change and lose it for good), and two concurrent requests of the same person meet on
 * the event's `_id` instead of both writing one. A new opt-out after a resubscribe has a new
 * suppression generation, so a new event. The ledger entries have `_id`s derived the same way, so
 * a retry or a concurrent twin cannot write a withdrawal twice.
 *
 * Every read and write here is by `_id`: memberships are keyed by subscriber and list, and an
 * opt-out of all lists reads the lists there are (a few) to name its memberships.
 */
export class UnsubscribeService {
  private readonly groups = new GroupCommit<OptOut, UnsubscribeResult>((optOuts) =>
    // Retried as a whole on a transient error: every step finds what an earlier attempt wrote,
    // and each opt-out was decided once, so its time is the same in every attempt.
    retryTransient(() => this.write(optOuts)),
  );

  constructor(
    private readonly models: Pick<
      Models,
      'Subscriber' | 'List' | 'Membership' | 'UnsubscribeEvent'
    >,
    private readonly suppressions: SuppressionService,
    private readonly consent: ConsentLedger,
    private readonly clock: Clock,
    private readonly events: DomainEvents,
  ) {}

  async unsubscribe(req: UnsubscribeRequest): Promise<UnsubscribeResult> {
    return this.groups.add(this.decide(req));
  }

  /** The opt-out a request asks for, at this moment. */
  private decide(req: UnsubscribeRequest): OptOut {
    const listIds = req.scope.all ? [] : [...new Set(req.scope.listIds)].sort();
    if (!req.scope.all && listIds.length === 0)
      throw new AppError('validation_failed', 'a list-scoped opt-out needs lists');
    const ids = [req.subscriberId, ...listIds, req.campaignId, req.inboundMessageId];
    // Checked here, not by the database: one bad request must not fail the group it is written in.
    if (ids.some((id) => id !== undefined && !/^[0-9a-f]{24}$/i.test(id)))
      throw new AppError('validation_failed', 'an opt-out names an id that is not one');
    return {
      subscriberId: req.subscriberId,
      allLists: req.scope.all,
      listIds,
      reason: req.reason ?? (req.channel === 'staff' ? 'staff' : 'unsubscribe'),
      channel: req.channel,
      ...(req.campaignId ? { campaignId: req.campaignId } : {}),
      ...(req.inboundMessageId ? { inboundMessageId: req.inboundMessageId } : {}),
      at: this.clock.now(),
    };
  }

  /** A group of opt-outs, whole: people, suppressions, then the rest (complete()). */
  private async write(optOuts: OptOut[]): Promise<UnsubscribeResult[]> {
    // Reads that depend on nothing written here go together.
    const [people, memberships] = await Promise.all([
      findByIds<Person>(
        this.models.Subscriber,
        optOuts.map((o) => o.subscriberId),
        PERSON,
      ),
      this.membershipsOf(optOuts),
    ]);
    const specs = optOuts.map((optOut) => {
      const person = people.get(optOut.subscriberId);
      return person ? suppressionsOf(optOut, this.suppressions.hash(person.email)) : [];
    });
    const states = await this.suppressions.ensureAll(specs.flat());
    let next = 0;
    const batch: SuppressedOptOut[] = optOuts.map((optOut, i) => {
      const person = people.get(optOut.subscriberId);
      return {
        optOut,
        subscriber: person ? { _id: person._id, status: person.status } : null,
        suppressions: states.slice(next, (next += specs[i]!.length)),
      };
    });
    const changed = await this.complete(batch, memberships);
    return optOuts.map((optOut, i) => {
      const person = people.get(optOut.subscriberId);
      // Unknown (erased, or a valid link to someone never stored): nothing to suppress or record.
      if (!person) return { changed: false, found: false };
      return {
        changed: changed[i]!,
        found: true,
        subscriber: { email: person.email, locale: person.locale, name: person.name ?? '' },
      };
    });
  }

  /**
   * Everything after the suppressions, for a batch of opt-outs: memberships, subscriber status,
   * ledger entries, event. Every read and write by `_id` (and one read of the lists when someone
   * leaves all of them). Idempotent: run twice (a retry, a second process), it writes nothing
   * new. Per opt-out, true when this call wrote its event.
   */
  private async complete(
    batch: SuppressedOptOut[],
    memberships: StoredMembership[],
  ): Promise<boolean[]> {
    const people = batch.filter((b) => b.subscriber);
    const status = new Map(people.map((b) => [String(b.subscriber!._id), b.subscriber!.status]));

    // Decided in order, in memory, so two opt-outs of one person in a batch see each other.
    const plans = batch.map(({ optOut, subscriber, suppressions }) => {
      if (!subscriber) return null;
      const mine = memberships.filter(
        (m) =>
          String(m.subscriberId) === optOut.subscriberId &&
          (optOut.allLists || optOut.listIds.includes(String(m.listId))),
      );
      // Ours too: left at this opt-out's time by an earlier attempt that died before its event.
      const affected = mine.filter(
        (m) => m.status !== 'unsubscribed' || m.unsubscribedAt?.getTime() === optOut.at.getTime(),
      );
      const leaving = mine.filter((m) => m.status !== 'unsubscribed');
      for (const m of leaving)
        Object.assign(m, { status: 'unsubscribed', unsubscribedAt: optOut.at });
      let newStatus: SubscriberStatus | undefined;
      if (optOut.allLists) {
        const terminal: SubscriberStatus =
          optOut.reason === 'complaint'
            ? 'complained'
            : optOut.reason === 'bounce'
              ? 'bounced'
              : 'unsubscribed';
        const current = status.get(optOut.subscriberId)!;
        if (STATUS_RANK[current] < STATUS_RANK[terminal]) {
          newStatus = terminal;
          status.set(optOut.subscriberId, terminal);
        }
      }
      return {
        optOut,
        leaving,
        newStatus,
        eventLists: optOut.allLists ? affected.map((m) => String(m.listId)) : optOut.listIds,
        ...eventIdentity(optOut, suppressions),
      };
    });

    // An opt-out whose event exists is a repeat: no second ledger entry, no second event; nor is
    // the second of two in this batch that rest on the same suppressions. Looked up for every
    // opt-out, even one whose suppression it named itself: another opt-out resting on that
    // suppression may have completed in between (the person's own click on the page).
    const live = plans.filter((p): p is NonNullable<typeof p> => p !== null);
    // Ordered commands: the statements run in turn, and each is an idempotent `$set` by `_id`,
    // so a retried command changes nothing twice.
    const membershipsWritten = writeInOrder(
      this.models.Membership,
      plans.flatMap((p) =>
        (p?.leaving ?? []).map((m) => ({
          updateOne: {
            filter: { _id: m._id },
            update: { $set: { status: 'unsubscribed', unsubscribedAt: p!.optOut.at } },
          },
        })),
      ),
    );
    const statusWritten = writeInOrder(
      this.models.Subscriber,
      plans.flatMap((p) =>
        p?.newStatus
          ? [
              {
                updateOne: {
                  filter: { _id: new Types.ObjectId(p.optOut.subscriberId) },
                  update: { $set: { status: p.newStatus } },
                },
              },
            ]
          : [],
      ),
    );
    const [stored] = await Promise.all([
      findByIds(
        this.models.UnsubscribeEvent,
        live.map((p) => p.eventId),
        { _id: 1 },
      ),
      membershipsWritten,
      statusWritten,
    ]);
    const seen = new Set(stored.keys());
    const fresh = live.filter((p) => {
      const id = String(p.eventId);
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    await this.consent.recordAll(
      fresh.flatMap(({ optOut, eventLists, key, idAt }) =>
        (eventLists.length > 0 ? eventLists : [undefined]).map((listId) => ({
          id: derivedObjectId(idAt, 'consent', optOut.subscriberId, key, listId ?? ''),
          at: optOut.at,
          subscriberId: optOut.subscriberId,
          listId,
          kind: 'unsubscribe' as const,
          source: optOut.channel,
        })),
      ),
    );
    // Named by the opt-out's event: a retry after a crash emits them once.
    await this.events.emit(
      fresh.flatMap((p) => domainEventsOf(p.optOut, String(p.eventId), p.eventLists)),
    );
    // The event last: it is what says "this opt-out is complete".
    const written = await insertEach(
      this.models.UnsubscribeEvent.collection,
      fresh.map(({ optOut, eventId, key, eventLists }) => ({
        _id: eventId,
        at: optOut.at,
        subscriberId: new Types.ObjectId(optOut.subscriberId),
        key,
        channel: optOut.channel,
        allLists: optOut.allLists,
        listIds: eventLists.map((id) => new Types.ObjectId(id)),
        ...(optOut.campaignId ? { campaignId: new Types.ObjectId(optOut.campaignId) } : {}),
        ...(optOut.inboundMessageId
          ? { inboundMessageId: new Types.ObjectId(optOut.inboundMessageId) }
          : {}),
      })),
    );
    const changed = new Map(fresh.map((p, i) => [p, written[i]!]));
    return plans.map((p) => (p ? (changed.get(p) ?? false) : false));
  }

  /**
   * The memberships these opt-outs concern, each once, read by `_id` (subscriber and list, 500 to a
   * command): of a list-scoped opt-out its lists, of one leaving all lists every list there is.
   * Lists are few, and a filter on `subscriberId` may read every membership (docs/database.md).
   * A list's memberships are deleted before the list (src/subscribers/lists.ts), so none
   * of an existing list is missed.
   */
  private async membershipsOf(optOuts: OptOut[]): Promise<StoredMembership[]> {
    const lists = optOuts.some((o) => o.allLists)
      ? (await retryTransient(() => this.models.List.find({}, { _id: 1 }).lean())).map((l) =>
          String(l._id),
        )
      : [];
    const ids = optOuts.flatMap((o) =>
      (o.allLists ? lists : o.listIds).map((listId) => membershipId(o.subscriberId, listId)),
    );
    const found = await findByIds<StoredMembership>(this.models.Membership, ids, {
      subscriberId: 1,
      listId: 1,
      status: 1,
      unsubscribedAt: 1,
    });
    return [...found.values()];
  }

  /** Opt-outs attributed to each campaign (from the campaign id in the link): counts only. */
  async countByCampaign(campaignIds: string[]): Promise<Map<string, number>> {
    const ids = campaignIds.filter((id) => /^[0-9a-f]{24}$/.test(id));
    const counts = new Map(ids.map((id) => [id, 0]));
    if (ids.length === 0) return counts;
    const rows = await this.models.UnsubscribeEvent.aggregate<{ _id: Types.ObjectId; n: number }>([
      { $match: { campaignId: { $in: ids.map((id) => new Types.ObjectId(id)) } } },
      { $group: { _id: '$campaignId', n: { $sum: 1 } } },
    ]);
    for (const row of rows) counts.set(String(row._id), row.n);
    return counts;
  }
}

/** What others learn of an opt-out: always `subscriber.unsubscribed`, and why when it was no click. */
function domainEventsOf(optOut: OptOut, key: string, listIds: string[]): DomainEvent[] {
  const campaign = optOut.campaignId ? { campaignId: optOut.campaignId } : {};
  const base = { key, subscriberId: optOut.subscriberId };
  const events: DomainEvent[] = [
    {
      ...base,
      type: 'subscriber.unsubscribed',
      data: {
        channel: optOut.channel,
        reason: optOut.reason,
        allLists: optOut.allLists,
        listIds,
        ...campaign,
      },
    },
  ];
  if (optOut.reason === 'bounce')
    events.push({ ...base, type: 'subscriber.bounced', data: campaign });
  if (optOut.reason === 'complaint')
    events.push({ ...base, type: 'subscriber.complained', data: campaign });
  return events;
}

/** The suppressions an opt-out stands on, for this address hash. */
function suppressionsOf(optOut: OptOut, emailHash: string): SuppressionSpec[] {
  return scopesOf(optOut).map((scope) => ({
    emailHash,
    scope,
    reason: optOut.reason,
    channel: optOut.channel,
    optedOutAt: optOut.at,
    ...(optOut.campaignId ? { campaignId: optOut.campaignId } : {}),
  }));
}

/** The suppression scopes of an opt-out: ALL_LISTS, or its lists. */
function scopesOf(optOut: Pick<OptOut, 'allLists' | 'listIds'>): string[] {
  return optOut.allLists ? [ALL_LISTS] : optOut.listIds;
}

/**
 * Names the opt-out by the suppressions it rests on: same suppressions, same event. The event's
 * `_id` follows from the subscriber and that name, its time part from when the newest of those
 * suppressions came to be, so ids still sort roughly by time.
 */
function eventIdentity(optOut: OptOut, suppressions: SuppressionState[]) {
  const h = createHash('sha256');
  scopesOf(optOut).forEach((scope, i) =>
    h.update(`${scope}=${suppressions[i]!.generation.toHexString()};`),
  );
  const key = h.digest('base64url').slice(0, 22);
  const idAt = new Date(
    Math.max(...suppressions.map((s) => s.generation.getTimestamp().getTime())),
  );
  return { key, idAt, eventId: derivedObjectId(idAt, 'event', optOut.subscriberId, key) };
}

/** An ObjectId with this time part and the rest from a hash of `parts`: the same parts, the same id. */
function derivedObjectId(at: Date, ...parts: string[]): Types.ObjectId {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(Math.floor(at.getTime() / 1000) >>> 0, 0);
  createHash('sha256').update(parts.join('\0')).digest().copy(bytes, 4, 0, 8);
  return new Types.ObjectId(bytes);
}
