import { inboundRoutes } from '../inbound/routes.js';
import type { Services } from '../services.js';
import type { RouteDef } from './routes.js';

/** Every admin endpoint under /api/v1, gathered from the capabilities that own them. */
export function adminRoutes(s: Services): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/me',
      permission: 'lists.read',
      handler: (req, res) =>
        res.json({ id: req.actor!.userId, email: req.actor!.email, role: req.actor!.role }),
    },
    ...inboundRoutes(s),
  ];
}
