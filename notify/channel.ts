// A channel: one configured target, ready to send. Each kind renders the one message its own way
// (webhook.ts, slack.ts, email.ts); a try that does not end in delivery throws DeliveryError with
// the reason an operator reads (an HTTP status and the start of the answer, an SMTP reply).
import type { NotifyMessage, NotifyTargetKind } from '../common/notifications.js';
import { HypervisorError } from '../common/errors.js';

export interface Delivery {
  /** Stays the same over retries (X-Hypervisor-Delivery). */
  id: string;
  attempt: number;
}

export interface Channel {
  readonly name: string;
  readonly kind: NotifyTargetKind;
  /** One try's deadline: longer tries are aborted and count as failed. */
  readonly timeoutMs: number;
  send(message: NotifyMessage, delivery: Delivery, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export class DeliveryError extends HypervisorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('delivery_failed', message, options);
  }
}

/** What a failed try says: our own words, a timeout, or the error's message. */
export function reasonOf(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (err instanceof DeliveryError) return err.message;
  if (signal.aborted) {
    const why: unknown = signal.reason;
    return why instanceof DOMException && why.name === 'TimeoutError'
      ? `no answer within ${timeoutMs} ms`
      : `stopped: ${why instanceof Error ? why.message : String(why)}`;
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return `${(err as Error).message}${detail ? ` (${detail})` : ''}`;
}

/** The start of an answer's body, for the reason of a failed try: at most 1 KiB is read, whatever is sent. */
export async function answerExcerpt(response: Response): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  try {
    while (reader && size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body cut short still says what it said so far.
  } finally {
    await reader?.cancel().catch(() => undefined);
  }
  const line = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8').replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

const EXCERPT_BYTES = 1024;
