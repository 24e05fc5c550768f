import { automationRoutes } from '../automations/routes.js';
import { userRoutes } from '../auth/routes.js';
import { sessionRoutes } from '../auth/session-routes.js';
import { templateRoutes } from '../campaigns/templates/routes.js';
import { segmentRoutes } from '../segments/routes.js';
import { campaignRoutes } from '../campaigns/routes.js';
import { privacyRoutes } from '../privacy/routes.js';
import { inboundRoutes } from '../inbound/routes.js';
import type { Services } from '../services.js';
import { csvRoutes } from '../subscribers/csv-routes.js';
import { subscribeAdminRoutes } from '../subscribe/routes.js';
import { subscriberRoutes } from '../subscribers/routes.js';
import { webhookRoutes } from '../webhooks/routes.js';
import type { RouteDef } from './routes.js';

/** Every admin endpoint under /api/v1, gathered from the capabilities that own them. */
export function adminRoutes(s: Services): RouteDef[] {
  return [
    ...campaignRoutes(s),
    ...subscriberRoutes(s),
    ...userRoutes(s),
    ...sessionRoutes(s),
    ...subscribeAdminRoutes(s),
    ...templateRoutes(s.templates),
    ...segmentRoutes(s),
    ...csvRoutes(s),
    ...privacyRoutes(s),
    ...inboundRoutes(s),
    ...automationRoutes(s),
    ...webhookRoutes(s),
  ];
}
