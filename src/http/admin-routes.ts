import { z } from 'zod';
import { userRoutes } from '../auth/routes.js';
import { templateRoutes } from '../campaigns/templates/routes.js';
import { segmentRoutes } from '../segments/routes.js';
import { campaignRoutes } from '../campaigns/routes.js';
import { privacyRoutes } from '../privacy/routes.js';
import { inboundRoutes } from '../inbound/routes.js';
import type { Services } from '../services.js';
import { csvRoutes } from '../subscribers/csv-routes.js';
import { subscribeAdminRoutes } from '../subscribe/routes.js';
import { ROLES } from '../db/models/staff.js';
import { subscriberRoutes } from '../subscribers/routes.js';
import type { RouteDef } from './routes.js';

/** Every admin endpoint under /api/v1, gathered from the capabilities that own them. */
export function adminRoutes(s: Services): RouteDef[] {
  return [
    ...campaignRoutes(s),
    ...subscriberRoutes(s),
    ...userRoutes(s),
    {
      method: 'get',
      path: '/me',
      permission: 'self.read',
      summary: 'The staff user the token belongs to',
      response: z.object({ id: z.string(), email: z.string(), role: z.enum(ROLES) }),
      handler: (req, res) =>
        res.json({ id: req.actor!.userId, email: req.actor!.email, role: req.actor!.role }),
    },
    ...subscribeAdminRoutes(s),
    ...templateRoutes(s.templates),
    ...segmentRoutes(s),
    ...csvRoutes(s),
    ...privacyRoutes(s),
    ...inboundRoutes(s),
  ];
}
