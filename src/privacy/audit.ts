import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import type { StaffActor } from '../auth/service.js';
import type { Clock } from '../shared/clock.js';
import { badRequest } from '../shared/errors.js';

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

// Keyset over (at, _id), newest first: entries written meanwhile never shift a page.
function encodeAuditCursor(at: Date, id: string): string {
  return Buffer.from(`${at.getTime()}:${id}`, 'utf8').toString('base64url');
}

function decodeAuditCursor(cursor: string): { at: Date; id: Types.ObjectId } {
  const m = /^(\d{1,15}):([0-9a-f]{24})$/.exec(
    /^[A-Za-z0-9_-]{1,80}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '',
  );
  if (!m) throw badRequest('cursor: not a cursor this API gave out');
  return { at: new Date(Number(m[1])), id: new Types.ObjectId(m[2]) };
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
    if (q.cursor) {
      const c = decodeAuditCursor(q.cursor);
      and.push({ $or: [{ at: { $lt: c.at } }, { at: c.at, _id: { $lt: c.id } }] });
    }
    const docs = await this.models.AuditEntry.find(and.length ? { $and: and } : {})
      .sort({ at: -1, _id: -1 })
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
      nextCursor:
        docs.length > q.limit && last ? encodeAuditCursor(last.at, String(last._id)) : null,
    };
  }
}
