import {
  joinedList,
  subscriberCreated,
  type DomainEvent,
  type DomainEvents,
} from '../events/domain-events.js';
import { Types } from 'mongoose';
import type { SubscribeConfig } from '../config/config.js';
import type { Models } from '../db/models/index.js';
import { membershipId } from '../db/models/membership.js';
import { LOCALES } from '../db/models/subscriber.js';
import { format, messages, pickLocale, renderFragment, type PageLocale } from '../http/pages.js';
import type { SystemMailRenderer } from '../campaigns/render/system-mail.js';
import type { Mailer } from '../mail/mailer.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import type { Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import { normaliseEmail } from '../shared/email.js';
import { AppError, isDuplicateKey, notFound } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { SubscriberAddresses } from '../subscribers/by-address.js';
import {
  ALL_LISTS,
  type SuppressionReason,
  type SuppressionService,
} from '../unsubscribe/suppressions.js';
import type { TokenService } from '../unsubscribe/tokens.js';
import type { ConsentLedger } from './consent-ledger.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * Only a suppression the person wrote themselves by unsubscribing is lifted when they confirm a
 * new opt-in. Complaints (a spam report, possibly from a shared or forwarding mailbox), bounces,
 * staff blocks and erasure stay until staff lift them: such addresses get no confirmation mail
 * and a confirmation link answers "blocked".
 */
export const SELF_LIFTABLE: readonly SuppressionReason[] = ['unsubscribe'];
const BLOCKED_STATUSES = new Set(['complained', 'bounced']);
const HOUR_MS = 3_600_000;

export interface PublicList {
  id: string;
  slug: string;
  name: string;
  description: string;
  doubleOptIn: boolean;
  thankYouUrl?: string;
}

export interface SubscribeRequest {
  /** As typed; normalised and validated here. */
  email: string;
  name?: string;
  listSlugs: string[];
  locale?: string;
  consent: boolean;
  /** The hidden `website` field was filled: a bot. */
  honeypot: boolean;
}

export interface RequestMeta {
  ip?: string;
  userAgent?: string;
  /** The language the form (and so the consent text) was shown in. */
  locale: PageLocale;
}

export interface ConfirmResult {
  listName: string;
  outcome: 'confirmed' | 'blocked';
}

export interface SubscribeDeps {
  models: Pick<Models, 'Subscriber' | 'List' | 'Membership'>;
  suppressions: SuppressionService;
  consent: ConsentLedger;
  tokens: TokenService;
  limiter: RateLimiter;
  protector: DataProtector;
  mailer: Mailer;
  systemMails: Pick<SystemMailRenderer, 'renderSystemMail'>;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  addresses: Pick<SubscriberAddresses, 'lookup' | 'create'>;
  events: DomainEvents;
  config: {
    subscribe: SubscribeConfig;
    baseUrl: string;
    mailFrom: string | undefined;
    org: { name: string; address: string };
  };
}

const fieldError = (field: string, message: string) =>
  new AppError('validation_failed', `${field}: ${message}`, { issues: [{ field, message }] });

/**
 * Public web-form subscriptions, double opt-in and the consent evidence behind them. Every answer
 * to the outside is the same whether the address is known, new or suppressed; what differs
 * (subscribe now, send a confirmation, do nothing) happens only inside.
 */
export class SubscribeService {
  private readonly pendingMail = new Set<Promise<void>>();

  constructor(private readonly deps: SubscribeDeps) {}

  async publicList(slug: string): Promise<PublicList> {
    return (await this.publicLists([slug]))[0]!;
  }

  /** Every slug must name a public list; private and unknown lists look alike (404). */
  async publicLists(slugs: string[]): Promise<PublicList[]> {
    const unique = [...new Set(slugs)];
    const docs = await this.deps.models.List.find({ slug: { $in: unique }, public: true }).lean();
    const bySlug = new Map(docs.map((l) => [l.slug, l]));
    return unique.map((slug) => {
      const l = bySlug.get(slug);
      if (!l) throw notFound(`public list "${slug}"`);
      return {
        id: String(l._id),
        slug: l.slug,
        name: l.name,
        description: l.description ?? '',
        doubleOptIn: l.doubleOptIn ?? true,
        thankYouUrl: safeHttpUrl(l.thankYouUrl),
      };
    });
  }

  /** The exact wording next to the consent box; what the ledger stores by hash. */
  consentText(list: Pick<PublicList, 'name'>, locale: PageLocale) {
    const t = messages(locale);
    return {
      body: format(t['subscribe.consent']!, { org: this.deps.config.org.name, list: list.name }),
      version: t['subscribe.consentVersion']!,
      locale,
    };
  }

  /**
   * Handles one form post. Throws only for problems of the request itself (rate, list, email,
   * consent), never for anything about the address, so the answer cannot reveal it.
   */
  async subscribe(req: SubscribeRequest, meta: RequestMeta): Promise<PublicList[]> {
    const ipKey = this.deps.protector.emailHash(`ip:${meta.ip ?? 'unknown'}`);
    if (
      !(await this.deps.limiter.hit(
        'subscribe-ip',
        ipKey,
        this.deps.config.subscribe.ipLimitPerHour,
        HOUR_MS,
      ))
    ) {
      throw new AppError(
        'rate_limited',
        'too many subscription attempts from this address; try again later',
      );
    }
    const lists = await this.publicLists(req.listSlugs);
    if (req.honeypot) return lists;
    const email = normaliseEmail(req.email);
    if (!email) throw fieldError('email', 'not a valid email address');
    if (!req.consent) throw fieldError('consent', 'consent is required to subscribe');

    const suppressed = await this.deps.suppressions.find(email, [
      ALL_LISTS,
      ...lists.map((l) => l.id),
    ]);
    const blockedScopes = new Set(
      [...suppressed]
        .filter(([, reason]) => !SELF_LIFTABLE.includes(reason))
        .map(([scope]) => scope),
    );
    if (blockedScopes.has(ALL_LISTS)) return lists;
    const eligible = lists.filter((l) => !blockedScopes.has(l.id));
    if (eligible.length === 0) return lists;

    const subscriber = await this.findOrCreateSubscriber(email, req, meta, eligible[0]!.slug);
    if (BLOCKED_STATUSES.has(subscriber.status)) return lists;
    const subscriberId = String(subscriber._id);
    const now = this.deps.clock.now();
    const toConfirm: PublicList[] = [];
    const joined: string[] = [];
    const rejoined: DomainEvent[] = [];

    for (const list of eligible) {
      const source = `web-form:${list.slug}`;
      const membership = await this.deps.models.Membership.findById(
        membershipId(subscriber._id, list.id),
      ).lean();
      if (membership?.status === 'subscribed' && subscriber.status === 'subscribed') {
        // Emitted again under its first key: a no-op, unless a crash lost it after the join.
        if (membership.subscribedAt)
          rejoined.push(joinedList(subscriber._id, list.id, membership.subscribedAt));
        continue;
      }
      const wasOptedOut =
        subscriber.status === 'unsubscribed' ||
        membership?.status === 'unsubscribed' ||
        suppressed.has(ALL_LISTS) ||
        suppressed.has(list.id);
      const confirmFirst = list.doubleOptIn || wasOptedOut;

      if (confirmFirst) {
        // An opted-out membership stays unsubscribed until the person confirms.
        if (!membership) await this.addMembership(subscriber._id, list.id, 'unconfirmed', source);
        toConfirm.push(list);
      } else {
        await this.markSubscribed(subscriber._id, list.id, source, now);
        joined.push(list.id);
      }
      await this.deps.consent.record({
        subscriberId,
        listId: list.id,
        kind: 'subscribe',
        source,
        locale: meta.locale,
        text: this.consentText(list, meta.locale),
        ...this.networkEvidence(meta),
      });
    }
    if (joined.length > 0 && subscriber.status === 'unconfirmed') {
      await this.deps.models.Subscriber.updateOne(
        { _id: subscriber._id, status: 'unconfirmed' },
        { $set: { status: 'subscribed' } },
      );
    }
    // After the status, so a series that starts at once finds the person subscribed.
    await this.deps.events.emit([
      ...joined.map((listId) => joinedList(subscriber._id, listId, now)),
      ...rejoined,
    ]);
    if (toConfirm.length > 0)
      await this.queueConfirmation(subscriberId, email, toConfirm, meta.locale);
    return lists;
  }

  /** For the confirmation page: which list the link is for. Reads only. */
  async describeConfirmation(token: string): Promise<{ listName: string }> {
    const { list } = await this.resolveToken(token);
    return { listName: list.name };
  }

  /** The person confirmed the opt-in themselves (a POST from the page of the link we mailed). */
  async confirm(token: string, meta: RequestMeta): Promise<ConfirmResult> {
    const { subscriber, list } = await this.resolveToken(token);
    const listId = String(list._id);
    const result = (outcome: ConfirmResult['outcome']): ConfirmResult => ({
      listName: list.name,
      outcome,
    });
    const decidedAt = this.deps.clock.now();
    const suppressed = await this.deps.suppressions.find(subscriber.email, [ALL_LISTS, listId]);
    if (
      BLOCKED_STATUSES.has(subscriber.status) ||
      [...suppressed.values()].some((reason) => !SELF_LIFTABLE.includes(reason))
    ) {
      return result('blocked');
    }
    const membership = await this.deps.models.Membership.findById(
      membershipId(subscriber._id, list._id),
    ).lean();
    if (
      membership?.status === 'subscribed' &&
      subscriber.status === 'subscribed' &&
      suppressed.size === 0
    ) {
      // A repeated POST completes what a crash left: the event under its first key (else a no-op).
      if (membership.subscribedAt)
        await this.deps.events.emit([joinedList(subscriber._id, listId, membership.subscribedAt)]);
      return result('confirmed');
    }
    const resubscribe =
      membership?.status === 'unsubscribed' ||
      subscriber.status === 'unsubscribed' ||
      suppressed.size > 0;
    const source = membership?.source ?? `web-form:${list.slug}`;

    // Evidence first: a crash after this leaves the address suppressed (no mail), never mailed
    // without a record; a repeated POST completes the rest.
    await this.deps.consent.record({
      subscriberId: String(subscriber._id),
      listId,
      kind: resubscribe ? 'resubscribe' : 'confirm',
      source,
      locale: meta.locale,
      textRef: await this.deps.consent.latestText(String(subscriber._id), listId, 'subscribe'),
      ...this.networkEvidence(meta),
    });
    const now = this.deps.clock.now();
    await this.markSubscribed(subscriber._id, listId, source, now);
    await this.deps.models.Subscriber.updateOne(
      { _id: subscriber._id, status: { $in: ['unconfirmed', 'unsubscribed'] } },
      { $set: { status: 'subscribed' } },
    );
    await this.deps.events.emit([joinedList(subscriber._id, listId, now)]);
    if (suppressed.size > 0) {
      await this.deps.suppressions.lift(subscriber.email, [...suppressed.keys()], decidedAt, [
        ...SELF_LIFTABLE,
      ]);
    }
    return result('confirmed');
  }

  /** The form as HTML to paste into any website; it posts to this service's /subscribe. */
  async embedSnippet(listId: string, localeInput: string | undefined) {
    const doc = Types.ObjectId.isValid(listId)
      ? await this.deps.models.List.findById(listId).lean()
      : null;
    if (!doc) throw notFound('list');
    if (!doc.public) {
      throw new AppError(
        'invalid_state',
        'the list is not public: make it public before embedding its form',
      );
    }
    const list = await this.publicList(doc.slug);
    const locale = pickLocale([localeInput]);
    const html = this.formHtml(list, locale, `${this.deps.config.baseUrl}/subscribe`, {}, {});
    return {
      listId: list.id,
      slug: list.slug,
      locale,
      hostedUrl: `${this.deps.config.baseUrl}/subscribe/${encodeURIComponent(list.slug)}?lang=${locale}`,
      html,
    };
  }

  formHtml(
    list: PublicList,
    locale: PageLocale,
    action: string,
    values: { email?: string; name?: string; consent?: boolean },
    errors: Record<string, string>,
    // On our own pages the strict CSP forbids style attributes; the layout styles the form.
    hosted = false,
  ): string {
    return renderFragment('subscribe-form', locale, {
      hosted,
      action,
      slug: list.slug,
      values,
      errors,
      consentText: this.consentText(list, locale).body,
    });
  }

  /** The consent ledger of one person, for staff; the read is audited. */
  async consentsOf(ctx: AuditContext, subscriberId: string) {
    if (!Types.ObjectId.isValid(subscriberId))
      throw new AppError('bad_request', 'id: not a valid id');
    const { events, texts } = await this.deps.consent.forSubscriber(subscriberId);
    if (events.length === 0 && !(await this.deps.models.Subscriber.exists({ _id: subscriberId }))) {
      throw notFound('subscriber');
    }
    await this.deps.audit.record(ctx, 'subscriber.consents.read', subscriberId, {
      events: events.length,
    });
    return {
      items: events.map((e) => ({
        id: String(e._id),
        at: e.at,
        kind: e.kind,
        listId: e.listId ? String(e.listId) : null,
        source: e.source,
        locale: e.locale ?? null,
        textHash: e.textHash ?? null,
        textVersion: e.textVersion ?? null,
        ip: e.ip ?? null,
        userAgent: e.userAgent ?? null,
      })),
      texts: texts.map((t) => ({
        hash: t.hash,
        version: t.version,
        locale: t.locale,
        text: t.text,
      })),
    };
  }

  /**
   * For the retention job: subscribers who never confirmed anything and single unconfirmed
   * memberships, both older than UNCONFIRMED_RETENTION_DAYS.
   */
  async staleUnconfirmed(
    limit = 1000,
  ): Promise<{ subscriberIds: string[]; membershipIds: string[] }> {
    const cutoff = new Date(
      this.deps.clock.now().getTime() -
        this.deps.config.subscribe.unconfirmedRetentionDays * 24 * HOUR_MS,
    );
    const [subscribers, memberships] = await Promise.all([
      this.deps.models.Subscriber.find(
        { status: 'unconfirmed', createdAt: { $lt: cutoff } },
        { _id: 1 },
      )
        .limit(limit)
        .lean(),
      this.deps.models.Membership.find(
        { status: 'unconfirmed', createdAt: { $lt: cutoff } },
        { _id: 1 },
      )
        .limit(limit)
        .lean(),
    ]);
    return {
      subscriberIds: subscribers.map((s) => String(s._id)),
      membershipIds: memberships.map((m) => String(m._id)),
    };
  }

  /** Resolves when every confirmation mail queued so far was handed to the relay (or failed). */
  async drain(): Promise<void> {
    await Promise.all([...this.pendingMail]);
  }

  private async resolveToken(token: string) {
    const claims = this.deps.tokens.verify('subscribe-confirm', token);
    const gone = () => new AppError('bad_request', 'the link is no longer valid');
    if (!claims.listId) throw gone();
    const [subscriber, list] = await Promise.all([
      this.deps.models.Subscriber.findById(claims.subscriberId, { email: 1, status: 1 }).lean(),
      this.deps.models.List.findById(claims.listId, { name: 1, slug: 1 }).lean(),
    ]);
    if (!subscriber || !list) throw gone();
    return { subscriber, list };
  }

  private async findOrCreateSubscriber(
    email: string,
    req: SubscribeRequest,
    meta: RequestMeta,
    slug: string,
  ) {
    const existing = await this.deps.addresses.lookup(email, ['status']);
    if (existing) return existing;
    const locale = (LOCALES as readonly string[]).includes(req.locale ?? '')
      ? req.locale
      : meta.locale;
    // Field by field: nothing from the request reaches the document unless named here.
    const doc = {
      _id: new Types.ObjectId(),
      email,
      name: req.name ?? '',
      locale: locale as (typeof LOCALES)[number],
      source: `web-form:${slug}`,
      status: 'unconfirmed' as const,
    };
    // A concurrent post of the same address may have created it first: then theirs is used.
    const holder = await this.deps.addresses.create(doc, ['status']);
    if (holder) return holder;
    await this.deps.events.emit([
      subscriberCreated(doc._id, { status: doc.status, source: doc.source }),
    ]);
    return { _id: doc._id, status: doc.status };
  }

  private async addMembership(
    subscriberId: Types.ObjectId,
    listId: string,
    status: 'unconfirmed',
    source: string,
  ): Promise<void> {
    await this.deps.models.Membership.create({
      _id: membershipId(subscriberId, listId),
      subscriberId,
      listId,
      status,
      source,
    }).catch((err: unknown) => {
      if (!isDuplicateKey(err)) throw err;
    });
  }

  private async markSubscribed(
    subscriberId: Types.ObjectId,
    listId: string,
    source: string,
    now: Date,
  ): Promise<void> {
    const upsert = () =>
      this.deps.models.Membership.updateOne(
        { _id: membershipId(subscriberId, listId) },
        {
          $set: { status: 'subscribed', subscribedAt: now },
          $setOnInsert: { subscriberId, listId, source },
        },
        { upsert: true },
      );
    // Two first posts racing: one insert loses on the unique index, and the retry updates.
    await upsert().catch((err: unknown) => {
      if (!isDuplicateKey(err)) throw err;
      return upsert();
    });
  }

  private networkEvidence(meta: RequestMeta): { ip?: string; userAgent?: string } {
    if (!this.deps.config.subscribe.recordIp) return {};
    return { ip: meta.ip, userAgent: meta.userAgent?.slice(0, 512) };
  }

  /**
   * Sent in the background so the answer takes the same time whether or not a mail goes out; at
   * most one request's mails per address per SUBSCRIBE_CONFIRM_INTERVAL_MINUTES, so the form
   * cannot be used to flood someone's inbox. One mail per list: each link confirms its own list.
   * No name from the form goes into the mail: anyone can type any address into a form.
   */
  private async queueConfirmation(
    subscriberId: string,
    email: string,
    lists: PublicList[],
    locale: PageLocale,
  ): Promise<void> {
    const slot = this.deps.suppressions.hash(email);
    const interval = this.deps.config.subscribe.confirmIntervalMinutes * 60_000;
    if (!(await this.deps.limiter.acquire('confirm-mail', slot, interval))) return;
    const expiresInSeconds = this.deps.config.subscribe.confirmTtlHours * 3600;
    for (const list of lists) {
      const token = this.deps.tokens.sign(
        'subscribe-confirm',
        { subscriberId, listId: list.id },
        { expiresInSeconds },
      );
      const mail = this.deps.systemMails.renderSystemMail('subscribe-confirm', locale, {
        confirmUrl: `${this.deps.config.baseUrl}/subscribe/confirm/${token}?lang=${locale}`,
        listName: list.name,
      });
      const sending = this.deps.mailer
        .send({
          from: this.deps.config.mailFrom,
          to: email,
          subject: mail.subject,
          html: mail.html,
          text: mail.text,
          headers: { 'Auto-Submitted': 'auto-generated' },
        })
        .then(
          () => undefined,
          async (err: unknown) => {
            this.deps.logger.warn({ err, subscriberId }, 'confirmation mail not sent');
            // Let the person try again at once instead of waiting out the interval.
            await this.deps.limiter.release('confirm-mail', slot).catch(() => undefined);
          },
        )
        .finally(() => this.pendingMail.delete(sending));
      this.pendingMail.add(sending);
    }
  }
}

function safeHttpUrl(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
