import { AutomationRunner } from './automations/runner.js';
import { AutomationService } from './automations/service.js';
import { StepMailer } from './automations/step-mail.js';
import { segmentAudience, type AudienceSource } from './campaigns/audience.js';
import { DomainEvents } from './events/domain-events.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { WebhookService } from './webhooks/service.js';
import type { CampaignRenderer } from './campaigns/render/types.js';
import { MailComposer } from './campaigns/send/compose.js';
import { RecipientSnapshot } from './campaigns/send/snapshot.js';
import { SendWorker } from './campaigns/send/worker.js';
import { CampaignService, type TemplateSource } from './campaigns/service.js';
import { CampaignCounter } from './campaigns/stats/counter.js';
import { DeliverabilityGuard } from './campaigns/stats/guard.js';
import { LinkRedirects } from './campaigns/stats/redirects.js';
import { CampaignAnalyticsService } from './campaigns/stats/report.js';
import { CampaignTracking } from './campaigns/stats/tracking.js';
import { StaffAdminService } from './auth/admin.js';
import { SecondFactor } from './auth/second-factor.js';
import { Claims } from './db/claims.js';
import { AuthService } from './auth/service.js';
import { SessionService } from './auth/sessions.js';
import { MjmlCampaignRenderer } from './campaigns/render/mjml-renderer.js';
import { SystemMailRenderer } from './campaigns/render/system-mail.js';
import { TemplateService } from './campaigns/templates/service.js';
import type { ResolvedConfig } from './config/local-secrets.js';
import type { Database } from './db/connection.js';
import { MailAuthenticator, type DNSResolver } from './inbound/authenticator.js';
import { ConfirmationSender } from './inbound/confirmations.js';
import { InboundInbox } from './inbound/inbox.js';
import { InboundPipeline } from './inbound/pipeline.js';
import { subscriberLookupFrom } from './inbound/ports.js';
import { recentCampaignLists } from './inbound/recent-campaigns.js';
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
import { campaignListsFrom } from './unsubscribe/campaign-lists.js';
import { UnsubscribeConfirmation } from './unsubscribe/confirmation.js';
import { UnsubscribePortal } from './unsubscribe/portal.js';
import { PreferenceService } from './unsubscribe/preferences.js';
import { ContactService } from './subscribers/contacts.js';
import { SubscriberAddresses } from './subscribers/by-address.js';
import { campaignsUsingList, ListService } from './subscribers/lists.js';
import { OrderService } from './subscribers/orders.js';
import { OptOutHistory } from './unsubscribe/history.js';
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
  /** DNS for SPF/DKIM/DMARC of inbound mail; tests publish their own records. Default: system DNS. */
  dnsResolver?: DNSResolver;
}

/** Capabilities the campaign engine reaches through ports; tests may replace them. */
export interface Ports {
  renderer: CampaignRenderer;
  audience: AudienceSource;
  templates: TemplateSource;
}

/** Wires every service once, each given exactly what it needs through its constructor. */
export function buildServices(a: Adapters, overrides: Partial<Ports> = {}) {
  const { models } = a.db;
  const protector = new DataProtector(a.config.dataKey);
  const audit = new AuditLog(models, a.clock);
  const events = new DomainEvents(models, a.clock);
  const auth = new AuthService(models, a.clock);
  const tokens = new TokenService(a.config.tokenKeys, a.clock);
  const suppressions = new SuppressionService(models, protector, a.clock);
  const consent = new ConsentLedger(models);
  const unsubscribe = new UnsubscribeService(models, suppressions, consent, a.clock, events);
  const staffAdmin = new StaffAdminService(
    auth,
    audit,
    new Claims(models.Claim.db, models.Claim.collection.collectionName),
    a.clock,
  );
  const addresses = new SubscriberAddresses(models);
  const lists = new ListService(models, audit, campaignsUsingList(a.db.connection));
  const contacts = new ContactService(
    models,
    lists,
    a.clock,
    audit,
    protector,
    suppressions,
    unsubscribe,
    addresses,
    events,
  );
  const orders = new OrderService(models, contacts, audit, events);
  const optOutHistory = new OptOutHistory(models, contacts, audit);
  const campaignLists = campaignListsFrom(a.db.connection);
  const campaignRenderer = new MjmlCampaignRenderer();
  const systemMails = new SystemMailRenderer(a.config.org);
  const templates = new TemplateService(models, campaignRenderer, a.config.org);
  const segments = new SegmentService(models, a.clock);
  const imports = new ImportService(
    models,
    addresses,
    suppressions,
    protector,
    audit,
    a.clock,
    events,
  );
  const exports = new ExportService(models, segments, lists, audit);
  const ports: Ports = {
    renderer: campaignRenderer,
    audience: segmentAudience(segments),
    templates: { mjmlOf: async (id) => (await templates.get(id)).mjml },
    ...overrides,
  };
  const limiter = new RateLimiter(models, a.clock);
  const secondFactor = new SecondFactor(models, protector, a.clock);
  const sessions = new SessionService(models, auth, secondFactor, limiter, audit, a.clock, {
    ...a.config.admin,
    secureCookie: a.config.baseUrl.startsWith('https:'),
  });
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
    addresses,
    events,
  });
  const preferences = new PreferenceService(
    models,
    suppressions,
    consent,
    unsubscribe,
    audit,
    a.clock,
    events,
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
    campaignLists,
    unsubscribeConfirmation,
    (token) => `${a.config.baseUrl}/u/${token}`,
  );
  const messageIdDomain = a.config.dkim?.domainName ?? a.config.inboundDomain;
  // Campaign analytics: counted per campaign, written grouped; started and stopped by server.ts.
  const campaignCounter = new CampaignCounter(models.CampaignCounts, a.logger);
  const campaignTracking = new CampaignTracking(tokens, a.config.baseUrl);
  const linkRedirects = new LinkRedirects(models, tokens, campaignCounter, a.clock);
  const campaignAnalytics = new CampaignAnalyticsService(
    models,
    campaignCounter,
    a.config.guard,
    a.clock,
  );
  const composer = new MailComposer(tokens, {
    baseUrl: a.config.baseUrl,
    inboundDomain: a.config.inboundDomain,
    messageIdDomain,
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
    {
      fromEmail: a.config.mailFrom,
      recipientRecordDays: a.config.send.recipientRecordDays,
      windowSize: a.config.send.windowSize,
    },
    campaignTracking,
  );
  new DeliverabilityGuard(models, campaigns, a.config.guard, a.logger).watch(campaignCounter);
  const snapshot = new RecipientSnapshot(models, ports.audience, a.clock);
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
    tracking: campaignTracking,
    counter: campaignCounter,
    events,
  });
  const auditReader = new AuditReader(models);
  const privacyRequests = new PrivacyRequestService(models, protector, audit, a.clock, events);
  const subscriberLookup = subscriberLookupFrom(models, addresses);
  const inbound = new InboundPipeline(
    models,
    {
      tokens,
      unsubscribe,
      suppressions,
      authenticator: new MailAuthenticator({
        mta: a.config.inboundDomain,
        resolver: a.dnsResolver,
      }),
      confirmations: new ConfirmationSender(a.mailer, tokens, {
        baseUrl: a.config.baseUrl,
        mailFrom: a.config.mailFrom,
        orgName: a.config.org.name,
        messageIdDomain,
      }),
      campaigns: recentCampaignLists(campaignLists, a.clock),
      subscribers: subscriberLookup,
      // "Poista tietoni" / "delete my data" opens an erasure request in the register.
      privacy: privacyRequests,
      counter: campaignCounter,
      clock: a.clock,
      logger: a.logger,
    },
    {
      inboundDomain: a.config.inboundDomain,
      messageIdDomain,
      bounceHardLimit: a.config.bounceHardLimit,
      maxBytes: a.config.inboundMaxBytes,
      confirmationsPerDay: 3,
    },
  );
  const inbox = new InboundInbox(
    models,
    unsubscribe,
    subscriberLookup,
    campaignLists,
    audit,
    a.clock,
  );
  const subjectData = new SubjectDataService(models, a.db.connection, protector, audit, a.clock);
  const erasure = new ErasureService(
    models,
    a.db.connection,
    subjectData,
    suppressions,
    protector,
    audit,
    a.clock,
    events,
  );
  const retention = new RetentionService(
    models,
    a.db.connection,
    erasure,
    a.config.retention,
    a.clock,
  );
  const automations = new AutomationService(models, lists, templates, audit, a.clock, {
    fromEmail: a.config.mailFrom,
  });
  // Built here, started only by the composition root (src/server.ts) when SEND_WORKER is on.
  const automationRunner = new AutomationRunner({
    models,
    events,
    segments,
    suppressions,
    mail: new StepMailer({
      templates,
      renderer: ports.renderer,
      composer,
      mailer: a.mailer,
      logger: a.logger,
    }),
    clock: a.clock,
    logger: a.logger,
    config: { mailFrom: a.config.mailFrom, send: a.config.send },
  });
  const webhooks = new WebhookService(models, protector, audit, {
    production: a.config.env === 'production',
    allowPrivateAddresses: a.config.webhooks.allowPrivateAddresses,
  });
  const webhookDispatcher = new WebhookDispatcher({
    models,
    events,
    protector,
    clock: a.clock,
    logger: a.logger,
    config: a.config.webhooks,
  });
  return {
    events,
    automations,
    automationRunner,
    webhooks,
    webhookDispatcher,
    protector,
    audit,
    auth,
    tokens,
    suppressions,
    addresses,
    consent,
    unsubscribe,
    staffAdmin,
    lists,
    contacts,
    orders,
    optOutHistory,
    campaignRenderer,
    systemMails,
    templates,
    segments,
    imports,
    exports,
    limiter,
    secondFactor,
    sessions,
    subscribe,
    preferences,
    unsubscribePortal,
    composer,
    campaigns,
    campaignCounter,
    campaignAnalytics,
    linkRedirects,
    sendWorker,
    auditReader,
    privacyRequests,
    subjectData,
    erasure,
    retention,
    inbound,
    inbox,
  };
}

export type Services = ReturnType<typeof buildServices>;
