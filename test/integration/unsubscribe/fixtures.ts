import { Types } from 'mongoose';
import type { TestApp } from '../../helpers/app.js';
import { email } from '../../helpers/factories.js';

/** A list straight through the model: the lists capability is built elsewhere. */
export async function makeList(t: TestApp, name: string, opts: { public?: boolean } = {}) {
  const slug = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${new Types.ObjectId().toString().slice(-6)}`;
  const list = await t.db.models.List.create({ name, slug, public: opts.public ?? false });
  return String(list._id);
}

/** A subscribed person on these lists. */
export async function makePerson(
  t: TestApp,
  listIds: string[],
  opts: { locale?: 'fi' | 'en' | 'sv'; name?: string } = {},
) {
  const address = email('reader');
  const s = await t.db.models.Subscriber.create({
    email: address,
    name: opts.name ?? 'Reader',
    locale: opts.locale ?? 'fi',
    source: 'test',
    status: 'subscribed',
  });
  if (listIds.length > 0) {
    await t.db.models.Membership.insertMany(
      listIds.map((listId) => ({
        subscriberId: s._id,
        listId,
        status: 'subscribed',
        subscribedAt: t.clock.now(),
      })),
    );
  }
  return { id: String(s._id), email: address };
}

/** Many subscribed people on these lists, written in two bulk inserts. */
export async function makePeople(t: TestApp, n: number, listIds: string[]) {
  const people = Array.from({ length: n }, () => ({
    _id: new Types.ObjectId(),
    email: email('bulk'),
  }));
  await t.db.models.Subscriber.insertMany(
    people.map((p) => ({ ...p, name: '', locale: 'fi', source: 'test', status: 'subscribed' })),
  );
  await t.db.models.Membership.insertMany(
    people.flatMap((p) =>
      listIds.map((listId) => ({ subscriberId: p._id, listId, status: 'subscribed' })),
    ),
  );
  return people.map((p) => ({ id: String(p._id), email: p.email }));
}

/** A campaign document as the campaigns capability will store it: only `listIds` matters here. */
export async function makeCampaign(t: TestApp, listIds: string[]) {
  const _id = new Types.ObjectId();
  await t.db.connection.db!.collection('campaigns').insertOne({
    _id,
    name: 'Spring sale',
    listIds: listIds.map((id) => new Types.ObjectId(id)),
  });
  return String(_id);
}

/** Everything the unsubscribe flow could touch, for "nothing changed" comparisons. */
export async function snapshot(t: TestApp) {
  const db = t.db.connection.db!;
  const out: Record<string, unknown> = {};
  for (const name of [
    'subscribers',
    'memberships',
    'suppressions',
    'unsubscribe_events',
    'consent_events',
    'audit_log',
    'campaigns',
  ]) {
    out[name] = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
  }
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown[]>;
}
