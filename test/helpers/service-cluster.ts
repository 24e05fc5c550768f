import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuthService } from '../../src/auth/service.js';
import { connect, type Database } from '../../src/db/connection.js';
import { systemClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { TEST_DATA_KEY, TEST_TOKEN_KEYS } from './app.js';
import { testServerUri } from './db.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

export interface ServiceCluster {
  /** The cluster's database, opened in the test process too. */
  db: Database;
  /** Starts one more service process on the database, sending to the cluster's relay. */
  start(env?: NodeJS.ProcessEnv): Promise<ServiceProcess>;
  /** A call to a process's API as the cluster's marketing user. */
  api(p: ServiceProcess, method: string, route: string, body?: unknown): Promise<Response>;
  /** Kills the processes still running, drops the database and removes the data directory. */
  dispose(): Promise<void>;
}

/**
 * The real service (src/main.ts) as child processes on a database of their own, for tests that
 * kill and restart them: a marketing user with an API token, and a data directory they share.
 */
export async function serviceCluster(label: string, smtpUrl: string): Promise<ServiceCluster> {
  const dbName = `kirje_${label}_${randomBytes(4).toString('hex')}`;
  const uri = new URL(testServerUri());
  uri.pathname = `/${dbName}`;
  const db = await connect(testServerUri(), dbName, {
    clock: systemClock,
    logger: createLogger('silent'),
  });
  const auth = new AuthService(db.models, systemClock);
  const user = await auth.createUser({ email: `${label}@example.com`, role: 'marketing' });
  const { token } = await auth.createToken(user.id, `${label} test`);
  const dataDir = mkdtempSync(path.join(tmpdir(), `kirje-${label}-`));
  const children: ServiceProcess[] = [];
  return {
    db,
    async start(env = {}) {
      const p = await startServiceProcess({
        NODE_ENV: 'test',
        DATA_DIR: dataDir,
        MONGODB_URI: uri.toString(),
        SMTP_URL: smtpUrl,
        BASE_URL: 'https://news.example.com',
        MAIL_FROM: 'Kauppa <news@example.com>',
        TOKEN_KEYS: TEST_TOKEN_KEYS,
        DATA_KEY: TEST_DATA_KEY,
        ...env,
      });
      children.push(p);
      return p;
    },
    api: (p, method, route, body) =>
      fetch(`${p.url}/api/v1${route}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    async dispose() {
      for (const c of children) c.child.kill('SIGKILL');
      await db.connection.dropDatabase();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
