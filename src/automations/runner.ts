import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { PollingLoop } from '../shared/polling-loop.js';
import { Types } from 'mongoose';
import type { SendConfig } from '../config/config.js';
import { insertEach } from '../db/bulk.js';
import { sendingClaims, type Claims } from '../db/claims.js';
import { membershipId } from '../db/models/membership.js';
import type { EnrolmentDoc } from '../db/models/automation.js';
import type { Models } from '../db/models/index.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { SegmentService } from '../segments/service.js';
import type { Rule } from '../segments/rules.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { SuppressionService } from '../unsubscribe/suppressions.js';
import { waitEnd, type Exit, type Step, type Trigger } from './definition.js';
import { Enrolments, type ActiveAutomation } from './enrolments.js';
import type { MailOutcome, StepMailer } from './step-mail.js';
import { Triggers } from './triggers.js';

type Enrolment = EnrolmentDoc & { _id: Types.ObjectId };
interface Automation extends ActiveAutomation {
  steps: Step[];
  exit: Exit;
  fromEmail?: string | null;
}
interface Person {
  _id: Types.ObjectId;
  email: string;
  name?: string | null;
  locale: string;
  status: string;
  attributes?: Record<string, string | number | boolean> | null;
}

const DUE_PER_ROUND = 100;
const SWEEP_EVERY_MS = 3600_000;
/**
 * Step and scan claims older than this go: a step claim is needed only while its step is taken
 * (minutes), a scan's for the 7 days a date trigger looks back.
 */
const KEEP_CLAIMS_DAYS = 30;
/** Step claims (src/automations/enrolments.ts) and date scans' (src/automations/triggers.ts). */
const AUTOMATION_CLAIM_KINDS = ['automation', 'automation-scan'];

export interface RunnerDeps {
  models: Pick<
    Models,
    | 'Automation'
    | 'AutomationEnrolment'
    | 'AutomationStepRun'
    | 'Subscriber'
    | 'Membership'
    | 'List'
    | 'Order'
    | 'Claim'
  >;
  events: DomainEvents;
  segments: Pick<SegmentService, 'includes'>;
  suppressions: Pick<SuppressionService, 'isSuppressed'>;
  mail: StepMailer;
  clock: Clock;
  logger: Logger;
  config: { mailFrom: string | undefined; send: SendConfig };
  pollMs?: number;
}

/**
 * Moves people through active automations, exactly once per step. Any number of runners (in one
 * process or many) share the work: a step is taken only by the holder of the claim
 * `automation:<enrolment>:<gen>` (a unique insert, leased so a dead holder's step is taken over),
 * and a send step writes its `sending` record before the SMTP transaction, so a step interrupted
 * mid-transaction is recorded `unknown` by its next holder and never mailed again by itself.
 */
export class AutomationRunner {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly enrolments: Enrolments;
  private readonly triggers: Triggers;
  private readonly polling: PollingLoop;
  private readonly claims: Claims;
  private sweptAt = 0;

  constructor(private readonly deps: RunnerDeps) {
    const claims = sendingClaims(deps.models.Claim);
    this.claims = claims;
    this.enrolments = new Enrolments(
      deps.models,
      claims,
      deps.clock,
      this.id,
      deps.config.send.leaseSeconds * 1000,
    );
    this.triggers = new Triggers({
      models: deps.models,
      events: deps.events,
      enrolments: this.enrolments,
      claims,
      clock: deps.clock,
      logger: deps.logger,
      owner: this.id,
    });
    this.polling = new PollingLoop(
      'automation runner',
      () => this.tick(),
      deps.pollMs ?? 1000,
      deps.logger,
    );
  }

  start(): void {
    this.polling.start();
  }

  /** Stops taking steps; the step in hand (a mail in flight) finishes and is recorded. */
  stop(): Promise<void> {
    return this.polling.stop();
  }

  /** One round: new events, date scans, then the steps that are due. True if anything happened. */
  async tick(): Promise<boolean> {
    await this.sweepIfDue();
    const active = await this.active();
    const handled = await this.triggers.handleEvents([...active.values()]);
    const scanned = await this.triggers.scanDates([...active.values()]);
    const stepped = await this.takeDueSteps(active);
    return handled || scanned || stepped;
  }

  private async sweepIfDue(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (now - this.sweptAt < SWEEP_EVERY_MS) return;
    this.sweptAt = now;
    await this.claims.deleteOlderThan(
      AUTOMATION_CLAIM_KINDS,
      new Date(now - KEEP_CLAIMS_DAYS * 86_400_000),
    );
  }

  private async active(): Promise<Map<string, Automation>> {
    const docs = await this.deps.models.Automation.find({ status: 'active' }).lean();
    return new Map(
      docs.map((d) => [
        String(d._id),
        {
          _id: d._id,
          trigger: d.trigger as Trigger,
          steps: d.steps as Step[],
          exit: (d.exit ?? {}) as Exit,
          reentry: Boolean(d.reentry),
          fromEmail: d.fromEmail,
          activatedAt: d.activatedAt ?? new Date(0),
        },
      ]),
    );
  }

  private async takeDueSteps(active: Map<string, Automation>): Promise<boolean> {
    if (active.size === 0) return false;
    // Only active automations' people: those of a paused one wait and must not fill the page.
    const due = await this.deps.models.AutomationEnrolment.find({
      status: 'active',
      automationId: { $in: [...active.values()].map((a) => a._id) },
      dueAt: { $lte: this.deps.clock.now() },
    })
      .sort({ dueAt: 1 })
      .limit(DUE_PER_ROUND)
      .lean<Enrolment[]>();
    let took = false;
    for (const e of due) {
      if (this.polling.stopping) break;
      const automation = active.get(String(e.automationId));
      if (automation && (await this.take(automation, e))) took = true;
    }
    return took;
  }

  /** Takes the enrolment's current step if this runner wins its claim; true when it did. */
  private async take(automation: Automation, seen: Enrolment): Promise<boolean> {
    const { models } = this.deps;
    if (!(await this.enrolments.claimStep(seen._id, seen.gen))) return false;
    const e = await models.AutomationEnrolment.findById(seen._id).lean<Enrolment>();
    if (!e || e.status !== 'active' || e.gen !== seen.gen) return false;
    const person = await models.Subscriber.findById(e.subscriberId, {
      email: 1,
      name: 1,
      locale: 1,
      status: 1,
      attributes: 1,
    }).lean<Person>();
    const exit = await this.exitReason(automation, e, person);
    if (exit) {
      await this.enrolments.end(e._id, e.gen, 'exited', exit);
      return true;
    }
    const step = automation.steps[e.step];
    if (!step) {
      await this.enrolments.end(e._id, e.gen, 'completed');
      return true;
    }
    const now = this.deps.clock.now();
    const next = (to: number | 'end') => (to === 'end' ? automation.steps.length : to);
    switch (step.type) {
      case 'wait':
        await this.record(automation, e, { kind: 'wait', status: 'waited' });
        await this.enrolments.advance(e._id, e.gen, {
          step: e.step + 1,
          dueAt: waitEnd(step.duration, now),
        });
        break;
      case 'branch': {
        const yes = await this.deps.segments.includes(step.rule, String(e.subscriberId));
        await this.record(automation, e, {
          kind: 'branch',
          status: 'branched',
          branch: yes ? 'then' : 'else',
        });
        await this.enrolments.advance(e._id, e.gen, {
          step: next(yes ? step.then : step.else),
          dueAt: now,
        });
        break;
      }
      case 'send':
        await this.sendStep(automation, e, person!, step);
        break;
    }
    return true;
  }

  /** Why the person leaves now, or null to go on. */
  private async exitReason(
    automation: Automation,
    e: Enrolment,
    person: Person | null,
  ): Promise<string | null> {
    if (!person) return 'erased';
    if (['unsubscribed', 'bounced', 'complained'].includes(person.status)) return 'unsubscribed';
    if (person.status !== 'subscribed') return 'not_subscribed';
    const listId = e.listId ? String(e.listId) : undefined;
    if (listId) {
      const membership = await this.deps.models.Membership.findById(
        membershipId(e.subscriberId, listId),
        { status: 1 },
      ).lean();
      if (membership?.status !== 'subscribed') return 'unsubscribed';
    }
    if (await this.deps.suppressions.isSuppressed(person.email, listId)) return 'suppressed';
    const rule = automation.exit.rule as Rule | undefined;
    if (rule && (await this.deps.segments.includes(rule, String(e.subscriberId))))
      return 'matched_rule';
    return null;
  }

  private async sendStep(
    automation: Automation,
    e: Enrolment,
    person: Person,
    step: Extract<Step, { type: 'send' }>,
  ): Promise<void> {
    const { models, config } = this.deps;
    const runId = `${String(e._id)}:${e.gen}`;
    const fresh = await this.record(automation, e, { kind: 'send', status: 'sending' });
    if (!fresh) {
      // Claimed before by a holder that died: sent or not, it is not sent again by itself.
      const prior = await models.AutomationStepRun.findById(runId, { status: 1 }).lean();
      if (prior?.status === 'sending')
        await models.AutomationStepRun.updateOne(
          { _id: runId },
          {
            $set: {
              status: 'unknown',
              smtpResponse: 'the process ended during the SMTP transaction',
            },
          },
        );
      await this.enrolments.advance(e._id, e.gen, {
        step: e.step + 1,
        dueAt: this.deps.clock.now(),
      });
      return;
    }
    const list = e.listId
      ? await models.List.findById(e.listId, { slug: 1, name: 1 }).lean()
      : null;
    let outcome: MailOutcome;
    try {
      const message = await this.deps.mail.compose({
        automationId: String(automation._id),
        mailKey: `${String(automation._id)}.${String(e._id)}.${e.gen}`,
        templateId: step.templateId,
        subject: step.subject,
        fromEmail: automation.fromEmail ?? config.mailFrom ?? '',
        to: {
          subscriberId: String(person._id),
          email: person.email,
          name: person.name ?? '',
          locale: person.locale,
          attributes: person.attributes ?? {},
        },
        list: list ? { id: String(list._id), slug: list.slug, name: list.name } : null,
      });
      outcome = await this.deps.mail.send(message);
    } catch (err) {
      // The template is gone or no longer compiles: nothing went out.
      outcome = { status: 'failed', smtpResponse: (err as Error).message };
    }
    const now = this.deps.clock.now();
    const retry = outcome.status === 'retry' && e.attempt <= config.send.maxRetries;
    await models.AutomationStepRun.updateOne(
      { _id: runId },
      {
        $set: {
          status: outcome.status === 'retry' && !retry ? 'failed' : outcome.status,
          smtpResponse: outcome.smtpResponse,
          ...(outcome.status === 'sent' ? { messageId: outcome.messageId } : {}),
          at: now,
        },
      },
    );
    if (retry) {
      const delay = config.send.retryBaseSeconds * 1000 * 2 ** (e.attempt - 1);
      await this.enrolments.advance(e._id, e.gen, {
        step: e.step,
        dueAt: new Date(now.getTime() + delay),
        attempt: e.attempt + 1,
      });
      return;
    }
    await this.enrolments.advance(e._id, e.gen, { step: e.step + 1, dueAt: now });
  }

  /** Inserts the record of this step generation; false when it was there already. */
  private async record(
    automation: Automation,
    e: Enrolment,
    what: { kind: string; status: string; branch?: string },
  ): Promise<boolean> {
    const [inserted] = await insertEach(this.deps.models.AutomationStepRun.collection, [
      {
        _id: `${String(e._id)}:${e.gen}`,
        automationId: automation._id,
        enrolmentId: e._id,
        subscriberId: e.subscriberId,
        step: e.step,
        at: this.deps.clock.now(),
        ...what,
      },
    ]);
    return inserted!;
  }
}
