import { createHash } from 'node:crypto';
import { simpleParser, type ParsedMail } from 'mailparser';
import { Types, type mongo } from 'mongoose';
import type { CampaignCounter } from '../campaigns/stats/counter.js';
import type { Models } from '../db/models/index.js';
import type { InboundClassification, InboundStatus } from '../db/models/inbound-message.js';
import type { Clock } from '../shared/clock.js';
import { normaliseEmail } from '../shared/email.js';
import type { Logger } from '../shared/logger.js';
import type { UnsubscribeScope, UnsubscribeService } from '../unsubscribe/service.js';
import type { SuppressionService } from '../unsubscribe/suppressions.js';
import type { TokenService } from '../unsubscribe/tokens.js';
import type { AuthVerdict, Envelope, MailAuthenticator } from './authenticator.js';
import { autoReplyMarker, autoReplySubject } from './auto-reply.js';
import { insertEach, MAX_UPDATE_STATEMENTS } from '../db/bulk.js';
import { GroupCommit } from '../db/group-commit.js';
import { Claims } from '../db/claims.js';
import { retryTransient } from '../db/retry.js';
import { BOUNCE_COUNTS, INBOUND_CLAIMS } from './claims.js';
import type { ConfirmationSender } from './confirmations.js';
import {
  addressesIn,
  decodeEncodedWords,
  fieldMayName,
  headerEnd,
  literalField,
  messageDigest,
  messageIds,
  parseHeaderBlock,
} from './headers.js';
import type { CampaignLists } from '../unsubscribe/campaign-lists.js';
import type { PrivacyRequestSink, SubscriberLookup, SubscriberRef } from './ports.js';
import { classifyReply } from './reply-intent/classify.js';
import { OWN_TEXT_PARSE_OPTIONS, ownText } from './reply-text.js';
import { isReport, mayBeReport, parseArf, parseDsn, type OriginalRef } from './reports.js';

export interface InboundConfig {
  inboundDomain: string;
  /** Domain of campaign Message-IDs (the DKIM domain when set); INBOUND_DOMAIN's are known too. */
  messageIdDomain: string;
  bounceHardLimit: number;
  /** INBOUND_MAX_BYTES: what every way in refuses above. */
  maxBytes: number;
  /** Confirmation mails per address per day: a flood of forged requests cannot spam a person. */
  confirmationsPerDay: number;
}

/** Raw kept per message; the rest of a large message is not needed to review it. */
export const STORE_CAP_BYTES = 512 * 1024;
const HEADER_CAP_BYTES = 256 * 1024;
// A message with more MIME parts than this is hostile (parser bombs), not mail a person wrote.
const MAX_BOUNDARIES = 500;
const TOKEN_LOCAL = {
  unsubscribe: /^unsubscribe\+([a-z2-7]{52})$/i,
  bounce: /^bounces\+([a-z2-7]{52})$/i,
};
const OUR_MESSAGE_ID = /^([0-9a-f]{24})\.([0-9a-f]{24})$/;
const PARSE_OPTIONS = {
  ...OWN_TEXT_PARSE_OPTIONS,
  keepDeliveryStatus: true,
  skipImageLinks: true,
  skipTextToHtml: true,
  // The HTML is only ever read as text (reply-text.ts): its cid: images need no data: URLs.
  keepCidLinks: true,
  maxHtmlLengthToParse: 1024 * 1024,
};

export interface InboundResult {
  id: string;
  duplicate: boolean;
  status: InboundStatus;
  classification?: InboundClassification;
  outcome?: string;
}

interface Decision {
  status: InboundStatus;
  classification: InboundClassification;
  outcome: string;
  detail?: string;
  subscriberId?: string;
  campaignId?: string;
  auth?: Pick<AuthVerdict, 'spf' | 'dkim' | 'dmarc'>;
  bounce?: { kind: string; status: string };
  confirmationHash?: string;
  error?: string;
}

/**
 * A classification whose outcome needs a write (unsubscribe, erasure request, confirmation mail,
 * bounce count). `act` runs only after the record is stored, and only for the delivery that
 * stored it: the record's insert is what makes a re-delivery a no-op.
 */
interface Pending extends Partial<Omit<Decision, 'status' | 'outcome'>> {
  classification: InboundClassification;
  act: () => Promise<Decision>;
}

type Plan = Decision | Pending;

interface Context {
  id: Types.ObjectId;
  raw: Buffer;
  env: Envelope;
  recipients: string[];
}

/** A reply is read in full: its text, its threading fields and its sender. */
interface ReplyContext extends Context {
  parsed: ParsedMail;
  from: string | null;
}

interface Identity {
  subscriberId: string;
  campaignId?: string;
}

const done = (
  classification: InboundClassification,
  outcome: string,
  extra: Partial<Decision> = {},
): Decision => ({ status: 'done', classification, outcome, ...extra });

const review = (
  classification: InboundClassification,
  detail: string,
  extra: Partial<Decision> = {},
): Decision => ({
  status: 'needs_review',
  classification,
  outcome: 'needs_review',
  detail,
  ...extra,
});

const acting = (
  classification: InboundClassification,
  extra: Partial<Decision>,
  act: () => Promise<Decision>,
): Pending => ({ ...extra, classification, act });

/**
 * The record's `_id` is derived from the message's identity (Message-ID + digest), so that
 * deduplication is an insert that fails on `_id` and the earlier record is found by `_id`, the
 * lookup that is indexed on every database we run on (docs/database.md).
 */
export function inboundRecordId(messageId: string, digest: string): Types.ObjectId {
  return new Types.ObjectId(
    createHash('sha256').update(`${messageId}\n${digest}`).digest().subarray(0, 12),
  );
}

/**
 * The one road every inbound message takes, whether it came over SMTP, from the IMAP mailbox or
 * over HTTP: classify, store (which deduplicates), act, record. Classification order is fixed by
 * the issue: auto-replies, feedback reports, delivery reports, the unsubscribe address, replies;
 * everything else goes to the staff inbox.
 *
 * Classifying needs only reads, so it comes before the store: a message that needs no action
 * (most of them) costs one insert; one that acts costs the insert, the action and one update.
 */
export class InboundPipeline {
  private readonly claims: Claims;
  private readonly bounceSlots: Claims;
  /** Records of messages that arrive together share one insertMany; false: the `_id` was there. */
  private readonly records: GroupCommit<mongo.Document, boolean>;
  /** Outcomes of messages acted on together share one unordered update command. */
  private readonly outcomes: GroupCommit<{ id: Types.ObjectId; set: mongo.Document }, undefined>;

  constructor(
    private readonly models: Pick<Models, 'InboundMessage'>,
    private readonly deps: {
      tokens: TokenService;
      unsubscribe: Pick<UnsubscribeService, 'unsubscribe'>;
      suppressions: SuppressionService;
      authenticator: MailAuthenticator;
      confirmations: ConfirmationSender;
      campaigns: CampaignLists;
      subscribers: SubscriberLookup;
      privacy: PrivacyRequestSink | undefined;
      /** Campaign analytics: each distinct complaint and bounce report about a campaign's mail. */
      counter: Pick<CampaignCounter, 'add'>;
      clock: Clock;
      logger: Logger;
    },
    private readonly cfg: InboundConfig,
  ) {
    this.claims = new Claims(models.InboundMessage.db, INBOUND_CLAIMS);
    this.bounceSlots = new Claims(models.InboundMessage.db, BOUNCE_COUNTS);
    const collection = models.InboundMessage.collection;
    this.records = new GroupCommit((docs) => insertEach(collection, docs), 64);
    // One command of at most MAX_UPDATE_STATEMENTS (docs/database.md). Each statement sets fixed
    // values on one `_id`, so the whole command may simply run again.
    this.outcomes = new GroupCommit(async (items) => {
      const ops = items.map(({ id, set }) => ({
        updateOne: { filter: { _id: id }, update: { $set: set } },
      }));
      await retryTransient(() => collection.bulkWrite(ops, { ordered: false }));
      return items.map(() => undefined);
    }, MAX_UPDATE_STATEMENTS);
  }

  get maxBytes(): number {
    return this.cfg.maxBytes;
  }

  async process(raw: Buffer, env: Envelope): Promise<InboundResult> {
    const end = headerEnd(raw, HEADER_CAP_BYTES);
    const headText = raw
      .subarray(0, end < 0 ? Math.min(raw.length, HEADER_CAP_BYTES) : end)
      .toString('utf8');
    const head = parseHeaderBlock(headText);
    const messageId = messageIds(head.get('message-id')?.[0])[0] ?? '';
    const digest = messageDigest(raw);
    const id = inboundRecordId(messageId, digest);
    const receivedAt = this.deps.clock.now();

    let plan: Plan;
    try {
      plan = await this.decide(id, raw, env, { head, text: headText, end });
    } catch (err) {
      plan = this.failed(id, err);
    }
    const { act, ...decision } = 'act' in plan ? plan : { ...plan, act: undefined };
    // Written with the driver, not a mongoose document: every field is set here from typed values
    // (stored() casts the ids), and mongoose's casting cost about as much as the insert itself.
    const inserted = await this.records.add({
      _id: id,
      receivedAt,
      via: env.via,
      messageId,
      digest,
      mailFrom: (env.mailFrom ?? '').slice(0, 320),
      rcptTo: (env.rcptTo ?? []).slice(0, 50),
      ...(env.remoteIp ? { remoteIp: env.remoteIp } : {}),
      from: (head.get('from')?.[0] ?? '').slice(0, 320),
      subject: decodeEncodedWords(head.get('subject')?.[0] ?? '').slice(0, 500),
      raw: raw.subarray(0, STORE_CAP_BYTES),
      rawSize: raw.length,
      rawTruncated: raw.length > STORE_CAP_BYTES,
      ...stored(decision),
      ...(act ? { status: 'processing' } : {}),
      createdAt: receivedAt,
      updatedAt: receivedAt,
    });
    if (!inserted) {
      const prior = await this.models.InboundMessage.findById(id, {
        status: 1,
        classification: 1,
        outcome: 1,
      }).lean();
      return {
        id: String(id),
        duplicate: true,
        status: prior?.status ?? 'processing',
        classification: prior?.classification ?? undefined,
        outcome: prior?.outcome ?? undefined,
      };
    }

    let final = decision as Decision;
    if (act) {
      try {
        final = await act();
      } catch (err) {
        final = this.failed(id, err);
      }
      await this.outcomes.add({
        id,
        set: { ...stored(final), updatedAt: this.deps.clock.now() },
      });
    }
    this.countForCampaign(final, receivedAt);
    return {
      id: String(id),
      duplicate: false,
      status: final.status,
      classification: final.classification,
      outcome: final.outcome,
    };
  }

  /** A verified report about a campaign's mail, stored once (deduplicated), counts for it. */
  private countForCampaign(final: Decision, at: Date): void {
    if (!final.campaignId || final.status === 'error') return;
    if (final.classification === 'complaint' && final.outcome !== 'no_action')
      this.deps.counter.add(final.campaignId, { complaints: 1 }, at);
    else if (final.classification === 'bounce' && final.bounce?.kind === 'hard')
      this.deps.counter.add(final.campaignId, { hardBounced: 1 }, at);
    else if (final.classification === 'bounce' && final.bounce?.kind === 'soft')
      this.deps.counter.add(final.campaignId, { softBounced: 1 }, at);
  }

  private failed(id: Types.ObjectId, err: unknown): Decision {
    this.deps.logger.warn({ err, inboundMessageId: String(id) }, 'inbound message failed');
    return {
      status: 'error',
      classification: 'malformed',
      outcome: 'error',
      detail: 'the message could not be processed',
      error: String((err as Error)?.message ?? err).slice(0, 500),
    };
  }

  private async decide(
    id: Types.ObjectId,
    raw: Buffer,
    env: Envelope,
    header: { head: Map<string, string[]>; text: string; end: number },
  ): Promise<Plan> {
    const { head, end } = header;
    if (end < 0 || head.size === 0)
      return { ...review('malformed', 'no header section'), status: 'error', outcome: 'error' };
    const text = raw.toString('latin1');
    const boundaries = text.match(/boundary\s*=/gi)?.length ?? 0;
    if (boundaries > MAX_BOUNDARIES)
      return { ...review('malformed', 'too many MIME parts'), status: 'error', outcome: 'error' };

    // The MIME parse is most of the CPU a message costs, so it runs only once something needs a
    // part, the text, or a field that only a MIME parser decodes: automatic replies and mail to
    // the unsubscribe address are mostly decided by their header fields alone.
    let parsing: Promise<ParsedMail> | undefined;
    const parsed = () => (parsing ??= simpleParser(raw, PARSE_OPTIONS));
    const headerRcpts = ['delivered-to', 'x-original-to', 'to', 'cc'].flatMap((n) =>
      (head.get(n) ?? []).flatMap(addressesIn),
    );
    const recipients = [...(env.rcptTo ?? []), ...headerRcpts].map((a) => a.toLowerCase());
    const ctx: Context = { id, raw, env, recipients };
    const get = (name: string) => head.get(name)?.[0];

    // Reports carry Auto-Submitted too (Postfix DSNs do); they are recognised by structure.
    const reportish = mayBeReport(text);
    const report = reportish && isReport(await parsed());
    const subject = async () =>
      literalField(header.text, 'subject') ?? (await parsed()).subject ?? '';
    const auto = report
      ? null
      : (autoReplyMarker({ get }) ?? (autoReplySubject(await subject()) ? 'auto-replied' : null));
    const unsubToken = this.addressToken(recipients, 'unsubscribe');
    if (auto === 'auto-replied' || (auto === 'auto-generated' && !unsubToken))
      return done('auto_reply', 'no_action', { detail: 'automatic reply' });

    if (reportish) {
      const arf = parseArf(await parsed());
      if (arf) return this.complaint(ctx, arf.feedbackType, arf.original);
      const dsn = parseDsn(await parsed());
      if (dsn) return this.bounce(ctx, dsn.kind, dsn.status, dsn.original);
    }
    if (!env.mailFrom && env.via === 'smtp' && this.addressToken(recipients, 'bounce'))
      return done('bounce', 'unparsed', {
        detail: 'null-sender mail to the bounce address that is no DSN',
      });

    const domain = this.cfg.inboundDomain;
    // Mail to the unsubscribe address needs its sender only to rule out a loop.
    const fromMayBeOurs = fieldMayName(header.text, 'from', domain);
    const from = fromMayBeOurs || !unsubToken ? fromOf(await parsed()) : null;
    if (from && from.endsWith(`@${domain}`))
      return done('loop', 'no_action', { detail: 'mail from our own inbound domain' });

    if (unsubToken) {
      const claims = unsubToken.claims;
      return acting('unsubscribe_address', claims, async () => {
        const res = await this.deps.unsubscribe.unsubscribe({
          subscriberId: claims.subscriberId,
          scope: await this.scopeOf(claims.campaignId),
          channel: 'email',
          campaignId: claims.campaignId,
          inboundMessageId: String(id),
        });
        return done('unsubscribe_address', outcomeOf(res), claims);
      });
    }
    return this.reply({ ...ctx, parsed: await parsed(), from });
  }

  private complaint(ctx: Context, feedbackType: string, original: OriginalRef): Plan {
    if (feedbackType !== 'abuse' && feedbackType !== 'fraud')
      return done('complaint', 'no_action', {
        detail: `feedback type ${feedbackType}`.slice(0, 100),
      });
    const who = this.identify(original, 'unsubscribe') ?? this.identify(original, 'bounce');
    if (!who)
      return done('complaint', 'unverified', { detail: 'report about mail that is not ours' });
    return acting('complaint', who, async () =>
      done('complaint', await this.optOutEverywhere('complaint', who, ctx), who),
    );
  }

  /** A complaint or a final hard bounce stops all mail to the person; the outcome to record. */
  private async optOutEverywhere(
    reason: 'complaint' | 'bounce',
    who: { subscriberId: string; campaignId?: string },
    ctx: Context,
  ): Promise<string> {
    const res = await this.deps.unsubscribe.unsubscribe({
      subscriberId: who.subscriberId,
      scope: { all: true },
      channel: reason,
      reason,
      campaignId: who.campaignId,
      inboundMessageId: String(ctx.id),
    });
    if (!res.found) return 'unknown_subscriber';
    if (!res.changed) return 'already_suppressed';
    return reason === 'complaint' ? 'complained' : 'bounced';
  }

  private bounce(
    ctx: Context,
    kind: 'hard' | 'soft' | 'none',
    status: string,
    original: OriginalRef,
  ): Plan {
    const token = this.addressToken(ctx.recipients, 'bounce');
    const who = token?.claims ?? this.identify(original, 'bounce');
    const bounce = { kind, status };
    if (!who)
      return done('bounce', 'unverified', { bounce, detail: 'no verifiable token or Message-ID' });
    // The record itself counts a soft bounce: deduplication made it one distinct report.
    if (kind !== 'hard')
      return done('bounce', kind === 'none' ? 'no_action' : 'soft_bounce_counted', {
        ...who,
        bounce,
      });
    const limit = this.cfg.bounceHardLimit;
    return acting('bounce', { ...who, bounce }, async () => {
      // Hard bounces are counted in numbered slots (concurrent $inc may be lost, docs/database.md;
      // counting the records would scan them all); with a limit of 1 the first one is enough.
      const hard =
        limit <= 1
          ? 1
          : ((await this.bounceSlots.slot(`${who.subscriberId}:hard`, limit, {
              subscriberId: new Types.ObjectId(who.subscriberId),
              inboundMessageId: ctx.id,
              at: this.deps.clock.now(),
            })) ?? limit);
      if (hard < limit) return done('bounce', 'hard_bounce_counted', { ...who, bounce });
      return done('bounce', await this.optOutEverywhere('bounce', who, ctx), { ...who, bounce });
    });
  }

  private async reply(ctx: ReplyContext): Promise<Plan> {
    const { parsed } = ctx;
    const own = ownText(parsed.text, typeof parsed.html === 'string' ? parsed.html : undefined);
    // A subject of one's own ("Unsubscribe") is a request; a reply's subject is the campaign's.
    const subject = parsed.subject ?? '';
    const ownSubject = /^\s*(re|vs|sv|aw|fw|fwd|vl|vb)\s*:/i.test(subject) ? '' : subject;
    const verdict = classifyReply(`${ownSubject}\n${own}`);
    const context = this.replyContext(ctx);
    // Staff read the reason beside the message: it names the words that decided.
    if (verdict.intent === 'other') return review('other', verdict.reason, context ?? {});
    if (verdict.intent === 'ambiguous') return review('ambiguous', verdict.reason, context ?? {});
    if (verdict.intent === 'privacy') {
      // Only erasure is opened on its own; an access request is answered by staff.
      if (verdict.privacy === 'access')
        return review('privacy_request', `access request: ${verdict.reason}`, context ?? {});
      const from = ctx.from;
      if (!from) return review('privacy_request', 'privacy request without a usable sender');
      const privacy = this.deps.privacy;
      if (!privacy) return review('privacy_request', 'privacy request for staff', context ?? {});
      return acting('privacy_request', context ?? {}, async () => {
        await privacy.open({
          type: 'erasure',
          email: from,
          channel: 'email',
          inboundMessageId: String(ctx.id),
        });
        return done('privacy_request', 'privacy_request_opened', context ?? {});
      });
    }

    const subscriber = context
      ? await this.deps.subscribers.byId(context.subscriberId)
      : ctx.from
        ? await this.deps.subscribers.byEmail(ctx.from)
        : null;
    if (!subscriber) return review('reply_unsubscribe', 'asks to unsubscribe; no subscriber found');
    const campaignId = context?.campaignId;
    const ids = { subscriberId: subscriber.id, ...(campaignId ? { campaignId } : {}) };

    let auth: AuthVerdict | undefined;
    if (ctx.from === subscriber.email) {
      auth = await this.deps.authenticator.verify(ctx.raw, ctx.env, ctx.from);
      if (auth.fromAuthenticated) {
        const extra = { ...ids, auth: authOf(auth), detail: verdict.reason };
        return acting('reply_unsubscribe', extra, async () => {
          const res = await this.deps.unsubscribe.unsubscribe({
            subscriberId: subscriber.id,
            scope: await this.scopeOf(campaignId),
            channel: context ? 'reply' : 'email',
            campaignId,
            inboundMessageId: String(ctx.id),
          });
          return done('reply_unsubscribe', outcomeOf(res), extra);
        });
      }
    }
    const extra = { ...ids, ...(auth ? { auth: authOf(auth) } : {}) };
    const why = auth ? 'sender not authenticated' : 'sender is not the subscriber';
    return this.confirm(subscriber, campaignId, why, extra);
  }

  private confirm(
    subscriber: SubscriberRef,
    campaignId: string | undefined,
    why: string,
    extra: Partial<Decision>,
  ): Plan {
    if (subscriber.status !== 'subscribed' && subscriber.status !== 'unconfirmed')
      return done('reply_unsubscribe', 'already_unsubscribed', extra);
    if (subscriber.email.endsWith(`@${this.cfg.inboundDomain}`))
      return done('reply_unsubscribe', 'no_action', {
        ...extra,
        detail: 'would mail our own domain',
      });
    const hash = this.deps.suppressions.hash(subscriber.email);
    return acting('reply_unsubscribe', extra, async () => {
      // One slot per confirmation per address and UTC day: concurrent forged requests can take
      // no more than the day's slots, so no more mails than that reach the person.
      const now = this.deps.clock.now();
      const slot = await this.claims.slot(
        `confirm:${hash}:${now.toISOString().slice(0, 10)}`,
        this.cfg.confirmationsPerDay,
        { at: now },
      );
      if (slot === null)
        return review('reply_unsubscribe', `${why}; confirmation limit reached`, extra);
      await this.deps.confirmations.send(subscriber, campaignId);
      return done('reply_unsubscribe', 'confirmation_sent', {
        ...extra,
        detail: why,
        confirmationHash: hash,
      });
    });
  }

  /** Subscriber and campaign of the campaign mail this replies to (our Message-ID, or VERP). */
  private replyContext(ctx: ReplyContext): Identity | null {
    const h = ctx.parsed.headers;
    const refs = [h.get('in-reply-to'), h.get('references')]
      .flatMap((v) => (Array.isArray(v) ? v : v ? [v] : []))
      .map(String)
      .flatMap((v) =>
        v.includes('<') ? messageIds(v) : v.split(/\s+/).map((x) => x.toLowerCase()),
      );
    const byId = this.identify({ messageIds: refs, addresses: [] }, 'unsubscribe');
    return byId ?? this.addressToken(ctx.recipients, 'bounce')?.claims ?? null;
  }

  /** Ids from a verified token address, else from our deterministic Message-ID. */
  private identify(original: OriginalRef, purpose: 'unsubscribe' | 'bounce'): Identity | null {
    const token = this.addressToken(original.addresses, purpose);
    if (token) return token.claims;
    const suffixes = [this.cfg.messageIdDomain, this.cfg.inboundDomain].map(
      (d) => `@${d.toLowerCase()}`,
    );
    for (const mid of original.messageIds) {
      const suffix = suffixes.find((s) => mid.endsWith(s));
      const m = suffix && OUR_MESSAGE_ID.exec(mid.slice(0, -suffix.length));
      if (m) return { campaignId: m[1]!, subscriberId: m[2]! };
    }
    return null;
  }

  private addressToken(addresses: string[], purpose: 'unsubscribe' | 'bounce') {
    const domain = this.cfg.inboundDomain;
    for (const a of addresses) {
      const at = a.lastIndexOf('@');
      if (at < 0 || a.slice(at + 1).toLowerCase() !== domain) continue;
      const m = TOKEN_LOCAL[purpose].exec(a.slice(0, at));
      if (!m) continue;
      try {
        return { claims: this.deps.tokens.verifyAddress(purpose, m[1]!) };
      } catch {
        // An altered token is just not ours; the message goes on as any other.
      }
    }
    return null;
  }

  private async scopeOf(campaignId: string | undefined): Promise<UnsubscribeScope> {
    const listIds = campaignId ? await this.deps.campaigns(campaignId) : [];
    // Without the campaign's lists the request cannot be narrowed; stopping all mail honours it.
    return listIds.length > 0 ? { all: false, listIds } : { all: true };
  }
}

/** Decision fields as the schema stores them (ids as ObjectIds). */
function stored(d: Partial<Decision>) {
  const { subscriberId, campaignId, ...rest } = d;
  return {
    ...rest,
    ...(subscriberId ? { subscriberId: new Types.ObjectId(subscriberId) } : {}),
    ...(campaignId ? { campaignId: new Types.ObjectId(campaignId) } : {}),
  };
}

/** The sender, when From names exactly one address. */
function fromOf(parsed: ParsedMail): string | null {
  const value = parsed.from?.value ?? [];
  return value.length === 1 ? normaliseEmail(value[0]!.address) : null;
}

function outcomeOf(res: { changed: boolean; found: boolean }): string {
  return res.found ? (res.changed ? 'unsubscribed' : 'already_unsubscribed') : 'unknown_subscriber';
}

function authOf(a: AuthVerdict) {
  return { spf: a.spf, dkim: a.dkim, dmarc: a.dmarc };
}
