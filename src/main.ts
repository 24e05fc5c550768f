import { existsSync } from 'node:fs';
import { ConfigError } from './config/config.js';
import { startService } from './server.js';

if (existsSync('.env')) process.loadEnvFile('.env');

const SHUTDOWN_LIMIT_MS = 10_000;

try {
  const service = await startService(process.env);
  const shutdown = (signal: string) => {
    service.logger.info({ signal }, 'signal received');
    setTimeout(() => {
      service.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        service.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (err) {
  // One clear line for configuration and start-up problems, a stack only for the unexpected.
  console.error(
    err instanceof ConfigError || (err as Error).name === 'EmbeddedDatabaseError'
      ? (err as Error).message
      : err,
  );
  process.exit(1);
}
