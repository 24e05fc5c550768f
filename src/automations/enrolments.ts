import { Types } from 'mongoose';
import { insertEach } from '../db/bulk.js';
import type { Claims } from '../db/claims.js';
import type { Models } from '../db/models/index.js';
import type { Clock } from '../shared/clock.js';
import type { Trigger } from './definition.js';

export interface ActiveAutomation {
  _id: Types.ObjectId;
  trigger: Trigger;
  reentry: boolean;
  activatedAt: Date;
}

/**
 * Who is in which automation. Entering is a unique insert of `automationId:subscriberId` (plus the
 * occurrence when the automation allows going through again), so a trigger seen twice, by one
 * process or two, enrols once. Leaving early takes the enrolment's current step claim first, so
 * it never races the runner taking that step.
 */
export class Enrolments {
  constructor(
    private readonly models: Pick<Models, 'AutomationEnrolment'>,
    private readonly claims: Claims,
    private readonly clock: Clock,
    private readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  /** True when this call enrolled the person. */
  async enrol(
    automation: ActiveAutomation,
    subscriberId: Types.ObjectId | string,
    occurrence: string,
    listId?: string,
  ): Promise<boolean> {
    const key = automation.reentry
      ? `${String(automation._id)}:${String(subscriberId)}:${occurrence}`
      : `${String(automation._id)}:${String(subscriberId)}`;
    const now = this.clock.now();
    const [inserted] = await insertEach(this.models.AutomationEnrolment.collection, [
      {
        _id: new Types.ObjectId(),
        key,
        automationId: automation._id,
        subscriberId: new Types.ObjectId(String(subscriberId)),
        ...(listId ? { listId: new Types.ObjectId(listId) } : {}),
        status: 'active',
        step: 0,
        gen: 0,
        attempt: 1,
        dueAt: now,
        createdAt: now,
        updatedAt: now,
      },
    ]);
    return inserted!;
  }

  /** Ends every active enrolment of the person whose step is not being taken right now. */
  async exitAll(subscriberId: Types.ObjectId, reason: string): Promise<void> {
    const active = await this.models.AutomationEnrolment.find(
      { subscriberId, status: 'active' },
      { gen: 1 },
    ).lean();
    for (const e of active) {
      const claim = await this.claimStep(e._id, e.gen);
      // Held: the runner is at this step and checks the exit rules itself.
      if (claim) await this.end(e._id, e.gen, 'exited', reason);
    }
  }

  /** The claim on taking step generation `gen`; null while another process holds it. */
  claimStep(enrolmentId: Types.ObjectId, gen: number): Promise<string | null> {
    return this.claims.lease(
      `automation:${String(enrolmentId)}:${gen}`,
      this.leaseMs,
      this.clock.now(),
      { owner: this.owner },
      async () => {
        const e = await this.models.AutomationEnrolment.findById(enrolmentId, {
          gen: 1,
          status: 1,
        }).lean();
        return e?.status === 'active' && e.gen === gen;
      },
    );
  }

  /** Moves to the next step generation; written only by the holder of generation `gen`. */
  async advance(
    enrolmentId: Types.ObjectId,
    gen: number,
    set: { step: number; dueAt: Date; attempt?: number },
  ): Promise<void> {
    await this.models.AutomationEnrolment.updateOne(
      { _id: enrolmentId },
      { $set: { ...set, attempt: set.attempt ?? 1, gen: gen + 1 } },
    );
  }

  async end(
    enrolmentId: Types.ObjectId,
    gen: number,
    status: 'completed' | 'exited',
    exitReason?: string,
  ): Promise<void> {
    await this.models.AutomationEnrolment.updateOne(
      { _id: enrolmentId },
      {
        $set: {
          status,
          gen: gen + 1,
          endedAt: this.clock.now(),
          ...(exitReason ? { exitReason } : {}),
        },
      },
    );
  }
}
