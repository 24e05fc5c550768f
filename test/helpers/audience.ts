import { Types } from 'mongoose';
import type { AudienceSource } from '../../src/campaigns/audience.js';
import type { Models } from '../../src/db/models/index.js';
import { membershipId } from '../../src/db/models/membership.js';
import { email } from './factories.js';

export interface SeededList {
  listId: string;
  slug: string;
  subscribers: Array<{ id: string; email: string; name: string }>;
}

/** A list with `n` subscribed people (plus any given by status), written through the models. */
export async function seedList(
  models: Models,
  n: number,
  opts: { slug?: string; extra?: Array<{ status: 'unconfirmed' | 'unsubscribed' }> } = {},
): Promise<SeededList> {
  const slug = opts.slug ?? `list-${new Types.ObjectId().toHexString().slice(-8)}`;
  const list = await models.List.create({ name: `List ${slug}`, slug, doubleOptIn: false });
  const people = Array.from({ length: n }, (_, i) => ({
    _id: new Types.ObjectId(),
    email: email('r'),
    name: `Person ${i}`,
    locale: i % 2 ? 'en' : 'fi',
    attributes: { city: `City${i}` },
    source: 'api',
    status: 'subscribed',
  }));
  const extra = (opts.extra ?? []).map((e, i) => ({
    _id: new Types.ObjectId(),
    email: email('x'),
    name: `Extra ${i}`,
    source: 'api',
    status: e.status === 'unconfirmed' ? 'unconfirmed' : 'subscribed',
    membership: e.status,
  }));
  await models.Subscriber.insertMany([...people, ...extra.map(({ membership: _m, ...p }) => p)], {
    lean: true,
  });
  // `lean` skips the model's hooks, so the pair key is written here as the model would.
  await models.Membership.insertMany(
    [
      ...people.map((p) => ({ _id: p._id, status: 'subscribed' })),
      ...extra.map((p) => ({ _id: p._id, status: p.membership })),
    ].map(({ _id, status }) => ({
      _id: membershipId(_id, list._id),
      subscriberId: _id,
      listId: list._id,
      status,
    })),
    { lean: true },
  );
  return {
    listId: String(list._id),
    slug,
    subscribers: people.map((p) => ({ id: String(p._id), email: p.email, name: p.name })),
  };
}

/** Runs worker ticks until no running campaign has work left. */
export async function drain(worker: { tick(): Promise<boolean> }, maxTicks = 1000): Promise<void> {
  for (let i = 0; i < maxTicks; i++) {
    if (!(await worker.tick())) return;
  }
  throw new Error('worker still busy after maxTicks');
}

/**
 * Segment port serving a fixed set of ids, standing in for the segment capability's iterator. A
 * gate holds the iteration after some members until the test opens it.
 */
export class FixedSegments implements AudienceSource {
  readonly gates = new Map<string, { after: number; opened: Promise<void> }>();
  constructor(readonly members = new Map<string, string[]>()) {}
  async assertSegment(id: string) {
    if (!this.members.has(id)) throw new Error(`no segment ${id}`);
  }
  async *segmentMembers(id: string) {
    const gate = this.gates.get(id);
    for (const [n, member] of (this.members.get(id) ?? []).entries()) {
      if (gate && n === gate.after) await gate.opened;
      yield member;
    }
  }
}
