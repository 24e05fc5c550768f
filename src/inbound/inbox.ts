import { simpleParser } from 'mailparser';
import { Types } from 'mongoose';
import type { StaffActor } from '../auth/service.js';
import type { Models } from '../db/models/index.js';
import type { InboundClassification, InboundStatus } from '../db/models/inbound-message.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import type { Clock } from '../shared/clock.js';
import { normaliseEmail } from '../shared/email.js';
import { AppError, notFound } from '../shared/errors.js';
import type { UnsubscribeService } from '../unsubscribe/service.js';
import type { CampaignLists } from '../unsubscribe/campaign-lists.js';
import { Claims } from '../db/claims.js';
import { readPageByDate } from '../db/keyset.js';
import { INBOUND_CLAIMS } from './claims.js';
import type { SubscriberLookup } from './ports.js';
import { OWN_TEXT_PARSE_OPTIONS, ownText } from './reply-text.js';

export type StaffAction = 'unsubscribe' | 'unsubscribe_all' | 'ignore';

/** An action takes milliseconds; a claim this old was left by a process that died. */
const ACTION_LEASE_MS = 5 * 60_000;

const summary = {
  receivedAt: 1,
  via: 1,
  from: 1,
  subject: 1,
  status: 1,
  classification: 1,
  outcome: 1,
  detail: 1,
  subscriberId: 1,
  campaignId: 1,
  auth: 1,
  bounce: 1,
  actedBy: 1,
  actedAt: 1,
};

type SummaryDoc = { _id: unknown; subscriberId?: unknown; campaignId?: unknown } & Record<
  string,
  unknown
>;

function view(d: SummaryDoc) {
  const { _id, subscriberId, campaignId, ...rest } = d;
  return {
    id: String(_id),
    ...rest,
    subscriberId: subscriberId ? String(subscriberId) : null,
    campaignId: campaignId ? String(campaignId) : null,
  };
}

/** The staff side of inbound mail: what needs a person, and one call to settle it. */
export class InboundInbox {
  private readonly claims: Claims;

  constructor(
    private readonly models: Pick<Models, 'InboundMessage'>,
    private readonly unsubscribe: UnsubscribeService,
    private readonly subscribers: SubscriberLookup,
    private readonly campaigns: CampaignLists,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {
    this.claims = new Claims(models.InboundMessage.db, INBOUND_CLAIMS);
  }

  /**
   * Newest first by when a message was received, in keyset pages (`cursor`). `before` (a time, the
   * paging of earlier versions) starts below it.
   */
  async list(q: {
    status?: InboundStatus;
    classification?: InboundClassification;
    limit: number;
    cursor?: string;
    before?: Date;
  }) {
    const filter: Record<string, unknown> = {};
    if (q.status) filter.status = q.status;
    if (q.classification) filter.classification = q.classification;
    if (q.before) filter.receivedAt = { $lt: q.before };
    const { docs, nextCursor } = await readPageByDate(this.models.InboundMessage, filter, {
      field: 'receivedAt',
      projection: summary,
      cursor: q.cursor,
      limit: q.limit,
      defaultLimit: q.limit,
    });
    return { items: docs.map((d) => view(d as unknown as SummaryDoc)), nextCursor };
  }

  /** One message with the sender's own text, so staff can judge the request; audited. */
  async get(ctx: AuditContext, id: string) {
    const doc = await this.find(id, { ...summary, raw: 1 });
    // lean() hands back the driver's Binary, whose bytes are in `.buffer`.
    const { raw, ...rest } = doc as SummaryDoc & { raw?: { buffer: Uint8Array } };
    let text = '';
    if (raw) {
      const parsed = await simpleParser(Buffer.from(raw.buffer), {
        ...OWN_TEXT_PARSE_OPTIONS,
        skipTextToHtml: true,
        skipImageLinks: true,
      });
      text = ownText(parsed.text, typeof parsed.html === 'string' ? parsed.html : undefined).slice(
        0,
        5000,
      );
    }
    await this.audit.record(
      ctx,
      'inbound.read',
      rest.subscriberId ? String(rest.subscriberId) : null,
      {
        inboundMessageId: id,
      },
    );
    return { ...view(rest), text };
  }

  /**
   * Settles a message waiting for review. Two staff members (or a double click) acting at once
   * must not both act: the one whose claim insert wins does, the others get invalid_state. A
   * filtered `updateOne({_id, status: 'needs_review'})` cannot decide that on every database we
   * run on, where several concurrent callers may all see it match (docs/database.md).
   */
  async act(
    ctx: AuditContext & { actor: StaffActor },
    id: string,
    action: StaffAction,
    subscriberId?: string,
  ) {
    const doc = await this.find(id, { status: 1, from: 1, subscriberId: 1, campaignId: 1 });
    if (doc.status !== 'needs_review')
      throw new AppError('invalid_state', `the message is ${doc.status}, not waiting for review`);
    let target: string | undefined;
    if (action !== 'ignore') {
      target = subscriberId ?? (doc.subscriberId ? String(doc.subscriberId) : undefined);
      if (!target) {
        const email = normaliseEmail(/<([^>]+)>/.exec(doc.from)?.[1] ?? doc.from);
        target = email ? (await this.subscribers.byEmail(email))?.id : undefined;
      }
      if (!target)
        throw new AppError(
          'validation_failed',
          'subscriberId: no subscriber is known for this message',
        );
    }

    const now = this.clock.now();
    const claim = await this.claims.lease(`act:${id}`, ACTION_LEASE_MS, now, {
      by: ctx.actor.userId,
      action,
    });
    if (!claim) throw new AppError('invalid_state', 'the message is being settled by someone else');
    let outcome = 'ignored';
    try {
      if (target) {
        const campaignId = doc.campaignId ? String(doc.campaignId) : undefined;
        const listIds =
          action === 'unsubscribe' && campaignId ? await this.campaigns(campaignId) : [];
        const res = await this.unsubscribe.unsubscribe({
          subscriberId: target,
          scope: listIds.length > 0 ? { all: false, listIds } : { all: true },
          // The person asked by replying to a campaign; staff only read it for them.
          channel: campaignId && !subscriberId ? 'reply' : 'staff',
          campaignId,
          inboundMessageId: id,
        });
        if (!res.found) throw notFound('subscriber');
        outcome = res.changed ? 'unsubscribed' : 'already_unsubscribed';
      }
    } catch (err) {
      // Nothing was settled: the message stays in the inbox for another try (the unsubscribe
      // service is idempotent, so a retry after a half-done attempt does it once).
      await this.claims.expire(claim);
      throw err;
    }
    await this.models.InboundMessage.updateOne(
      { _id: id },
      {
        $set: {
          status: 'done',
          outcome: `staff_${outcome}`,
          actedBy: ctx.actor.userId,
          actedAt: now,
          ...(target ? { subscriberId: new Types.ObjectId(target) } : {}),
        },
      },
    );
    const updated = await this.models.InboundMessage.findById(id, summary).lean();
    await this.audit.record(ctx, `inbound.${action}`, target ?? null, { inboundMessageId: id });
    return view(updated as SummaryDoc);
  }

  private async find(id: string, projection: Record<string, number>) {
    if (!Types.ObjectId.isValid(id)) throw notFound('inbound message');
    const doc = await this.models.InboundMessage.findById(id, projection).lean();
    if (!doc) throw notFound('inbound message');
    return doc;
  }
}
