import type { TestApp } from './app.js';
import { email } from './factories.js';

/** A list through the API; returns its view. */
export async function createList(
  t: TestApp,
  fields: Record<string, unknown> = {},
): Promise<{ id: string; slug: string }> {
  const slug = `list-${Math.random().toString(36).slice(2, 10)}`;
  const res = await t.http
    .post('/api/v1/lists')
    .auth(t.adminToken, { type: 'bearer' })
    .send({ name: `List ${slug}`, slug, doubleOptIn: false, ...fields })
    .expect(201);
  return res.body as { id: string; slug: string };
}

export async function createSubscriber(
  t: TestApp,
  fields: Record<string, unknown> = {},
): Promise<{ id: string; email: string; status: string }> {
  const res = await t.http
    .post('/api/v1/subscribers')
    .auth(t.adminToken, { type: 'bearer' })
    .send({ email: email(), status: 'subscribed', ...fields })
    .expect(201);
  return res.body as { id: string; email: string; status: string };
}

/**
 * Every item of a cursor-paged GET, `limit` at a time, in the order served, and how many pages
 * that took. Fails on an item served twice or a page larger than asked.
 */
export async function readAllPages(
  t: TestApp,
  path: string,
  token: string,
  query: Record<string, string> = {},
  limit = 2,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    const res = await t.http
      .get(path)
      .query({ ...query, limit: String(limit), ...(cursor ? { cursor } : {}) })
      .auth(token, { type: 'bearer' })
      .expect(200);
    const body = res.body as { items: Array<{ id: string }>; nextCursor: string | null };
    if (body.items.length > limit) throw new Error(`${path}: ${body.items.length} > ${limit}`);
    for (const item of body.items) {
      if (ids.includes(item.id)) throw new Error(`${path}: ${item.id} served twice`);
      ids.push(item.id);
    }
    pages += 1;
    cursor = body.nextCursor;
  } while (cursor);
  return { ids, pages };
}

/** A keyset-paged GET refuses a cursor it did not give out and a limit out of range. */
export async function expectPagingRefusals(t: TestApp, path: string, token: string) {
  for (const query of [
    { cursor: 'nonsense!' },
    { cursor: 'djE6eHl6' },
    { limit: '0' },
    { limit: '201' },
    { limit: 'ten' },
  ]) {
    const res = await t.http.get(path).query(query).auth(token, { type: 'bearer' });
    if (res.status !== 400)
      throw new Error(
        `${path} ${JSON.stringify(query)}: ${res.status} ${JSON.stringify(res.body)}`,
      );
  }
}
