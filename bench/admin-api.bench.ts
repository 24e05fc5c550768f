import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbedded } from '../src/db/embedded.js';
import { createLogger } from '../src/shared/logger.js';
import { bootApp } from '../test/helpers/app.js';

const BUYERS = 200;
const BATCH = 100;

/**
 * Admin API throughput on the embedded FerretDB, through the real HTTP app: order batches that
 * create new contacts, the same batches again (idempotent updates), single subscriber creates,
 * and a full keyset-paged walk of the register.
 */
export async function run(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kirje-bench-'));
  const db = await startEmbedded(dir, createLogger('warn', 2));
  process.env.KIRJE_TEST_MONGODB_URI = db.uri;
  const t = await bootApp();
  const auth = { type: 'bearer' as const };
  try {
    const batches = Array.from({ length: BUYERS / BATCH }, (_, b) =>
      Array.from({ length: BATCH }, (_, i) => ({
        externalId: `bench-${b}-${i}`,
        email: `buyer${b * BATCH + i}@example.com`,
        orderedAt: '2026-01-10T12:00:00Z',
        total: '49.90',
        currency: 'EUR',
        categories: ['cables'],
      })),
    );
    const ingest = async () => {
      const start = performance.now();
      for (const orders of batches)
        await t.http.post('/api/v1/orders').auth(t.adminToken, auth).send({ orders }).expect(200);
      return (BUYERS / (performance.now() - start)) * 1000;
    };
    const newBuyersPerSec = await ingest();
    const resendPerSec = await ingest();

    const creates = 50;
    let start = performance.now();
    for (let i = 0; i < creates; i++)
      await t.http
        .post('/api/v1/subscribers')
        .auth(t.adminToken, auth)
        .send({ email: `direct${i}@example.com`, status: 'subscribed' })
        .expect(201);
    const createsPerSec = (creates / (performance.now() - start)) * 1000;

    start = performance.now();
    let pages = 0;
    let cursor: string | undefined;
    do {
      const res = await t.http
        .get('/api/v1/subscribers')
        .query({ limit: '200', ...(cursor ? { cursor } : {}) })
        .auth(t.adminToken, auth)
        .expect(200);
      cursor = res.body.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    const msPerPage = (performance.now() - start) / pages;

    return {
      [`order facts, new buyers (orders/s, ${BUYERS} in batches of ${BATCH})`]: newBuyersPerSec,
      'order facts, idempotent resend (orders/s)': resendPerSec,
      'POST /subscribers (creates/s, sequential)': createsPerSec,
      [`GET /subscribers page of 200 over ${BUYERS + creates} (ms/page, full walk)`]: msPerPage,
    };
  } finally {
    await t.close();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
