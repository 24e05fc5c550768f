import { Types } from 'mongoose';
import { GroupRead } from '../db/group-read.js';
import type { Models } from '../db/models/index.js';
import type { SubscriberAddresses } from '../subscribers/by-address.js';

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

export function subscriberLookupFrom(
  models: Pick<Models, 'Subscriber'>,
  addresses: Pick<SubscriberAddresses, 'lookup'>,
): SubscriberLookup {
  const ref = (
    d: { _id: unknown; email: string; locale?: string | null; status: string } | null,
  ) =>
    d ? { id: String(d._id), email: d.email, locale: d.locale ?? 'fi', status: d.status } : null;
  // Per inbound message: the messages being handled at once share one read.
  const people = new GroupRead<Parameters<typeof ref>[0]>(models.Subscriber, {
    email: 1,
    locale: 1,
    status: 1,
  });
  return {
    async byId(id) {
      if (!Types.ObjectId.isValid(id)) return null;
      return ref(await people.byId(new Types.ObjectId(id)));
    },
    async byEmail(email) {
      return ref(await addresses.lookup(email, ['locale', 'status']));
    },
  };
}
