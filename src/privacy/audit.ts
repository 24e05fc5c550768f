import { Types } from 'mongoose';
import { idsBefore } from '../db/keyset.js';
import type { Models } from '../db/models/index.js';
import type { StaffActor } from '../auth/service.js';
import type { Clock } from '../shared/clock.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';

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

export interface AuditQuery {
  subject?: string;
  actor?: string;
  from?: Date;
  to?: Date;
  cursor?: string;
  limit: number;
}

export interface AuditEntryView {
  id: string;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  subjectId: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
}

/** Reads the trail; the API offers no way to change or delete it. */
export class AuditReader {
  constructor(private readonly models: Pick<Models, 'AuditEntry'>) {}

  async query(q: AuditQuery): Promise<{ items: AuditEntryView[]; nextCursor: string | null }> {
    const and: Record<string, unknown>[] = [];
    if (q.subject) and.push({ subjectId: q.subject });
    if (q.actor) and.push({ actorId: q.actor });
    if (q.from) and.push({ at: { $gte: q.from } });
    if (q.to) and.push({ at: { $lt: q.to } });
    // Newest first by `_id`, which entries get as they are written: the `_id` index serves the
    // page, and entries written meanwhile never shift one.
    const before = q.cursor !== undefined ? new Types.ObjectId(decodeCursor(q.cursor)) : undefined;
    and.push({ _id: idsBefore(before) });
    const docs = await this.models.AuditEntry.find({ $and: and })
      .sort({ _id: -1 })
      .limit(q.limit + 1)
      .lean();
    const page = docs.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map((d) => ({
        id: String(d._id),
        at: d.at,
        actorType: d.actorType,
        actorId: d.actorId ?? null,
        action: d.action,
        subjectId: d.subjectId ?? null,
        requestId: d.requestId ?? null,
        details: (d.details as Record<string, unknown> | undefined) ?? null,
      })),
      nextCursor: docs.length > q.limit && last ? encodeCursor(String(last._id)) : null,
    };
  }
}
