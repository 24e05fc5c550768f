import { Types } from 'mongoose';
import { readPage, type PageRequest } from '../db/keyset.js';
import type { Models } from '../db/models/index.js';
import type { UnsubscribeChannel } from '../db/models/unsubscribe-event.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import { notFound } from '../shared/errors.js';

export interface OptOutView {
  id: string;
  at: Date;
  /** How the person left: link, one-click, reply, … ; `bounce` and `complaint` are mail reports. */
  channel: UnsubscribeChannel;
  allLists: boolean;
  listIds: string[];
  campaignId: string | null;
  inboundMessageId: string | null;
}

const DEFAULT_PAGE = 50;

/**
 * One person's opt-outs as recorded by the unsubscribe service, bounces and complaints included
 * (they end there too), newest first. Reading them is reading personal data, so it is audited.
 */
export class OptOutHistory {
  constructor(
    private readonly models: Pick<Models, 'UnsubscribeEvent'>,
    private readonly contacts: { exists(id: string): Promise<boolean> },
    private readonly audit: AuditLog,
  ) {}

  async forSubscriber(
    ctx: AuditContext,
    subscriberId: string,
    request: PageRequest,
  ): Promise<{ items: OptOutView[]; nextCursor: string | null }> {
    if (!(await this.contacts.exists(subscriberId))) throw notFound('subscriber');
    const { docs, nextCursor } = await readPage(
      this.models.UnsubscribeEvent,
      { subscriberId: new Types.ObjectId(subscriberId) },
      { ...request, defaultLimit: DEFAULT_PAGE, newestFirst: true },
    );
    await this.audit.record(ctx, 'subscriber.opt_outs.read', subscriberId, {
      count: docs.length,
    });
    return {
      items: docs.map((e) => ({
        id: String(e._id),
        at: e.at,
        channel: e.channel,
        allLists: e.allLists,
        listIds: e.listIds.map(String),
        campaignId: e.campaignId ? String(e.campaignId) : null,
        inboundMessageId: e.inboundMessageId ? String(e.inboundMessageId) : null,
      })),
      nextCursor,
    };
  }
}
