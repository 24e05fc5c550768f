import { Types } from 'mongoose';
import type { AuthService } from '../auth/service.js';
import type { CampaignDoc, CampaignStatus } from '../db/models/campaign.js';
import type { Models } from '../db/models/index.js';
import type { Mailer } from '../mail/mailer.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import type { Clock } from '../shared/clock.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { AppError, badRequest, notFound } from '../shared/errors.js';
import { idsBefore } from '../db/keyset.js';
import type { AudienceSource } from './audience.js';
import type { CampaignRenderer, RenderedMail } from './render/types.js';
import { sendingClaims } from '../db/claims.js';
import { findByIds } from '../db/group-read.js';
import { NOBODY, type MailComposer, type MailRecipient } from './send/compose.js';
import { writeCampaign } from './send/lifecycle.js';
import {
  countOutcomes,
  deleteCampaignRecords,
  holdRecordExpiry,
  requeueClaimId,
} from './send/records.js';
import { writeBatch, type BatchEntry } from './send/snapshot.js';
import type { GuardVerdict, GuardedCampaigns } from './stats/guard.js';
import type { CampaignTracking } from './stats/tracking.js';

/** Where stored templates come from (`templateId`); the template capability provides it. */
export interface TemplateSource {
  /** The template's MJML; throws AppError 404 when there is no such template. */
  mjmlOf(templateId: string): Promise<string>;
}

export interface CampaignInput {
  name: string;
  subject: string;
  mjml?: string;
  templateId?: string;
  lists?: string[];
  segmentId?: string;
  fromEmail?: string;
  sendAt?: Date | null;
  /** Wrap links in counting redirects (default on); aggregate, never per person. */
  trackClicks?: boolean;
  /** Add the open pixel (default off); aggregate, never per person. */
  trackOpens?: boolean;
}

export interface CampaignStats {
  recipients: number;
  sent: number;
  failed: number;
  skipped: number;
  unknown: number;
  unsubscribed: number;
  bounced: number;
}

export interface CampaignView {
  id: string;
  name: string;
  subject: string;
  status: CampaignStatus;
  lists: string[];
  segmentId: string | null;
  fromEmail: string;
  sendAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  stats: CampaignStats;
  /** Share of the recipients whose outcome is settled (sent, failed, skipped, unknown), 0..1. */
  progress: number;
  tracking: { clicks: boolean; opens: boolean };
  /** Set while the deliverability guard holds the campaign paused: why, and since when. */
  pausedByGuard: { code: string; message: string; at: Date } | null;
}

type Campaign = CampaignDoc & { _id: Types.ObjectId };

/** Each campaign on a page costs a stats read; a page stays small. */
const DEFAULT_PAGE = 50;
const EDITABLE: CampaignStatus[] = ['draft', 'scheduled'];
const SAMPLE: Omit<MailRecipient, 'email'> = {
  subscriberId: NOBODY,
  name: 'Maija Meikäläinen',
  locale: 'fi',
  attributes: {},
};

/**
 * Campaigns: content, audience and the lifecycle draft -> scheduled -> running <-> paused ->
 * finished | cancelled. Each transition (and edit) claims the campaign's state version
 * (send/lifecycle.ts), so two operators (or an operator and a worker) racing cannot both win;
 * the loser gets 409.
 */
export class CampaignService implements GuardedCampaigns {
  constructor(
    private readonly models: Pick<
      Models,
      | 'Campaign'
      | 'CampaignRecipient'
      | 'CampaignBatch'
      | 'CampaignBatchEntries'
      | 'CampaignCounts'
      | 'CampaignWindow'
      | 'CampaignWindowOutcome'
      | 'Claim'
      | 'List'
      | 'Subscriber'
      | 'UnsubscribeEvent'
    >,
    private readonly renderer: CampaignRenderer,
    private readonly audience: AudienceSource,
    private readonly templates: TemplateSource,
    private readonly composer: MailComposer,
    private readonly mailer: Mailer,
    private readonly auth: AuthService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly defaults: {
      fromEmail: string | undefined;
      /** SEND_RECIPIENT_RECORD_DAYS and SEND_WINDOW_SIZE, for cancel and retry-unknown. */
      recipientRecordDays: number;
      windowSize: number;
    },
    private readonly tracking: CampaignTracking,
  ) {}

  async create(input: CampaignInput, ctx: AuditContext): Promise<CampaignView> {
    const mjml = await this.content(input);
    const listIds = await this.resolveLists(input.lists ?? []);
    if (input.segmentId) await this.audience.assertSegment(input.segmentId);
    if (listIds.length === 0 && !input.segmentId) {
      throw badRequest('lists: give at least one list or a segmentId');
    }
    const fromEmail = input.fromEmail ?? this.defaults.fromEmail;
    if (!fromEmail) throw badRequest('fromEmail: required (MAIL_FROM is not set)');
    const { links } = this.renderer.compile({ subject: input.subject, mjml });
    const doc = await this.models.Campaign.create({
      name: input.name,
      subject: input.subject,
      mjml,
      templateId: input.templateId,
      listIds,
      segmentId: input.segmentId,
      fromEmail,
      sendAt: input.sendAt ?? undefined,
      status: 'draft',
      tracking: { clicks: input.trackClicks ?? true, opens: input.trackOpens ?? false },
      links: links ?? [],
      createdBy: ctx.actor.type === 'staff' ? ctx.actor.userId : undefined,
    });
    return this.view(doc.toObject() as Campaign);
  }

  /** A page of campaigns, newest first, with their stats; keyset on `_id`. */
  async list(
    page: { cursor?: string; limit?: number } = {},
  ): Promise<{ items: CampaignView[]; nextCursor: string | null }> {
    const limit = page.limit ?? DEFAULT_PAGE;
    const before = page.cursor ? new Types.ObjectId(decodeCursor(page.cursor)) : undefined;
    const found = await this.models.Campaign.find({ _id: idsBefore(before) })
      .sort({ _id: -1 })
      .limit(limit + 1)
      .lean<Campaign[]>();
    const docs = found.slice(0, limit);
    return {
      items: await Promise.all(docs.map((d) => this.view(d))),
      nextCursor: found.length > limit ? encodeCursor(String(docs.at(-1)!._id)) : null,
    };
  }

  /** One campaign with its MJML source, for the editor; lists leave the source out. */
  async get(id: string): Promise<CampaignView & { mjml: string }> {
    const doc = await this.load(id);
    return { ...(await this.view(doc)), mjml: doc.mjml };
  }

  /** Content and audience change only before sending starts. */
  async update(id: string, patch: Partial<CampaignInput>): Promise<CampaignView> {
    const current = await this.load(id);
    if (!EDITABLE.includes(current.status)) {
      throw new AppError('invalid_state', `a ${current.status} campaign can no longer be edited`);
    }
    const set: Record<string, unknown> = {};
    const unset: Record<string, 1> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.fromEmail !== undefined) set.fromEmail = patch.fromEmail;
    if (patch.subject !== undefined) set.subject = patch.subject;
    if (patch.mjml !== undefined || patch.templateId !== undefined) {
      set.mjml = await this.content(patch);
      if (patch.templateId) set.templateId = patch.templateId;
    }
    if (patch.lists !== undefined) set.listIds = await this.resolveLists(patch.lists);
    if (patch.segmentId !== undefined) {
      await this.audience.assertSegment(patch.segmentId);
      set.segmentId = patch.segmentId;
    }
    if (patch.sendAt !== undefined) {
      if (patch.sendAt) set.sendAt = patch.sendAt;
      else unset.sendAt = 1;
    }
    if (patch.trackClicks !== undefined || patch.trackOpens !== undefined) {
      set.tracking = {
        clicks: patch.trackClicks ?? current.tracking?.clicks ?? true,
        opens: patch.trackOpens ?? current.tracking?.opens ?? false,
      };
    }
    const { links } = this.renderer.compile({
      subject: (set.subject as string | undefined) ?? current.subject,
      mjml: (set.mjml as string | undefined) ?? current.mjml,
    });
    set.links = links ?? [];
    const doc = await writeCampaign(
      this.models,
      this.clock,
      current._id,
      { from: EDITABLE, set, ...(Object.keys(unset).length ? { unset } : {}) },
      'api',
    );
    if (!doc) throw new AppError('invalid_state', 'the campaign started sending meanwhile');
    return this.view(doc);
  }

  async remove(id: string): Promise<void> {
    const current = await this.load(id);
    const res = await this.models.Campaign.deleteOne({
      _id: current._id,
      status: { $in: ['draft', 'scheduled', 'finished', 'cancelled'] },
    });
    if (res.deletedCount !== 1) {
      throw new AppError(
        'invalid_state',
        `a ${current.status} campaign cannot be deleted; cancel it first`,
      );
    }
    await deleteCampaignRecords(this.models, current._id);
    await this.models.CampaignCounts.deleteMany({ campaignId: current._id });
    const versions = Array.from(
      { length: (current.stateVersion ?? 0) + 1 },
      (_, v) => `campaign:${String(current._id)}:${v}`,
    );
    await this.models.Claim.deleteMany({ _id: { $in: versions } });
  }

  /** draft -> running now, or -> scheduled when sendAt lies in the future. */
  async send(id: string): Promise<CampaignView> {
    const current = await this.load(id);
    const now = this.clock.now();
    const later = current.sendAt && current.sendAt > now;
    return this.transition(
      id,
      ['draft'],
      later ? { status: 'scheduled' } : { status: 'running', startedAt: now },
    );
  }

  pause(id: string) {
    return this.transition(id, ['running'], { status: 'paused' });
  }

  /**
   * A resume after the deliverability guard paused is the operator's knowing decision: the counts
   * the guard judged are acknowledged, and from now on it judges only what comes after them.
   */
  async resume(id: string): Promise<CampaignView> {
    const current = await this.load(id);
    const guard = current.pausedByGuard;
    const doc = await writeCampaign(
      this.models,
      this.clock,
      current._id,
      {
        from: ['paused'],
        set: {
          status: 'running',
          ...(guard ? { guardAcknowledged: { at: this.clock.now(), counts: guard.counts } } : {}),
        },
        unset: { pausedByGuard: 1 },
      },
      'api',
    );
    if (!doc) {
      const now = await this.load(id);
      throw new AppError('invalid_state', `cannot go from ${now.status} to running`);
    }
    return this.view(doc);
  }

  /** The deliverability guard's pause (src/campaigns/stats/guard.ts): the same pause, with why. */
  async pauseForGuard(id: string, verdict: GuardVerdict): Promise<boolean> {
    const doc = await writeCampaign(
      this.models,
      this.clock,
      new Types.ObjectId(id),
      {
        from: ['running'],
        set: {
          status: 'paused',
          pausedByGuard: {
            code: verdict.code,
            message: verdict.message,
            at: this.clock.now(),
            counts: verdict.counts,
          },
        },
      },
      'guard',
    );
    return doc !== null;
  }

  cancel(id: string) {
    const now = this.clock.now();
    return this.transition(id, ['draft', 'scheduled', 'running', 'paused'], {
      status: 'cancelled',
      finishedAt: now,
      recordsKeptUntil: new Date(now.getTime() + this.defaults.recipientRecordDays * 86_400_000),
    });
  }

  /**
   * The operator's decision to resend mails whose outcome is unknown (a worker died while their
   * window was on the wire): they go into a new batch and count as unknown until their new
   * outcome is recorded. Their deterministic Message-ID lets a receiver recognise a duplicate.
   * Each window's unknown recipients are requeued once, however many operators press the button
   * together; after SEND_RECIPIENT_RECORD_DAYS nobody is left to requeue.
   */
  async retryUnknown(id: string): Promise<{ requeued: number; campaign: CampaignView }> {
    const current = await this.load(id);
    if (!['running', 'paused', 'finished'].includes(current.status)) {
      throw new AppError('invalid_state', `a ${current.status} campaign has nothing to retry`);
    }
    const windows = await this.models.CampaignWindowOutcome.find(
      { campaignId: current._id, 'counts.unknown': { $gt: 0 } },
      { batchId: 1, unknown: 1 },
    ).lean<Array<{ _id: string; batchId: Types.ObjectId; unknown: number[] }>>();
    const batches = await findByIds<{ entries: BatchEntry[] }>(
      this.models.CampaignBatchEntries,
      [...new Set(windows.map((w) => String(w.batchId)))],
      { entries: 1 },
    );
    if (
      windows.length === 0 ||
      !(await holdRecordExpiry(this.models, this.clock, current, 'api'))
    ) {
      return { requeued: 0, campaign: await this.view(current) };
    }
    const entries: BatchEntry[] = [];
    const claims = sendingClaims(this.models.Claim);
    const at = this.clock.now();
    for (const w of windows) {
      if (!(await claims.once(requeueClaimId(w._id), { owner: 'api', at }))) continue;
      const batch = batches.get(String(w.batchId))?.entries ?? [];
      for (const i of w.unknown) {
        const { subscriberId, listId } = batch[i]!;
        entries.push({ subscriberId, ...(listId ? { listId } : {}) });
      }
    }
    if (entries.length === 0) return { requeued: 0, campaign: await this.view(current) };
    const last = await this.models.CampaignBatch.findOne(
      { campaignId: current._id },
      { batchNo: 1 },
    )
      .sort({ batchNo: -1 })
      .lean();
    let batchNo = (last?.batchNo ?? -1) + 1;
    const shape = { windowSize: this.defaults.windowSize, requeued: entries.length };
    while (!(await writeBatch(this.models, this.clock, current._id, batchNo, entries, shape))) {
      batchNo += 1;
    }
    await writeCampaign(
      this.models,
      this.clock,
      current._id,
      {
        from: ['finished'],
        set: { status: 'running' },
        unset: { finishedAt: 1, recordsKeptUntil: 1 },
      },
      'api',
    );
    return { requeued: entries.length, campaign: await this.get(id) };
  }

  /** Renders the campaign for one subscriber (audited: it shows their data) or a sample person. */
  async preview(
    id: string,
    subscriberId: string | undefined,
    ctx: AuditContext,
    unsaved: { subject?: string | undefined; mjml?: string | undefined } = {},
  ): Promise<RenderedMail> {
    const stored = await this.load(id);
    const campaign = {
      ...stored,
      subject: unsaved.subject ?? stored.subject,
      mjml: unsaved.mjml ?? stored.mjml,
    };
    let to: MailRecipient = { ...SAMPLE, email: 'sample@example.com' };
    if (subscriberId) {
      const p = Types.ObjectId.isValid(subscriberId)
        ? await this.models.Subscriber.findById(subscriberId, {
            email: 1,
            name: 1,
            locale: 1,
            attributes: 1,
          }).lean()
        : null;
      if (!p) throw notFound('subscriber');
      to = {
        subscriberId: String(p._id),
        email: p.email,
        name: p.name,
        locale: p.locale,
        attributes: (p.attributes ?? {}) as MailRecipient['attributes'],
      };
      await this.audit.record(ctx, 'campaign.preview', subscriberId, { campaignId: id });
    }
    // Exactly what would be sent, tracked links included; unsaved MJML has no tracked links yet.
    const { info, compiled, list } = await this.mailing(campaign, unsaved.mjml === undefined);
    return this.composer.render(info, compiled, to, list);
  }

  /** Sends the campaign with `[TEST]` in the subject to staff addresses only (never to the list). */
  async sendTest(id: string, emails: string[], ctx: AuditContext): Promise<{ sent: string[] }> {
    const campaign = await this.load(id);
    const staff = [];
    for (const e of emails) {
      try {
        staff.push(await this.auth.findUserByEmail(e));
      } catch {
        throw badRequest(`emails: ${e} is not a staff user's address`);
      }
    }
    for (const user of staff) {
      // Test mails keep their links as written: staff clicks are not the campaign's.
      const { info, compiled, list } = await this.mailing(campaign, false);
      const to = { ...SAMPLE, name: user.name, email: user.email };
      await this.mailer.send(this.composer.compose(info, compiled, to, list, { test: true }));
    }
    await this.audit.record(ctx, 'campaign.test', null, { campaignId: id, count: staff.length });
    return { sent: staff.map((s) => s.email) };
  }

  private async stats(
    campaign: Pick<Campaign, '_id' | 'recipientCount' | 'totals'>,
  ): Promise<{ stats: CampaignStats; progress: number }> {
    const campaignId = campaign._id;
    const [counts, unsubscribed, bounced] = await Promise.all([
      countOutcomes(this.models, campaign),
      this.models.UnsubscribeEvent.countDocuments({ campaignId, channel: { $ne: 'bounce' } }),
      this.models.UnsubscribeEvent.countDocuments({ campaignId, channel: 'bounce' }),
    ]);
    // While the snapshot is still being taken, what it has counted so far is not known yet.
    const recipients = campaign.recipientCount ?? 0;
    const stats = { recipients, ...counts, unsubscribed, bounced };
    const settled = stats.sent + stats.failed + stats.skipped + stats.unknown;
    return {
      stats,
      progress: recipients === 0 ? 0 : Math.round((settled / recipients) * 1000) / 1000,
    };
  }

  /** What composing a mail of this campaign takes, outside the send worker. */
  private async mailing(campaign: Campaign, tracked: boolean) {
    const compiled = this.renderer.compile({
      subject: campaign.subject,
      mjml: campaign.mjml,
      ...(tracked
        ? {
            tracking: this.tracking.of(
              { id: String(campaign._id), links: campaign.links },
              campaign.tracking,
            ),
          }
        : {}),
    });
    const list = campaign.listIds[0]
      ? await this.models.List.findById(campaign.listIds[0], { slug: 1, name: 1 }).lean()
      : null;
    return {
      info: { id: String(campaign._id), subject: campaign.subject, fromEmail: campaign.fromEmail },
      compiled,
      list: list
        ? { id: String(list._id), slug: list.slug, name: list.name }
        : { slug: 'campaigns', name: 'Campaigns' },
    };
  }

  private async transition(
    id: string,
    from: CampaignStatus[],
    set: Partial<Pick<CampaignDoc, 'status' | 'startedAt' | 'finishedAt' | 'recordsKeptUntil'>>,
  ): Promise<CampaignView> {
    const current = await this.load(id);
    const doc = await writeCampaign(this.models, this.clock, current._id, { from, set }, 'api');
    if (!doc) {
      const now = await this.load(id);
      throw new AppError('invalid_state', `cannot go from ${now.status} to ${set.status}`);
    }
    return this.view(doc);
  }

  private async content(input: Partial<CampaignInput>): Promise<string> {
    if (input.mjml !== undefined && input.templateId !== undefined) {
      throw badRequest('give either mjml or templateId, not both');
    }
    if (input.templateId !== undefined) return this.templates.mjmlOf(input.templateId);
    if (input.mjml === undefined) throw badRequest('mjml: give mjml or templateId');
    return input.mjml;
  }

  private async resolveLists(refs: string[]): Promise<Types.ObjectId[]> {
    const out: Types.ObjectId[] = [];
    for (const ref of [...new Set(refs)]) {
      const list = await this.models.List.findOne(
        Types.ObjectId.isValid(ref) && /^[0-9a-f]{24}$/i.test(ref) ? { _id: ref } : { slug: ref },
        { _id: 1 },
      ).lean();
      if (!list) throw badRequest(`lists: no list ${ref}`);
      out.push(list._id);
    }
    return out;
  }

  private async load(id: string): Promise<Campaign> {
    const doc = /^[0-9a-f]{24}$/i.test(id)
      ? await this.models.Campaign.findById(id).lean<Campaign>()
      : null;
    if (!doc) throw notFound('campaign');
    return doc;
  }

  private async view(c: Campaign): Promise<CampaignView> {
    const { stats, progress } = await this.stats(c);
    return {
      id: String(c._id),
      name: c.name,
      subject: c.subject,
      status: c.status,
      lists: c.listIds.map(String),
      segmentId: c.segmentId ?? null,
      fromEmail: c.fromEmail,
      sendAt: c.sendAt ?? null,
      startedAt: c.startedAt ?? null,
      finishedAt: c.finishedAt ?? null,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      stats,
      progress,
      tracking: { clicks: c.tracking?.clicks !== false, opens: c.tracking?.opens === true },
      pausedByGuard: c.pausedByGuard
        ? { code: c.pausedByGuard.code, message: c.pausedByGuard.message, at: c.pausedByGuard.at }
        : null,
    };
  }
}
