import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from './config/config.js';
import { resolveSecrets, type ResolvedConfig } from './config/local-secrets.js';
import { openDatabase } from './db/connection.js';
import { createApp } from './http/app.js';
import { ImapPoller } from './inbound/imap-poller.js';
import { InboundSmtpListener } from './inbound/smtp-listener.js';
import { createThreadedMailer } from './mail/threaded-mailer.js';
import { RetentionScheduler } from './privacy/retention.js';
import { buildServices, type Ports, type Services } from './services.js';
import { systemClock, type Clock } from './shared/clock.js';
import { createLogger, type Logger } from './shared/logger.js';

/** How long shutdown waits for SMTP transactions in flight (main.ts allows 10 s in all). */
const MAIL_DRAIN_MS = 4000;

export interface RunningService {
  url: string;
  /** Port of the inbound SMTP listener, or null when INBOUND_SMTP_PORT is empty. */
  inboundSmtpPort: number | null;
  config: ResolvedConfig;
  services: Services;
  logger: Logger;
  /** Stops taking work, drains, closes the database (and stops the embedded one). */
  stop(): Promise<void>;
  /** For an exit that cannot wait for stop(): ends the embedded database at once. */
  abandon(): void;
}

/** The composition root: the only place (with the CLI and test helpers) that builds adapters. */
export async function startService(
  env: NodeJS.ProcessEnv,
  clock: Clock = systemClock,
  ports: Partial<Ports> = {},
): Promise<RunningService> {
  const config = await resolveSecrets(loadConfig(env));
  const logger = createLogger(config.logLevel);
  const db = await openDatabase({ uri: config.mongodbUri, dataDir: config.dataDir, clock, logger });
  const mailer = createThreadedMailer({
    url: config.smtpUrl,
    dkim: config.dkim,
    maxConnections: config.send.concurrency,
  });
  const adapters = { config, db, clock, logger, mailer };
  const services = buildServices(adapters, ports);
  const app = createApp({ ...adapters, services });
  const listener =
    config.inboundSmtpPort === null
      ? undefined
      : new InboundSmtpListener(
          services.inbound,
          { domain: config.inboundDomain, maxBytes: config.inboundMaxBytes },
          logger,
        );
  let http: Server | undefined;
  let inboundSmtpPort: number | null = null;
  try {
    // Erasures a crash left half done are finished before the data can be read again.
    const resumed = await services.erasure.resumeAll({
      actor: { type: 'system', name: 'startup' },
    });
    if (resumed > 0) logger.info({ resumed }, 'finished interrupted erasures');
    http = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, (err?: Error) =>
        err ? reject(portError('PORT', config.port, err)) : resolve(s),
      );
    });
    if (listener)
      inboundSmtpPort = await listener
        .start(config.inboundSmtpPort!)
        .catch((err: unknown) =>
          Promise.reject(portError('INBOUND_SMTP_PORT', config.inboundSmtpPort!, err)),
        );
  } catch (err) {
    // A start that fails leaves nothing running, the embedded database included.
    await listener?.stop();
    if (http) await new Promise((resolve) => http!.close(resolve));
    mailer.close();
    await db.close();
    throw err;
  }
  const server = http;
  const { port } = server.address() as AddressInfo;
  const retention = new RetentionScheduler(services.retention, logger);
  retention.start();
  services.campaignCounter.start();
  if (config.send.worker) {
    services.sendWorker.start();
    services.automationRunner.start();
    services.webhookDispatcher.start();
  }
  const poller = config.imap
    ? new ImapPoller(services.inbound, config.imap, config.inboundMaxBytes, logger)
    : undefined;
  poller?.start();
  logger.info({ port, baseUrl: config.baseUrl }, 'Kirje listening');

  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    inboundSmtpPort,
    config,
    services,
    logger,
    stop() {
      stopping ??= (async () => {
        logger.info('shutting down: no new work');
        await retention.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const inboundStopped = Promise.all([listener?.stop(), poller?.stop()]);
        // Requests in flight get a moment to finish; then their connections are cut.
        const grace = setTimeout(() => server.closeAllConnections(), 3000);
        // Phase one stops the worker claiming; its in-flight mails finish and are recorded. A relay
        // that does not answer must not hold the shutdown past its limit: after a while the
        // transactions still open are cut (recorded as unknown, never resent by themselves).
        const drained = Promise.all([
          closed,
          services.sendWorker.stop(),
          services.automationRunner.stop(),
          services.webhookDispatcher.stop(),
        ]);
        const cut = setTimeout(() => {
          logger.warn('mail still in flight at shutdown: cutting its SMTP transactions');
          mailer.abort();
        }, MAIL_DRAIN_MS);
        await drained;
        clearTimeout(cut);
        clearTimeout(grace);
        await inboundStopped;
        // Last: clicks answered and outcomes recorded above are all counted before the close.
        await services.campaignCounter.stop();
        mailer.close();
        await db.close();
        logger.info('shutdown complete');
      })();
      return stopping;
    },
    abandon: () => db.abandon(),
  };
}

/** A port we could not listen on, as the variable that chose it. */
function portError(variable: string, port: number, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new ConfigError(variable, `(port ${port}) is already in use`);
  if (code === 'EACCES')
    return new ConfigError(variable, `(port ${port}) needs privileges this process lacks`);
  return err;
}
