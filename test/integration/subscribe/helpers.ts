import type { SunkMessage } from '../../helpers/smtp-sink.js';
import type { TestApp } from '../../helpers/app.js';

let seq = 0;

/** A list straight in the database: the lists API is another capability's. */
export async function makeList(
  t: TestApp,
  opts: { public?: boolean; doubleOptIn?: boolean; thankYouUrl?: string; name?: string } = {},
) {
  seq += 1;
  const list = await t.db.models.List.create({
    name: opts.name ?? `Uutiset ${seq}`,
    slug: `news-${seq}`,
    public: opts.public ?? true,
    doubleOptIn: opts.doubleOptIn ?? true,
    thankYouUrl: opts.thankYouUrl,
  });
  return { id: String(list._id), slug: list.slug, name: list.name };
}

/** The confirmation link of a mail, as a path for supertest (or whole for a browser). */
export function confirmLink(message: SunkMessage): { url: string; path: string } {
  const text = message.parsed.text ?? '';
  const match = /https?:\/\/\S+\/subscribe\/confirm\/[A-Za-z0-9._-]+(\?lang=[a-z]+)?/.exec(text);
  if (!match) throw new Error('no confirmation link in the mail');
  const url = new URL(match[0]);
  return { url: match[0], path: url.pathname + url.search };
}

/** What a subscription leaves behind, to prove "nothing stored". */
export async function stored(t: TestApp) {
  const m = t.db.models;
  return {
    subscribers: await m.Subscriber.countDocuments(),
    memberships: await m.Membership.countDocuments(),
    consents: await m.ConsentEvent.countDocuments(),
  };
}
