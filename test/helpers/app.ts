import type { Express } from 'express';
import supertest from 'supertest';
import { loadConfig } from '../../src/config/config.js';
import type { ResolvedConfig } from '../../src/config/local-secrets.js';
import type { Database } from '../../src/db/connection.js';
import { createApp } from '../../src/http/app.js';
import type { DNSResolver } from '../../src/inbound/authenticator.js';
import type { Mailer } from '../../src/mail/mailer.js';
import { createThreadedMailer } from '../../src/mail/threaded-mailer.js';
import { buildServices, type Ports, type Services } from '../../src/services.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import { FakeClock } from './clock.js';
import { testDatabase } from './db.js';
import { staffToken } from './factories.js';

export const TEST_TOKEN_KEYS =
  'test1:0123456789abcdef0123456789abcdef-one,test0:0123456789abcdef0123456789abcdef-old';
export const TEST_DATA_KEY = Buffer.alloc(32, 7).toString('base64');

export interface TestApp {
  app: Express;
  http: ReturnType<typeof supertest>;
  db: Database;
  services: Services;
  config: ResolvedConfig;
  clock: FakeClock;
  mailer: Mailer;
  /** A bearer token of an admin user. */
  adminToken: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: NodeJS.ProcessEnv;
  smtpUrl?: string;
  clock?: FakeClock;
  /** Ports another branch has not delivered yet (renderer, segments, templates). */
  ports?: Partial<Ports>;
  /** DNS for inbound mail authentication; by default every name is unknown (no real DNS in tests). */
  dnsResolver?: DNSResolver;
  /** For tests that read what the service logs; by default TEST_LOG_LEVEL or silent. */
  logger?: Logger;
}

/** A resolver that knows no names, as mailauth expects them to fail. */
export const noDns: DNSResolver = async (domain) => {
  throw Object.assign(new Error(`queryTxt ENOTFOUND ${domain}`), { code: 'ENOTFOUND' });
};

/** The real app on a fresh database, driven through supertest (which listens on port 0). */
export async function bootApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const clock = opts.clock ?? new FakeClock();
  const loaded = loadConfig({
    NODE_ENV: 'test',
    BASE_URL: 'https://news.example.com',
    TOKEN_KEYS: TEST_TOKEN_KEYS,
    DATA_KEY: TEST_DATA_KEY,
    SMTP_URL: opts.smtpUrl,
    MAIL_FROM: 'Kauppa <news@example.com>',
    ORG_NAME: 'Testikauppa Oy',
    ORG_ADDRESS: 'Testikatu 1, 00100 Helsinki',
    ...opts.env,
  });
  const config = { ...loaded, tokenKeys: loaded.tokenKeys!, dataKey: loaded.dataKey! };
  const db = await testDatabase(clock);
  const logger = opts.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  // The service's own mailer (src/server.ts): SMTP in the mail thread.
  const mailer = createThreadedMailer({
    url: config.smtpUrl,
    dkim: config.dkim,
    maxConnections: 2,
  });
  const adapters = { config, db, clock, logger, mailer, dnsResolver: opts.dnsResolver ?? noDns };
  const services = buildServices(adapters, opts.ports);
  // As src/server.ts does: campaign counts are written every second.
  services.campaignCounter.start();
  const app = createApp({ ...adapters, services });
  const { token } = await staffToken(services, 'admin');
  return {
    app,
    http: supertest(app),
    db,
    services,
    config,
    clock,
    mailer,
    adminToken: token,
    async close() {
      await services.campaignCounter.stop();
      mailer.close();
      await db.close();
    },
  };
}
