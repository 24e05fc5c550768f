import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import { PollingLoop } from '../shared/polling-loop.js';
import { Types } from 'mongoose';
import { Webhook } from 'standardwebhooks';
import { insertEach } from '../db/bulk.js';
import { sendingClaims, type Claims } from '../db/claims.js';
import type { Models } from '../db/models/index.js';
import type { WebhookEndpointDoc } from '../db/models/webhook.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { Clock } from '../shared/clock.js';
import type { DataProtector } from '../shared/crypto.js';
import type { Logger } from '../shared/logger.js';
import { webhookPayload } from './payloads.js';
import { NonPublicDestination, publicOnlyLookup, refuseLiteralHost } from './public-address.js';

type Endpoint = WebhookEndpointDoc & { _id: Types.ObjectId };

/**
 * Seconds to wait after the 1st, 2nd, … consecutive failure of an endpoint (the schedule the
 * Standard Webhooks guidance suggests: about a day in all before the limit disables it).
 */
export const RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

export interface WebhookDispatchConfig {
  /** Consecutive failed attempts after which an endpoint is disabled. */
  disableAfterFailures: number;
  timeoutMs: number;
  /** WEBHOOK_ALLOW_PRIVATE_ADDRESSES; otherwise only public addresses are connected to. */
  allowPrivateAddresses: boolean;
}

const EVENTS_PER_ROUND = 200;
const DELIVERIES_PER_ROUND = 50;
const ENDPOINT_LEASE_MS = 5 * 60_000;
const ERROR_TEXT = 300;
const SWEEP_EVERY_MS = 3600_000;
/** How long handled events and delivered webhooks stay for the delivery log. */
export const KEEP_DELIVERED_DAYS = 30;

/**
 * Delivers outbox events to webhook endpoints. Each event is fanned out once per endpoint that
 * wants its type (a unique key per pair), and each endpoint's deliveries go out one at a time in
 * event order, under a lease so one process sends them: a failure holds back everything after it
 * (so events about one subscriber, indeed all, arrive in order) and backs off the endpoint by
 * RETRY_SCHEDULE_SECONDS; after `disableAfterFailures` failures in a row the endpoint is disabled
 * with the reason. Delivery is at least once: a process that dies between the receiver's answer and
 * the record sends again, with the same `webhook-id` for the receiver to recognise.
 */
export class WebhookDispatcher {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly claims: Claims;
  private readonly polling: PollingLoop;
  private sweptAt = 0;

  constructor(
    private readonly deps: {
      models: Pick<Models, 'WebhookEndpoint' | 'WebhookDelivery' | 'Claim'>;
      events: DomainEvents;
      protector: DataProtector;
      clock: Clock;
      logger: Logger;
      config: WebhookDispatchConfig;
      pollMs?: number;
    },
  ) {
    this.claims = sendingClaims(deps.models.Claim);
    this.polling = new PollingLoop(
      'webhook dispatcher',
      () => this.tick(),
      deps.pollMs ?? 1000,
      deps.logger,
    );
  }

  start(): void {
    this.polling.start();
  }

  stop(): Promise<void> {
    return this.polling.stop();
  }

  /** Fans out new events, then delivers what is due; true when anything happened. */
  async tick(): Promise<boolean> {
    await this.sweepIfDue();
    const fanned = await this.fanOut();
    const endpoints = await this.deps.models.WebhookEndpoint.find({ enabled: true }).lean<
      Endpoint[]
    >();
    let delivered = false;
    for (const endpoint of endpoints) {
      if (this.polling.stopping) break;
      if (await this.deliverTo(endpoint)) delivered = true;
    }
    return fanned || delivered;
  }

  /** Hourly: old handled events and old delivered webhooks go (pending ones always stay). */
  private async sweepIfDue(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (now - this.sweptAt < SWEEP_EVERY_MS) return;
    this.sweptAt = now;
    const before = new Date(now - KEEP_DELIVERED_DAYS * 86_400_000);
    await this.deps.events.sweep(before);
    await this.deps.models.WebhookDelivery.deleteMany({
      status: 'delivered',
      deliveredAt: { $lt: before },
    });
  }

  private async fanOut(): Promise<boolean> {
    const events = await this.deps.events.pending('webhooks', EVENTS_PER_ROUND);
    if (events.length === 0) return false;
    const endpoints = await this.deps.models.WebhookEndpoint.find(
      { enabled: true },
      { eventTypes: 1 },
    ).lean();
    const deliveries = events.flatMap((event) =>
      endpoints
        .filter((endpoint) => endpoint.eventTypes.includes(event.type))
        .map((endpoint) => ({
          _id: new Types.ObjectId(),
          key: `${String(endpoint._id)}:${String(event._id)}`,
          endpointId: endpoint._id,
          eventId: event._id,
          eventType: event.type,
          status: 'pending',
          attempts: 0,
        })),
    );
    // A key already there was fanned out by an earlier round that died before clearing the flag.
    await insertEach(this.deps.models.WebhookDelivery.collection, deliveries);
    await this.deps.events.handled(
      'webhooks',
      events.map((e) => e._id),
    );
    return true;
  }

  /** Sends the endpoint's due deliveries in event order until one fails; true when it tried any. */
  private async deliverTo(endpoint: Endpoint): Promise<boolean> {
    const now = this.deps.clock.now();
    if (endpoint.retryAt && endpoint.retryAt > now) return false;
    const { models } = this.deps;
    const pending = await models.WebhookDelivery.find({
      endpointId: endpoint._id,
      status: 'pending',
    })
      .sort({ eventId: 1 })
      .limit(DELIVERIES_PER_ROUND)
      .lean();
    if (pending.length === 0) return false;
    const lease = await this.claims.lease(
      `webhook-endpoint:${String(endpoint._id)}`,
      ENDPOINT_LEASE_MS,
      now,
      { owner: this.id },
    );
    if (!lease) return false;
    try {
      // Read again under the lease: another process may have just recorded a failure.
      const current = await models.WebhookEndpoint.findById(endpoint._id).lean<Endpoint>();
      if (!current?.enabled || (current.retryAt && current.retryAt > now)) return false;
      endpoint = current;
      const signer = new Webhook(this.deps.protector.decrypt(endpoint.secretSealed));
      const events = await this.deps.events.byIds(pending.map((d) => d.eventId));
      let failures = endpoint.consecutiveFailures ?? 0;
      for (const delivery of pending) {
        if (this.polling.stopping) break;
        const event = events.get(String(delivery.eventId));
        if (!event) continue;
        const result = await this.post(
          endpoint.url,
          signer,
          String(event._id),
          webhookPayload(event),
        );
        const at = this.deps.clock.now();
        await models.WebhookDelivery.updateOne(
          { _id: delivery._id },
          {
            $set: {
              attempts: (delivery.attempts ?? 0) + 1,
              lastAttemptAt: at,
              ...(result.status !== undefined ? { lastStatus: result.status } : {}),
              ...(result.ok
                ? { status: 'delivered', deliveredAt: at }
                : { lastError: result.error }),
            },
          },
        );
        if (result.ok) {
          if (failures > 0) {
            failures = 0;
            await models.WebhookEndpoint.updateOne(
              { _id: endpoint._id },
              { $set: { consecutiveFailures: 0 }, $unset: { retryAt: 1, lastError: 1 } },
            );
          }
          continue;
        }
        await this.failed(endpoint, failures + 1, result.error, at);
        break;
      }
    } finally {
      await this.claims.release(lease);
    }
    return true;
  }

  /** Backs the endpoint off, or disables it when the failures reached the limit. */
  private async failed(endpoint: Endpoint, failures: number, error: string, at: Date) {
    const limit = this.deps.config.disableAfterFailures;
    const wait = RETRY_SCHEDULE_SECONDS[Math.min(failures, RETRY_SCHEDULE_SECONDS.length) - 1]!;
    const disable = failures >= limit;
    await this.deps.models.WebhookEndpoint.updateOne(
      { _id: endpoint._id },
      {
        $set: {
          consecutiveFailures: failures,
          lastError: error,
          retryAt: new Date(at.getTime() + wait * 1000),
          ...(disable
            ? {
                enabled: false,
                disabledAt: at,
                disabledReason: `disabled after ${failures} failed deliveries in a row; the last: ${error}`,
              }
            : {}),
        },
      },
    );
    this.deps.logger.warn(
      { endpointId: String(endpoint._id), failures, disabled: disable, error },
      'webhook delivery failed',
    );
  }

  private async post(
    url: string,
    signer: Webhook,
    messageId: string,
    body: string,
  ): Promise<{ ok: boolean; status?: number; error: string }> {
    const at = this.deps.clock.now();
    const target = new URL(url);
    const guarded = !this.deps.config.allowPrivateAddresses;
    const literal = guarded ? refuseLiteralHost(target) : null;
    if (literal) return { ok: false, error: `refused: ${literal.message}`.slice(0, ERROR_TEXT) };
    try {
      // node:http rather than fetch: its `lookup` hook checks the addresses it connects to.
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
          target,
          {
            method: 'POST',
            signal: AbortSignal.timeout(this.deps.config.timeoutMs),
            ...(guarded ? { lookup: publicOnlyLookup } : {}),
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'user-agent': 'Kirje-Webhooks/1',
              'webhook-id': messageId,
              'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
              'webhook-signature': signer.sign(messageId, at, body),
            },
          },
          resolve,
        );
        req.on('error', reject);
        req.end(body);
      });
      // Read (and dropped) so the connection can be reused; only the status and the start matter.
      let text = '';
      try {
        for await (const chunk of res.setEncoding('utf8') as AsyncIterable<string>)
          if (text.length < ERROR_TEXT) text += chunk;
      } catch {
        // The answer's status arrived; a body cut short does not change it.
      }
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return { ok: true, status, error: '' };
      return {
        ok: false,
        status,
        error: `HTTP ${status}${text ? `: ${text.slice(0, ERROR_TEXT)}` : ''}`,
      };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why =
        e instanceof NonPublicDestination
          ? `refused: ${e.message}`
          : e.name === 'AbortError'
            ? 'timed out'
            : (e.code ?? e.message);
      return { ok: false, error: why.slice(0, ERROR_TEXT) };
    }
  }
}
