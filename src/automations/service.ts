import { Types } from 'mongoose';
import type { AutomationDoc } from '../db/models/automation.js';
import type { Models } from '../db/models/index.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import type { TemplateService } from '../campaigns/templates/service.js';
import type { ListService } from '../subscribers/lists.js';
import type { Clock } from '../shared/clock.js';
import { AppError, notFound } from '../shared/errors.js';
import type { AutomationCreate, AutomationPatch, Exit, Step, Trigger } from './definition.js';

export interface AutomationView {
  id: string;
  name: string;
  status: AutomationDoc['status'];
  trigger: Trigger;
  steps: Step[];
  exit: Exit;
  reentry: boolean;
  fromEmail: string | null;
  activatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AutomationStats {
  enrolments: { active: number; completed: number; exited: number };
  exits: Record<string, number>;
  /** Per step, in order: how many records of each outcome it has. */
  steps: Array<{ step: number; type: Step['type']; counts: Record<string, number> }>;
}

type Lean = AutomationDoc & { _id: Types.ObjectId };

const isObjectId = (id: string) => /^[0-9a-f]{24}$/.test(id);

/** Automations as staff define them (docs/automations.md); the runner moves people through them. */
export class AutomationService {
  constructor(
    private readonly models: Pick<
      Models,
      'Automation' | 'AutomationEnrolment' | 'AutomationStepRun'
    >,
    private readonly lists: Pick<ListService, 'get'>,
    private readonly templates: Pick<TemplateService, 'get'>,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly defaults: { fromEmail: string | undefined },
  ) {}

  async create(ctx: AuditContext, input: AutomationCreate): Promise<AutomationView> {
    await this.checkReferences(input.trigger, input.steps);
    const doc = await this.models.Automation.create({ ...input, status: 'draft' });
    await this.audit.record(ctx, 'automation.create', null, { automationId: String(doc._id) });
    return view(doc.toObject() as Lean);
  }

  async list(): Promise<AutomationView[]> {
    const docs = await this.models.Automation.find().sort({ _id: 1 }).lean<Lean[]>();
    return docs.map(view);
  }

  async get(id: string): Promise<AutomationView> {
    return view(await this.load(id));
  }

  async update(ctx: AuditContext, id: string, patch: AutomationPatch): Promise<AutomationView> {
    const current = await this.load(id);
    if (current.status === 'active' && (patch.steps || patch.trigger))
      throw new AppError(
        'invalid_state',
        'pause the automation before changing its trigger or steps',
      );
    await this.checkReferences(
      patch.trigger ?? (current.trigger as Trigger),
      patch.steps ?? (current.steps as Step[]),
    );
    const { fromEmail, ...rest } = patch;
    await this.models.Automation.updateOne(
      { _id: current._id },
      {
        $set: { ...rest, ...(fromEmail ? { fromEmail } : {}) },
        ...(fromEmail === null ? { $unset: { fromEmail: 1 } } : {}),
      },
    );
    await this.audit.record(ctx, 'automation.update', null, {
      automationId: id,
      fields: Object.keys(patch),
    });
    return this.get(id);
  }

  async remove(ctx: AuditContext, id: string): Promise<void> {
    const current = await this.load(id);
    if (current.status === 'active')
      throw new AppError('invalid_state', 'pause the automation before deleting it');
    await this.models.AutomationEnrolment.deleteMany({ automationId: current._id });
    await this.models.AutomationStepRun.deleteMany({ automationId: current._id });
    await this.models.Automation.deleteOne({ _id: current._id });
    await this.audit.record(ctx, 'automation.delete', null, { automationId: id });
  }

  /** Starts taking people in: only what happens from now on triggers it. */
  async activate(ctx: AuditContext, id: string): Promise<AutomationView> {
    const current = await this.load(id);
    if (current.status !== 'active') {
      await this.checkReferences(current.trigger as Trigger, current.steps as Step[]);
      if (!current.fromEmail && !this.defaults.fromEmail)
        throw new AppError('validation_failed', 'fromEmail: give a sender, or set MAIL_FROM');
      await this.models.Automation.updateOne(
        { _id: current._id },
        { $set: { status: 'active', activatedAt: this.clock.now() } },
      );
      await this.audit.record(ctx, 'automation.activate', null, { automationId: id });
    }
    return this.get(id);
  }

  /** Takes no one new in and holds everyone at their step until activated again. */
  async pause(ctx: AuditContext, id: string): Promise<AutomationView> {
    const current = await this.load(id);
    if (current.status !== 'active')
      throw new AppError('invalid_state', `the automation is ${current.status}, not active`);
    await this.models.Automation.updateOne({ _id: current._id }, { $set: { status: 'paused' } });
    await this.audit.record(ctx, 'automation.pause', null, { automationId: id });
    return this.get(id);
  }

  async stats(id: string): Promise<AutomationStats> {
    const automation = await this.load(id);
    const [byStatus, byStep] = await Promise.all([
      this.models.AutomationEnrolment.aggregate<{
        _id: { status: string; reason: string | null };
        n: number;
      }>([
        { $match: { automationId: automation._id } },
        { $group: { _id: { status: '$status', reason: '$exitReason' }, n: { $sum: 1 } } },
      ]),
      this.models.AutomationStepRun.aggregate<{ _id: { step: number; status: string }; n: number }>(
        [
          { $match: { automationId: automation._id } },
          { $group: { _id: { step: '$step', status: '$status' }, n: { $sum: 1 } } },
        ],
      ),
    ]);
    const enrolments = { active: 0, completed: 0, exited: 0 };
    const exits: Record<string, number> = {};
    for (const row of byStatus) {
      enrolments[row._id.status as keyof typeof enrolments] += row.n;
      if (row._id.status === 'exited' && row._id.reason)
        exits[row._id.reason] = (exits[row._id.reason] ?? 0) + row.n;
    }
    const steps = (automation.steps as Step[]).map((s, step) => ({
      step,
      type: s.type,
      counts: {} as Record<string, number>,
    }));
    for (const row of byStep) {
      const entry = steps[row._id.step];
      if (entry) entry.counts[row._id.status] = (entry.counts[row._id.status] ?? 0) + row.n;
    }
    return { enrolments, exits, steps };
  }

  private async load(id: string): Promise<Lean> {
    const doc = isObjectId(id) ? await this.models.Automation.findById(id).lean<Lean>() : null;
    if (!doc) throw notFound('automation');
    return doc;
  }

  /** The list and templates an automation names must exist. */
  private async checkReferences(trigger: Trigger, steps: Step[]): Promise<void> {
    if (trigger.type === 'list_joined')
      await this.lists.get(trigger.list).catch(() => {
        throw new AppError('validation_failed', 'trigger.list: no such list');
      });
    for (const [i, step] of steps.entries()) {
      if (step.type !== 'send') continue;
      await this.templates.get(step.templateId).catch(() => {
        throw new AppError('validation_failed', `steps.${i}.templateId: no such template`);
      });
    }
  }
}

function view(d: Lean): AutomationView {
  return {
    id: String(d._id),
    name: d.name,
    status: d.status,
    trigger: d.trigger as Trigger,
    steps: d.steps as Step[],
    exit: (d.exit ?? {}) as Exit,
    reentry: Boolean(d.reentry),
    fromEmail: d.fromEmail ?? null,
    activatedAt: d.activatedAt ?? null,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}
