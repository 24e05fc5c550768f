import { joinedList, type DomainEvents } from '../events/domain-events.js';
import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import { membershipId } from '../db/models/membership.js';
import type { LOCALES } from '../db/models/subscriber.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import type { ConsentLedger } from '../subscribe/consent-ledger.js';
import type { Clock } from '../shared/clock.js';
import { AppError, isDuplicateKey, notFound } from '../shared/errors.js';
import type { UnsubscribeService } from './service.js';
import { ALL_LISTS, type SuppressionService } from './suppressions.js';

export type SubscriberLocale = (typeof LOCALES)[number];

export interface ListChoice {
  id: string;
  name: string;
  /** The person is on it now (subscribed, or unconfirmed). */
  active: boolean;
  /** Can be ticked in the preference centre: public lists, and any list the person is on. */
  choosable: boolean;
}

export interface Overview {
  subscriber: { id: string; email: string; name: string; locale: SubscriberLocale };
  lists: ListChoice[];
}

export interface PreferenceChange {
  name: string;
  locale: SubscriberLocale;
  /** Every list the person wants to be on after this change. */
  listIds: string[];
}

export interface PreferenceOutcome {
  joined: string[];
  left: string[];
  /** Wanted, but an opt-out the person did not make themselves stands in the way (see apply). */
  refused: string[];
  profileChanged: boolean;
}

const ACTIVE = ['subscribed', 'unconfirmed'];

/** The preference centre: which lists a person is on, and the changes they make to that. */
export class PreferenceService {
  constructor(
    private readonly models: Pick<Models, 'Subscriber' | 'Membership' | 'List'>,
    private readonly suppressions: SuppressionService,
    private readonly consent: ConsentLedger,
    private readonly unsubscribe: UnsubscribeService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly events: DomainEvents,
  ) {}

  /** Null when the person no longer exists (erased). */
  async overview(subscriberId: string): Promise<Overview | null> {
    const s = await this.models.Subscriber.findById(subscriberId, {
      email: 1,
      name: 1,
      locale: 1,
    }).lean();
    if (!s) return null;
    const memberships = await this.models.Membership.find(
      { subscriberId: s._id },
      { listId: 1, status: 1 },
    ).lean();
    const status = new Map(memberships.map((m) => [String(m.listId), m.status]));
    const lists = await this.models.List.find(
      { $or: [{ public: true }, { _id: { $in: memberships.map((m) => m.listId) } }] },
      { name: 1, public: 1 },
    )
      .sort({ name: 1 })
      .lean();
    return {
      subscriber: {
        id: String(s._id),
        email: s.email,
        name: s.name ?? '',
        locale: s.locale as SubscriberLocale,
      },
      lists: lists.map((l) => {
        const active = ACTIVE.includes(status.get(String(l._id)) ?? '');
        return { id: String(l._id), name: l.name, active, choosable: l.public || active };
      }),
    };
  }

  /**
   * Applies the preference form. Leaving goes through UnsubscribeService (channel 'preferences').
   * Joining or rejoining a list is consent, written to the ledger ('resubscribe' for a list the
   * person left, 'subscribe' otherwise) before the membership, and only then is the suppression
   * that blocked it lifted, so a crash in between leaves the person unmailed rather than mailed
   * without proof. The link came to the person's own mailbox, which is the proof a double opt-in
   * asks for, so no confirmation mail is needed here.
   *
   * The rule for lifting: only a suppression the person made themselves (reason 'unsubscribe', list
   * or all-lists) is lifted here. A complaint, bounce, erasure or staff suppression stays; the list
   * is reported as refused and the person must sign up again through a form with a fresh double
   * opt-in (src/subscribe), which is where such a suppression can end.
   */
  async apply(
    subscriberId: string,
    change: PreferenceChange,
    ctx: AuditContext,
  ): Promise<PreferenceOutcome> {
    const overview = await this.overview(subscriberId);
    if (!overview) throw notFound('subscriber');
    const { subscriber } = overview;
    const byId = new Map(overview.lists.map((l) => [l.id, l]));
    const wanted = new Set(change.listIds);
    for (const id of wanted) {
      if (!byId.get(id)?.choosable) {
        throw new AppError('validation_failed', 'lists: not a list that can be chosen here');
      }
    }

    const left = overview.lists.filter((l) => l.active && !wanted.has(l.id)).map((l) => l.id);
    if (left.length > 0) {
      await this.unsubscribe.unsubscribe({
        subscriberId,
        scope: { all: false, listIds: left },
        channel: 'preferences',
      });
    }

    const joined: string[] = [];
    const refused: string[] = [];
    for (const list of overview.lists.filter((l) => !l.active && wanted.has(l.id))) {
      if (await this.join(subscriber, list.id, change.locale)) joined.push(list.id);
      else refused.push(list.id);
    }

    const profileChanged = change.name !== subscriber.name || change.locale !== subscriber.locale;
    if (profileChanged) {
      await this.models.Subscriber.updateOne(
        { _id: subscriber.id },
        { $set: { name: change.name, locale: change.locale } },
      );
      await this.audit.record(ctx, 'subscriber.preferences.update', subscriber.id, {
        fields: [
          ...(change.name !== subscriber.name ? ['name'] : []),
          ...(change.locale !== subscriber.locale ? ['locale'] : []),
        ],
      });
    }
    return { joined, left, refused, profileChanged };
  }

  private async join(
    subscriber: Overview['subscriber'],
    listId: string,
    locale: SubscriberLocale,
  ): Promise<boolean> {
    const decidedAt = this.clock.now();
    const blocking = await this.suppressions.find(subscriber.email, [ALL_LISTS, listId]);
    if ([...blocking.values()].some((reason) => reason !== 'unsubscribe')) return false;

    const previous = await this.models.Membership.findById(membershipId(subscriber.id, listId), {
      status: 1,
    }).lean();
    await this.consent.record({
      subscriberId: subscriber.id,
      listId,
      kind: previous?.status === 'unsubscribed' ? 'resubscribe' : 'subscribe',
      source: 'preferences',
      locale,
    });
    const now = this.clock.now();
    const filter = { _id: membershipId(subscriber.id, listId) };
    const update = {
      $set: { status: 'subscribed', subscribedAt: now },
      $unset: { unsubscribedAt: 1 },
      $setOnInsert: {
        subscriberId: new Types.ObjectId(subscriber.id),
        listId: new Types.ObjectId(listId),
        source: 'preferences',
      },
    };
    await this.models.Membership.updateOne(filter, update, { upsert: true }).catch(
      (err: unknown) => {
        // A double-submitted form: the other request inserted it; set the same state on it.
        if (!isDuplicateKey(err)) throw err;
        return this.models.Membership.updateOne(filter, update);
      },
    );
    await this.models.Subscriber.updateOne(
      { _id: subscriber.id, status: { $in: ['unsubscribed', 'unconfirmed'] } },
      { $set: { status: 'subscribed' } },
    );
    if (blocking.size > 0)
      await this.suppressions.lift(subscriber.email, [...blocking.keys()], decidedAt);
    // Last: a series this starts finds the person subscribed and no longer suppressed.
    if (previous?.status !== 'subscribed')
      await this.events.emit([joinedList(subscriber.id, listId, now)]);
    return true;
  }
}
