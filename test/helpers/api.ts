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
