import type { Models } from '../db/models/index.js';
import type { StaffActor } from '../auth/service.js';
import type { Clock } from '../shared/clock.js';

export type Actor = StaffActor | { type: 'system'; name: string } | { type: 'subject' };

export interface AuditContext {
  actor: Actor;
  requestId?: string;
}

/** Writes the append-only trail of access to personal data (seed §7-9). Nothing here deletes. */
export class AuditLog {
  constructor(
    private readonly models: Pick<Models, 'AuditEntry'>,
    private readonly clock: Clock,
  ) {}

  async record(
    ctx: AuditContext,
    action: string,
    subjectId?: string | null,
    details?: Record<string, unknown>,
  ): Promise<void> {
    const a = ctx.actor;
    await this.models.AuditEntry.create({
      at: this.clock.now(),
      actorType: a.type,
      actorId: a.type === 'staff' ? a.userId : a.type === 'system' ? a.name : undefined,
      action,
      subjectId: subjectId ?? undefined,
      requestId: ctx.requestId,
      details,
    });
  }
}
