import { Types, type Connection } from 'mongoose';
import type { Models } from '../db/models/index.js';

/**
 * Which lists a campaign went to. Campaigns are another capability (issue 4); this reads the
 * `campaigns` collection's `listIds` and answers null when it or the campaign does not exist.
 */
export interface CampaignLists {
  listIdsOf(campaignId: string): Promise<string[] | null>;
}

export function campaignListsFrom(conn: Connection): CampaignLists {
  return {
    async listIdsOf(campaignId) {
      if (!Types.ObjectId.isValid(campaignId)) return null;
      const doc = await conn
        .collection('campaigns')
        .findOne({ _id: new Types.ObjectId(campaignId) }, { projection: { listIds: 1 } });
      const ids = (doc?.listIds ?? null) as unknown[] | null;
      return Array.isArray(ids) && ids.length > 0 ? ids.map(String) : null;
    },
  };
}

/** Where an erasure request asked for by mail goes: the data-protection request register. */
export interface PrivacyRequestSink {
  open(req: {
    type: 'erasure';
    email: string;
    channel: 'email';
    inboundMessageId: string;
  }): Promise<{ id: string }>;
}

export interface SubscriberRef {
  id: string;
  email: string;
  locale: string;
  status: string;
}

/** The few subscriber facts inbound mail needs; read-only. */
export interface SubscriberLookup {
  byId(id: string): Promise<SubscriberRef | null>;
  byEmail(email: string): Promise<SubscriberRef | null>;
}

export function subscriberLookupFrom(models: Pick<Models, 'Subscriber'>): SubscriberLookup {
  const project = { email: 1, locale: 1, status: 1 };
  const ref = (
    d: { _id: unknown; email: string; locale?: string | null; status: string } | null,
  ) =>
    d ? { id: String(d._id), email: d.email, locale: d.locale ?? 'fi', status: d.status } : null;
  return {
    async byId(id) {
      if (!Types.ObjectId.isValid(id)) return null;
      return ref(await models.Subscriber.findById(id, project).lean());
    },
    async byEmail(email) {
      return ref(await models.Subscriber.findOne({ email }, project).lean());
    },
  };
}
