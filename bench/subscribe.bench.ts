import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbedded } from '../src/db/embedded.js';
import { createLogger } from '../src/shared/logger.js';
import { bootApp } from '../test/helpers/app.js';
import { SmtpSink } from '../test/helpers/smtp-sink.js';

const POSTS = Number(process.env.BENCH_POSTS ?? 100);

/**
 * Public subscribe path on the embedded FerretDB through the real HTTP app: form posts of new
 * addresses to a double opt-in list (each: limiter, ledger, confirmation mail to an SMTP sink),
 * the confirmations, and the database limiter alone.
 */
export async function run(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kirje-bench-'));
  const db = await startEmbedded(dir, createLogger('warn', 2));
  process.env.KIRJE_TEST_MONGODB_URI = db.uri;
  const sink = await new SmtpSink().start();
  const t = await bootApp({ smtpUrl: sink.url, env: { SUBSCRIBE_IP_LIMIT_PER_HOUR: '100000' } });
  try {
    const list = await t.db.models.List.create({ name: 'Bench', slug: 'bench', public: true });
    let start = performance.now();
    for (let i = 0; i < POSTS; i++) {
      await t.http
        .post('/subscribe')
        .type('form')
        .send({ email: `bench${i}@example.com`, list: list.slug, consent: 'yes' })
        .expect(200);
    }
    const postsPerSec = (POSTS / (performance.now() - start)) * 1000;
    await t.services.subscribe.drain();
    const mailsPerSec = (POSTS / (performance.now() - start)) * 1000;
    await sink.waitFor(POSTS, 60_000);

    start = performance.now();
    for (const m of sink.messages) {
      const link = /\/subscribe\/confirm\/[A-Za-z0-9._-]+\?lang=[a-z]+/.exec(
        m.parsed.text ?? '',
      )![0];
      await t.http.post(link).type('form').send('').expect(200);
    }
    const confirmsPerSec = (sink.messages.length / (performance.now() - start)) * 1000;

    const hits = 300;
    start = performance.now();
    for (let i = 0; i < hits; i++)
      await t.services.limiter.hit('bench', `ip${i % 50}`, 1000, 3_600_000);
    const hitsPerSec = (hits / (performance.now() - start)) * 1000;

    return {
      'POST /subscribe form, new address, double opt-in (posts/s, sequential)': postsPerSec,
      'same, until every confirmation mail reached the SMTP sink (posts/s)': mailsPerSec,
      'POST /subscribe/confirm/:token (confirms/s, sequential)': confirmsPerSec,
      'RateLimiter.hit on the database (hits/s, sequential)': hitsPerSec,
    };
  } finally {
    await t.close();
    await sink.stop();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
