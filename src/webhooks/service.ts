import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import type { Models } from '../db/models/index.js';
import type { WebhookEndpointDoc } from '../db/models/webhook.js';
import type { WebhookEventType } from '../events/domain-events.js';
import type { AuditContext, AuditLog } from '../privacy/audit.js';
import type { DataProtector } from '../shared/crypto.js';
import { AppError, notFound } from '../shared/errors.js';
import { refusedDestination } from './public-address.js';

export interface EndpointInput {
  url: string;
  description?: string;
  eventTypes: WebhookEventType[];
}
export interface EndpointPatch {
  url?: string;
  description?: string;
  eventTypes?: WebhookEventType[];
  /** true re-enables a disabled endpoint (its failures count from zero again). */
  enabled?: boolean;
}

export interface EndpointView {
  id: string;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  consecutiveFailures: number;
  retryAt: Date | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
}

type Lean = WebhookEndpointDoc & { _id: Types.ObjectId };

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const isObjectId = (id: string) => /^[0-9a-f]{24}$/.test(id);

/** Webhook endpoints as admins manage them; the dispatcher delivers to them. */
export class WebhookService {
  constructor(
    private readonly models: Pick<Models, 'WebhookEndpoint' | 'WebhookDelivery'>,
    private readonly protector: DataProtector,
    private readonly audit: AuditLog,
    private readonly opts: {
      production: boolean;
      /** WEBHOOK_ALLOW_PRIVATE_ADDRESSES: local receivers in development and tests. */
      allowPrivateAddresses: boolean;
    },
  ) {}

  /** The secret is in this answer and never again (rotate for a new one). */
  async create(
    ctx: AuditContext,
    input: EndpointInput,
  ): Promise<EndpointView & { secret: string }> {
    await this.checkUrl(input.url);
    const secret = newSecret();
    const doc = await this.models.WebhookEndpoint.create({
      url: input.url,
      description: input.description ?? '',
      eventTypes: [...new Set(input.eventTypes)],
      secretSealed: this.protector.encrypt(secret),
      enabled: true,
    });
    await this.audit.record(ctx, 'webhook.create', null, { endpointId: String(doc._id) });
    return { ...view(doc.toObject() as Lean), secret };
  }

  async list(): Promise<EndpointView[]> {
    const docs = await this.models.WebhookEndpoint.find().sort({ _id: 1 }).lean<Lean[]>();
    return docs.map(view);
  }

  async get(id: string): Promise<EndpointView> {
    return view(await this.load(id));
  }

  async update(ctx: AuditContext, id: string, patch: EndpointPatch): Promise<EndpointView> {
    const current = await this.load(id);
    if (patch.url !== undefined) await this.checkUrl(patch.url);
    const reenable = patch.enabled === true && !current.enabled;
    await this.models.WebhookEndpoint.updateOne(
      { _id: current._id },
      {
        $set: {
          ...(patch.url !== undefined ? { url: patch.url } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.eventTypes ? { eventTypes: [...new Set(patch.eventTypes)] } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
          ...(reenable ? { consecutiveFailures: 0 } : {}),
        },
        ...(reenable ? { $unset: { retryAt: 1, disabledAt: 1, disabledReason: 1 } } : {}),
      },
    );
    await this.audit.record(ctx, 'webhook.update', null, {
      endpointId: id,
      fields: Object.keys(patch),
    });
    return this.get(id);
  }

  async remove(ctx: AuditContext, id: string): Promise<void> {
    const current = await this.load(id);
    await this.models.WebhookDelivery.deleteMany({ endpointId: current._id });
    await this.models.WebhookEndpoint.deleteOne({ _id: current._id });
    await this.audit.record(ctx, 'webhook.delete', null, { endpointId: id });
  }

  /** A new secret, shown once; the old one stops signing at once. */
  async rotateSecret(ctx: AuditContext, id: string): Promise<{ secret: string }> {
    const current = await this.load(id);
    const secret = newSecret();
    await this.models.WebhookEndpoint.updateOne(
      { _id: current._id },
      { $set: { secretSealed: this.protector.encrypt(secret) } },
    );
    await this.audit.record(ctx, 'webhook.rotate_secret', null, { endpointId: id });
    return { secret };
  }

  /** The most recent deliveries to an endpoint, newest first. */
  async deliveries(id: string, limit: number): Promise<DeliveryView[]> {
    const endpoint = await this.load(id);
    const docs = await this.models.WebhookDelivery.find({ endpointId: endpoint._id })
      .sort({ eventId: -1 })
      .limit(limit)
      .lean();
    return docs.map((d) => ({
      id: String(d._id),
      eventId: String(d.eventId),
      eventType: d.eventType,
      status: d.status,
      attempts: d.attempts ?? 0,
      lastAttemptAt: d.lastAttemptAt ?? null,
      lastStatus: d.lastStatus ?? null,
      lastError: d.lastError ?? null,
      deliveredAt: d.deliveredAt ?? null,
    }));
  }

  private async load(id: string): Promise<Lean> {
    const doc = isObjectId(id) ? await this.models.WebhookEndpoint.findById(id).lean<Lean>() : null;
    if (!doc) throw notFound('webhook endpoint');
    return doc;
  }

  /**
   * https in production (NODE_ENV=production); http also elsewhere, for local receivers. Only
   * public addresses unless allowPrivateAddresses (src/webhooks/public-address.ts).
   */
  private async checkUrl(url: string): Promise<void> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new AppError('validation_failed', 'url: not a URL');
    }
    const allowed = this.opts.production ? ['https:'] : ['https:', 'http:'];
    if (!allowed.includes(parsed.protocol))
      throw new AppError(
        'validation_failed',
        this.opts.production ? 'url: must be https in production' : 'url: must be http or https',
      );
    if (parsed.username || parsed.password)
      throw new AppError('validation_failed', 'url: must not carry a user name or password');
    if (this.opts.allowPrivateAddresses) return;
    const refused = await refusedDestination(parsed);
    if (refused) throw new AppError('validation_failed', `url: ${refused}`);
  }
}

function view(d: Lean): EndpointView {
  return {
    id: String(d._id),
    url: d.url,
    description: d.description ?? '',
    eventTypes: d.eventTypes,
    enabled: d.enabled,
    consecutiveFailures: d.consecutiveFailures ?? 0,
    retryAt: d.retryAt ?? null,
    disabledAt: d.disabledAt ?? null,
    disabledReason: d.disabledReason ?? null,
    lastError: d.lastError ?? null,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}
