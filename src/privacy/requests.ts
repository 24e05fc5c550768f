import type { DomainEvents } from '../events/domain-events.js';
import { countMatching } from '../db/count.js';
import { readPage, type PageRequest } from '../db/keyset.js';
import type { Models } from '../db/models/index.js';
import type {
  PRIVACY_REQUEST_CHANNELS,
  PRIVACY_REQUEST_STATUSES,
  PRIVACY_REQUEST_TYPES,
} from '../db/models/privacy.js';
import type { Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import { maskEmail, normaliseEmail } from '../shared/email.js';
import { badRequest, notFound } from '../shared/errors.js';
import type { AuditContext, AuditLog } from './audit.js';
import { dueDay, registerDay } from '../shared/periods.js';

export type PrivacyRequestType = (typeof PRIVACY_REQUEST_TYPES)[number];
export type PrivacyRequestStatus = (typeof PRIVACY_REQUEST_STATUSES)[number];
export type PrivacyRequestChannel = (typeof PRIVACY_REQUEST_CHANNELS)[number];

export interface OpenRequest {
  type: PrivacyRequestType;
  email: string;
  channel: PrivacyRequestChannel;
  receivedAt?: Date;
  notes?: string;
  /** Set by the inbound-mail capability; the same message never opens two requests. */
  inboundMessageId?: string;
}

export interface PrivacyRequestView {
  id: string;
  type: string;
  email: string | null;
  emailMasked: string;
  channel: string;
  receivedAt: Date;
  dueDate: string;
  status: string;
  overdue: boolean;
  notes: string;
  handledBy: string | null;
  closedAt: Date | null;
  inboundMessageId: string | null;
}

const OPEN_STATUSES = ['open', 'in_progress'];
const DEFAULT_PAGE = 50;
const SYSTEM: AuditContext = { actor: { type: 'system', name: 'privacy-requests' } };

/**
 * The register of data-subject requests (GDPR Art. 12(3): answered within one month).
 * Inbound mail ("poista tietoni", "delete my data") calls `open` with a system actor.
 */
export class PrivacyRequestService {
  constructor(
    private readonly models: Pick<Models, 'PrivacyRequest'>,
    private readonly protector: DataProtector,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly events: DomainEvents,
  ) {}

  /** `ctx` defaults to the system, so inbound mail can use this as its request sink directly. */
  async open(input: OpenRequest, ctx: AuditContext = SYSTEM): Promise<PrivacyRequestView> {
    const email = normaliseEmail(input.email);
    if (!email) throw badRequest('email: not a valid email address');
    const receivedAt = input.receivedAt ?? this.clock.now();
    if (receivedAt.getTime() > this.clock.now().getTime() + 60_000)
      throw badRequest('receivedAt: cannot be in the future');
    const fields = {
      type: input.type,
      subjectEmail: email,
      subjectEmailHash: this.protector.emailHash(email),
      subjectEmailMasked: maskEmail(email),
      channel: input.channel,
      receivedAt,
      dueDate: dueDay(receivedAt),
      status: 'open',
      notes: input.notes ?? '',
      createdBy: ctx.actor.type === 'staff' ? ctx.actor.userId : ctx.actor.type,
    };
    const doc = input.inboundMessageId
      ? await this.models.PrivacyRequest.findOneAndUpdate(
          { inboundMessageId: input.inboundMessageId },
          { $setOnInsert: { ...fields, inboundMessageId: input.inboundMessageId } },
          { upsert: true, new: true },
        ).lean()
      : (await this.models.PrivacyRequest.create(fields)).toObject();
    // The request's id and kind only: who asked stays in the register.
    await this.events.emit([
      {
        type: 'privacy_request.opened',
        key: String(doc._id),
        data: {
          requestId: String(doc._id),
          requestType: input.type,
          channel: input.channel,
          dueDate: fields.dueDate,
        },
      },
    ]);
    await this.audit.record(ctx, 'privacy.request.open', null, {
      requestId: String(doc._id),
      type: input.type,
      emailHash: fields.subjectEmailHash,
    });
    return this.view(doc);
  }

  /**
   * Open and in-progress requests in the order they were registered, paged by cursor; each flagged
   * overdue by the clock, and `overdue` keeps only those.
   */
  async listOpen(
    request: PageRequest & { overdue?: boolean | undefined },
  ): Promise<{ items: PrivacyRequestView[]; nextCursor: string | null }> {
    const filter = request.overdue ? this.overdueFilter() : { status: { $in: OPEN_STATUSES } };
    const { docs, nextCursor } = await readPage(this.models.PrivacyRequest, filter, {
      ...request,
      defaultLimit: DEFAULT_PAGE,
    });
    return { items: docs.map((d) => this.view(d)), nextCursor };
  }

  /** How many requests are open and how many of them are overdue, counted by the database. */
  async counts(): Promise<{ open: number; overdue: number }> {
    const [open, overdue] = await Promise.all([
      countMatching(this.models.PrivacyRequest, { status: { $in: OPEN_STATUSES } }),
      countMatching(this.models.PrivacyRequest, this.overdueFilter()),
    ]);
    return { open, overdue };
  }

  /** Still open after their due day (the register's calendar day, like `overdue` in views). */
  private overdueFilter() {
    return { status: { $in: OPEN_STATUSES }, dueDate: { $lt: registerDay(this.clock.now()) } };
  }

  async get(id: string): Promise<PrivacyRequestView> {
    const doc = await this.models.PrivacyRequest.findById(id).lean();
    if (!doc) throw notFound('privacy request');
    return this.view(doc);
  }

  async update(
    ctx: AuditContext,
    id: string,
    patch: { status?: PrivacyRequestStatus; notes?: string },
  ): Promise<PrivacyRequestView> {
    const set: Record<string, unknown> = {};
    if (patch.notes !== undefined) set.notes = patch.notes;
    if (patch.status !== undefined) {
      set.status = patch.status;
      set.closedAt = OPEN_STATUSES.includes(patch.status) ? null : this.clock.now();
    }
    if (ctx.actor.type === 'staff') set.handledBy = ctx.actor.userId;
    const doc = await this.models.PrivacyRequest.findByIdAndUpdate(
      id,
      { $set: set },
      { new: true },
    ).lean();
    if (!doc) throw notFound('privacy request');
    await this.audit.record(ctx, 'privacy.request.update', null, {
      requestId: id,
      status: patch.status,
      notesChanged: patch.notes !== undefined,
    });
    return this.view(doc);
  }

  private view(d: {
    _id: unknown;
    type: string;
    subjectEmail?: string | null;
    subjectEmailMasked: string;
    channel: string;
    receivedAt: Date;
    dueDate: string;
    status: string;
    notes?: string | null;
    handledBy?: string | null;
    closedAt?: Date | null;
    inboundMessageId?: string | null;
  }): PrivacyRequestView {
    return {
      id: String(d._id),
      type: d.type,
      email: d.subjectEmail ?? null,
      emailMasked: d.subjectEmailMasked,
      channel: d.channel,
      receivedAt: d.receivedAt,
      dueDate: d.dueDate,
      status: d.status,
      overdue: OPEN_STATUSES.includes(d.status) && registerDay(this.clock.now()) > d.dueDate,
      notes: d.notes ?? '',
      handledBy: d.handledBy ?? null,
      closedAt: d.closedAt ?? null,
      inboundMessageId: d.inboundMessageId ?? null,
    };
  }
}
