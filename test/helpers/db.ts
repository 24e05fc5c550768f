import { randomBytes } from 'node:crypto';
import { connect, type Database } from '../../src/db/connection.js';
import type { Clock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { FakeClock } from './clock.js';

export function testServerUri(): string {
  const uri = process.env.KIRJE_TEST_MONGODB_URI;
  if (!uri) throw new Error('test database not started: run the tests through mocha (npm test)');
  return uri;
}

/** A fresh, uniquely named database on the shared test server; drop it with `close()`. */
export async function testDatabase(clock: Clock = new FakeClock()): Promise<Database> {
  const name = `kirje_test_${randomBytes(5).toString('hex')}`;
  const db = await connect(testServerUri(), name, { clock, logger: createLogger('silent') });
  const close = db.close.bind(db);
  return {
    ...db,
    async close() {
      await db.connection.dropDatabase();
      await close();
    },
  };
}
