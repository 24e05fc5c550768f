import { StaffAdminService } from './auth/admin.js';
import { AuthService } from './auth/service.js';
import { MjmlCampaignRenderer } from './campaigns/render/mjml-renderer.js';
import { SystemMailRenderer } from './campaigns/render/system-mail.js';
import { TemplateService } from './campaigns/templates/service.js';
import type { ResolvedConfig } from './config/local-secrets.js';
import type { Database } from './db/connection.js';
import type { Mailer } from './mail/mailer.js';
import { AuditLog } from './privacy/audit.js';
import type { Clock } from './shared/clock.js';
import { DataProtector } from './shared/crypto.js';
import type { Logger } from './shared/logger.js';
import { ConsentLedger } from './subscribe/consent-ledger.js';
import { ContactService } from './subscribers/contacts.js';
import { campaignsUsingList, ListService } from './subscribers/lists.js';
import { OrderService } from './subscribers/orders.js';
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
  const staffAdmin = new StaffAdminService(auth, audit);
  const lists = new ListService(models, audit, campaignsUsingList(a.db.connection));
  const contacts = new ContactService(
    models,
    lists,
    a.clock,
    audit,
    protector,
    suppressions,
    unsubscribe,
  );
  const orders = new OrderService(models, contacts, audit);
  const campaignRenderer = new MjmlCampaignRenderer();
  const systemMails = new SystemMailRenderer(a.config.org);
  const templates = new TemplateService(models, campaignRenderer);
  return {
    protector,
    audit,
    auth,
    tokens,
    suppressions,
    consent,
    unsubscribe,
    staffAdmin,
    lists,
    contacts,
    orders,
    campaignRenderer,
    systemMails,
    templates,
  };
}

export type Services = ReturnType<typeof buildServices>;
