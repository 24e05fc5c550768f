import { existsSync } from 'node:fs';
import { ConfigError } from './config/config.js';
import { startService, type RunningService } from './server.js';

if (existsSync('.env')) process.loadEnvFile('.env');

const SHUTDOWN_LIMIT_MS = 10_000;

let service: RunningService | undefined;
let pendingSignal: string | undefined;

function shutdown(signal: string): void {
  // A signal during start-up is honoured as soon as there is something to stop.
  if (!service) {
    pendingSignal = signal;
    return;
  }
  const running = service;
  running.logger.info({ signal }, 'signal received');
  setTimeout(() => {
    running.logger.error('shutdown took too long; exiting');
    running.abandon();
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS).unref();
  running.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      running.logger.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
}

process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

try {
  service = await startService(process.env);
  if (pendingSignal) shutdown(pendingSignal);
} catch (err) {
  // One clear line for configuration and start-up problems, a stack only for the unexpected.
  console.error(
    err instanceof ConfigError || (err as Error).name === 'EmbeddedDatabaseError'
      ? (err as Error).message
      : err,
  );
  process.exit(1);
}
