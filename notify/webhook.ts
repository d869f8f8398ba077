// `webhook` targets: the message as JSON, POSTed and signed like GitHub signs its deliveries, so a
// receiver can check who sent it and refuse a replay. The signature is an HMAC-SHA256 of the raw
// body, keyed by the target's secret; the body itself carries the delivery id and the time of the
// try (also in headers, for routing and logs), so both are covered by the signature.
import { createHmac } from 'node:crypto';
import type { NotifyMessage } from '../common/notifications.js';
import { answerExcerpt, DeliveryError, type Channel, type Delivery } from './channel.js';

export const SIGNATURE_HEADER = 'X-Hypervisor-Signature-256';
export const DELIVERY_HEADER = 'X-Hypervisor-Delivery';
export const TIMESTAMP_HEADER = 'X-Hypervisor-Timestamp';
export const EVENT_HEADER = 'X-Hypervisor-Event';

/** The body a webhook receiver gets (OpenAPI component NotificationBody). */
export type WebhookBody = NotifyMessage & { delivery: string; timestamp: string; attempt: number };

/** `sha256=<hex>` of `body` keyed by `secret`. */
export function signBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface WebhookOptions {
  name: string;
  url: string;
  secret: string;
  timeoutMs: number;
  userAgent: string;
  now?: () => number;
}

export function webhookChannel(options: WebhookOptions): Channel {
  const now = options.now ?? Date.now;
  return {
    name: options.name,
    kind: 'webhook',
    timeoutMs: options.timeoutMs,
    async send(message: NotifyMessage, delivery: Delivery, signal: AbortSignal): Promise<void> {
      const timestamp = new Date(now()).toISOString();
      const body = JSON.stringify({ delivery: delivery.id, timestamp, attempt: delivery.attempt, ...message });
      const response = await fetch(options.url, {
        method: 'POST',
        body,
        signal,
        // A signed body goes where it was configured to go, never where an answer points.
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': options.userAgent,
          [DELIVERY_HEADER]: delivery.id,
          [TIMESTAMP_HEADER]: timestamp,
          [EVENT_HEADER]: message.kind,
          [SIGNATURE_HEADER]: signBody(options.secret, body),
        },
      });
      await expectSuccess(response);
    },
    close: async () => undefined,
  };
}

/** 2xx is delivered; anything else fails the try with its status and the start of the answer. */
export async function expectSuccess(response: Response): Promise<void> {
  const excerpt = await answerExcerpt(response);
  if (response.status >= 200 && response.status < 300) return;
  throw new DeliveryError(`HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`);
}
