import { AuthService } from './auth/service.js';
import { MjmlCampaignRenderer } from './campaigns/render/mjml-renderer.js';
import { SystemMailRenderer } from './campaigns/render/system-mail.js';
import { TemplateService } from './campaigns/templates/service.js';
import type { ResolvedConfig } from './config/local-secrets.js';
import type { Database } from './db/connection.js';
import type { Mailer } from './mail/mailer.js';
import { AuditLog, AuditReader } from './privacy/audit.js';
import { ErasureService } from './privacy/erasure.js';
import { PrivacyRequestService } from './privacy/requests.js';
import { RetentionService } from './privacy/retention.js';
import { SubjectDataService } from './privacy/subject-data.js';
import { SegmentService } from './segments/service.js';
import type { Clock } from './shared/clock.js';
import { DataProtector } from './shared/crypto.js';
import type { Logger } from './shared/logger.js';
import { ConsentLedger } from './subscribe/consent-ledger.js';
import { RateLimiter } from './subscribe/rate-limiter.js';
import { SubscribeService } from './subscribe/service.js';
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
  const auditReader = new AuditReader(models);
  const privacyRequests = new PrivacyRequestService(models, protector, audit, a.clock);
  const subjectData = new SubjectDataService(models, a.db.connection, protector, audit, a.clock);
  const erasure = new ErasureService(
    models,
    a.db.connection,
    subjectData,
    suppressions,
    protector,
    audit,
    a.clock,
  );
  const retention = new RetentionService(
    models,
    a.db.connection,
    erasure,
    a.config.retention,
    a.clock,
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
    auditReader,
    privacyRequests,
    subjectData,
    erasure,
    retention,
  };
}

export type Services = ReturnType<typeof buildServices>;
