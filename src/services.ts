import { AuthService } from './auth/service.js';
import { MjmlCampaignRenderer } from './campaigns/render/mjml-renderer.js';
import { SystemMailRenderer } from './campaigns/render/system-mail.js';
import { TemplateService } from './campaigns/templates/service.js';
import type { ResolvedConfig } from './config/local-secrets.js';
import type { Database } from './db/connection.js';
import type { Mailer } from './mail/mailer.js';
import { AuditLog } from './privacy/audit.js';
import { SegmentService } from './segments/service.js';
import type { Clock } from './shared/clock.js';
import { DataProtector } from './shared/crypto.js';
import type { Logger } from './shared/logger.js';
import { ConsentLedger } from './subscribe/consent-ledger.js';
import { RateLimiter } from './subscribe/rate-limiter.js';
import { SubscribeService } from './subscribe/service.js';
import { campaignListsFrom } from './unsubscribe/campaign-lists.js';
import { UnsubscribeConfirmation } from './unsubscribe/confirmation.js';
import { UnsubscribePortal } from './unsubscribe/portal.js';
import { PreferenceService } from './unsubscribe/preferences.js';
import { UnsubscribeService } from './unsubscribe/service.js';
import { SuppressionService } from './unsubscribe/suppressions.js';
import { TokenService } from './unsubscribe/tokens.js';
import { ExportService } from './subscribers/csv-export.js';
import { ImportService } from './subscribers/csv-import.js';

/** What the outside world gives us; built only by main.ts, the CLI and test helpers. */
export interface Adapters {
  config: ResolvedConfig;
  db: Database;
  clock: Clock;
  logger: Logger;
  mailer: Mailer;
}

/** Wires every service once, each given exactly what it needs through its constructor. */
export function buildServices(a: Adapters) {
  const { models } = a.db;
  const protector = new DataProtector(a.config.dataKey);
  const audit = new AuditLog(models, a.clock);
  const auth = new AuthService(models, a.clock);
  const tokens = new TokenService(a.config.tokenKeys, a.clock);
  const suppressions = new SuppressionService(models, protector);
  const consent = new ConsentLedger(models);
  const unsubscribe = new UnsubscribeService(models, suppressions, consent, a.clock);
  const campaignRenderer = new MjmlCampaignRenderer();
  const systemMails = new SystemMailRenderer(a.config.org);
  const templates = new TemplateService(models, campaignRenderer);
  const segments = new SegmentService(models, a.clock);
  const imports = new ImportService(models, suppressions, protector, audit, a.clock);
  const exports = new ExportService(segments, audit);
  const limiter = new RateLimiter(models, a.clock);
  const subscribe = new SubscribeService({
    models,
    suppressions,
    consent,
    tokens,
    limiter,
    protector,
    mailer: a.mailer,
    systemMails,
    audit,
    clock: a.clock,
    logger: a.logger,
    config: a.config,
  });
  const preferences = new PreferenceService(
    models,
    suppressions,
    consent,
    unsubscribe,
    audit,
    a.clock,
  );
  const unsubscribeConfirmation = new UnsubscribeConfirmation(
    a.mailer,
    systemMails,
    { enabled: a.config.unsubscribeConfirmationMail, from: a.config.mailFrom },
    a.logger,
  );
  const unsubscribePortal = new UnsubscribePortal(
    models,
    tokens,
    unsubscribe,
    preferences,
    campaignListsFrom(a.db.connection),
    unsubscribeConfirmation,
    (token) => `${a.config.baseUrl}/u/${token}`,
  );
  return {
    protector,
    audit,
    auth,
    tokens,
    suppressions,
    consent,
    unsubscribe,
    campaignRenderer,
    systemMails,
    templates,
    segments,
    imports,
    exports,
    limiter,
    subscribe,
    preferences,
    unsubscribePortal,
  };
}

export type Services = ReturnType<typeof buildServices>;
