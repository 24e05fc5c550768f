import { StaffAdminService } from './auth/admin.js';
import { AuthService } from './auth/service.js';
import type { ResolvedConfig } from './config/local-secrets.js';
import type { Database } from './db/connection.js';
import type { Mailer } from './mail/mailer.js';
import { AuditLog } from './privacy/audit.js';
import type { Clock } from './shared/clock.js';
import { DataProtector } from './shared/crypto.js';
import type { Logger } from './shared/logger.js';
import { ContactService } from './subscribers/contacts.js';
import { campaignsUsingList, ListService } from './subscribers/lists.js';
import { OrderService } from './subscribers/orders.js';
import { staffUnsubscribe, suppressionCheck } from './subscribers/suppression-port.js';

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
  const staffAdmin = new StaffAdminService(auth, audit);
  const lists = new ListService(models, audit, campaignsUsingList(a.db.connection));
  const contacts = new ContactService(
    models,
    lists,
    a.clock,
    audit,
    protector,
    suppressionCheck(models, protector),
    staffUnsubscribe(models, protector, a.clock),
  );
  const orders = new OrderService(models, contacts, audit);
  return { protector, audit, auth, staffAdmin, lists, contacts, orders };
}

export type Services = ReturnType<typeof buildServices>;
