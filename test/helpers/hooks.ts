import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbedded, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createLogger } from '../../src/shared/logger.js';

/**
 * One database server for the whole run: MONGODB_URI when set (real MongoDB in CI elsewhere),
 * otherwise one embedded FerretDB in a temporary folder. Each test file takes its own database
 * on it (test/helpers/db.ts).
 */
let embedded: EmbeddedDatabase | undefined;
let dir: string | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  if (process.env.MONGODB_URI) {
    process.env.KIRJE_TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  dir = mkdtempSync(path.join(tmpdir(), 'kirje-test-'));
  embedded = await startEmbedded(dir, createLogger('warn', 2));
  process.env.KIRJE_TEST_MONGODB_URI = embedded.uri;
  process.env.KIRJE_TEST_FERRETDB_PID = String(embedded.pid);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await embedded?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
