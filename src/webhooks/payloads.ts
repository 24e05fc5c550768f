import type { StoredEvent, WebhookEventType } from '../events/domain-events.js';

/**
 * The body of a webhook (Standard Webhooks: type, timestamp, data). Events carry ids and facts,
 * never addresses or names: a receiver that needs more asks the API with its own token, so what
 * leaves Kirje unasked is only what the event itself is.
 */
export function webhookPayload(event: StoredEvent): string {
  return JSON.stringify({
    type: event.type as WebhookEventType,
    timestamp: event.at.toISOString(),
    data: {
      ...(event.subscriberId ? { subscriberId: String(event.subscriberId) } : {}),
      ...event.data,
    },
  });
}
