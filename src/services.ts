import { noSegments, type AudienceSource } from './campaigns/audience.js';
import type { CampaignRenderer } from './campaigns/render/types.js';
import { MailComposer } from './campaigns/send/compose.js';
import { RecipientSnapshot } from './campaigns/send/snapshot.js';
import { SendWorker } from './campaigns/send/worker.js';
import { CampaignService, noTemplates, type TemplateSource } from './campaigns/service.js';
import { AuthService } from './auth/service.js';
import type { ResolvedConfig } from './config/local-secrets.js';
import type { Database } from './db/connection.js';
import type { Mailer } from './mail/mailer.js';
import { AuditLog } from './privacy/audit.js';
import type { Clock } from './shared/clock.js';
import { DataProtector } from './shared/crypto.js';
import { AppError } from './shared/errors.js';
import type { Logger } from './shared/logger.js';
import { ConsentLedger } from './subscribe/consent-ledger.js';
import { UnsubscribeService } from './unsubscribe/service.js';
import { SuppressionService } from './unsubscribe/suppressions.js';
import { TokenService } from './unsubscribe/tokens.js';

/** What the outside world gives us; built only by main.ts, the CLI and test helpers. */
export interface Adapters {
  config: ResolvedConfig;
  db: Database;
  clock: Clock;
  logger: Logger;
  mailer: Mailer;
}

/**
 * Capabilities the campaign engine reaches through ports. Defaults are the real implementations
 * once they exist; until then a clear refusal, never a stand-in that pretends to work.
 */
export interface Ports {
  renderer: CampaignRenderer;
  audience: AudienceSource;
  templates: TemplateSource;
}

const noRenderer: CampaignRenderer = {
  compile() {
    throw new AppError('unavailable', 'campaign rendering is not available in this build');
  },
};

/** Wires every service once, each given exactly what it needs through its constructor. */
export function buildServices(a: Adapters, overrides: Partial<Ports> = {}) {
  const ports: Ports = {
    renderer: noRenderer,
    audience: noSegments,
    templates: noTemplates,
    ...overrides,
  };
  const { models } = a.db;
  const protector = new DataProtector(a.config.dataKey);
  const audit = new AuditLog(models, a.clock);
  const auth = new AuthService(models, a.clock);
  const tokens = new TokenService(a.config.tokenKeys, a.clock);
  const suppressions = new SuppressionService(models, protector);
  const consent = new ConsentLedger(models);
  const unsubscribe = new UnsubscribeService(models, suppressions, consent, a.clock);
  const composer = new MailComposer(tokens, {
    baseUrl: a.config.baseUrl,
    inboundDomain: a.config.inboundDomain,
    messageIdDomain: a.config.dkim?.domainName ?? a.config.inboundDomain,
    org: a.config.org,
  });
  const campaigns = new CampaignService(
    models,
    ports.renderer,
    ports.audience,
    ports.templates,
    composer,
    a.mailer,
    auth,
    audit,
    a.clock,
    { fromEmail: a.config.mailFrom },
  );
  const snapshot = new RecipientSnapshot(models, suppressions, ports.audience, a.clock);
  // Built here, started only by the composition root (src/server.ts) when SEND_WORKER is on.
  const sendWorker = new SendWorker({
    models,
    mailer: a.mailer,
    composer,
    renderer: ports.renderer,
    snapshot,
    suppressions,
    clock: a.clock,
    logger: a.logger,
    config: a.config.send,
  });
  return {
    protector,
    audit,
    auth,
    tokens,
    suppressions,
    consent,
    unsubscribe,
    composer,
    campaigns,
    sendWorker,
  };
}

export type Services = ReturnType<typeof buildServices>;
