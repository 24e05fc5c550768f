import type { Connection } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import { auditEntryModel } from './audit.js';
import { automationModel, enrolmentModel, stepRunModel } from './automation.js';
import { domainEventModel } from './domain-event.js';
import { webhookDeliveryModel, webhookEndpointModel } from './webhook.js';
import { claimModel } from './claim.js';
import {
  campaignBatchEntriesModel,
  campaignBatchModel,
  campaignModel,
  campaignRecipientModel,
  campaignWindowModel,
  campaignWindowOutcomeModel,
} from './campaign.js';
import { campaignCountsModel } from './campaign-counts.js';
import { consentEventModel, consentTextModel } from './consent.js';
import { importJobModel } from './import-job.js';
import { inboundMessageModel } from './inbound-message.js';
import { listModel } from './list.js';
import { membershipModel } from './membership.js';
import { orderModel } from './order.js';
import { segmentModel } from './segment.js';
import { rateLimitModel } from './rate-limit.js';
import {
  erasureJobModel,
  privacyRequestModel,
  retentionClaimModel,
  retentionReportModel,
  retentionScheduleModel,
} from './privacy.js';
import { apiTokenModel, staffSessionModel, staffUserModel } from './staff.js';
import { subscriberModel } from './subscriber.js';
import { suppressionModel, suppressionStampModel } from './suppression.js';
import { templateModel } from './template.js';
import { unsubscribeEventModel } from './unsubscribe-event.js';

/** Every collection, compiled on one connection; built only by src/db/connection.ts. */
export function createModels(conn: Connection, clock: Clock) {
  return {
    Subscriber: subscriberModel(conn, clock),
    List: listModel(conn, clock),
    Membership: membershipModel(conn, clock),
    Suppression: suppressionModel(conn, clock),
    SuppressionStamp: suppressionStampModel(conn),
    Order: orderModel(conn, clock),
    StaffUser: staffUserModel(conn, clock),
    ApiToken: apiTokenModel(conn, clock),
    StaffSession: staffSessionModel(conn),
    AuditEntry: auditEntryModel(conn, clock),
    Claim: claimModel(conn, clock),
    UnsubscribeEvent: unsubscribeEventModel(conn, clock),
    ConsentText: consentTextModel(conn, clock),
    ConsentEvent: consentEventModel(conn, clock),
    RateLimit: rateLimitModel(conn),
    Template: templateModel(conn, clock),
    Segment: segmentModel(conn, clock),
    ImportJob: importJobModel(conn, clock),
    Campaign: campaignModel(conn, clock),
    CampaignRecipient: campaignRecipientModel(conn),
    CampaignBatch: campaignBatchModel(conn),
    CampaignBatchEntries: campaignBatchEntriesModel(conn),
    CampaignCounts: campaignCountsModel(conn),
    CampaignWindow: campaignWindowModel(conn),
    CampaignWindowOutcome: campaignWindowOutcomeModel(conn),
    PrivacyRequest: privacyRequestModel(conn, clock),
    ErasureJob: erasureJobModel(conn, clock),
    RetentionSchedule: retentionScheduleModel(conn, clock),
    RetentionReport: retentionReportModel(conn, clock),
    RetentionClaim: retentionClaimModel(conn, clock),
    InboundMessage: inboundMessageModel(conn, clock),
    DomainEvent: domainEventModel(conn),
    Automation: automationModel(conn, clock),
    AutomationEnrolment: enrolmentModel(conn, clock),
    AutomationStepRun: stepRunModel(conn),
    WebhookEndpoint: webhookEndpointModel(conn, clock),
    WebhookDelivery: webhookDeliveryModel(conn),
  };
}

export type Models = ReturnType<typeof createModels>;
