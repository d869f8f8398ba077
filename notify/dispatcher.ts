// Sends what the outbox holds. One drain per target, one message in flight per target: a slow or
// failing target delays only its own messages, never another target, the loop or the proxy, and
// nothing waits in memory (the outbox in the store is the queue). A try that fails is tried again
// after a backoff, up to three tries; each try's outcome is an event. A host that dies mid-try
// leaves a lease that runs out, and then any host takes the message again. A stop lets a try in
// flight finish (for a short grace) rather than cutting it: the target may already have it, and a
// try cut short is sent again after the restart, which the operator would hear twice.
import { startDeadline } from '../common/deadline.js';
import type { NotificationRecord } from '../common/notifications.js';
import type { NewEvent } from '../common/types.js';
import { EventLog } from '../store/event-log.js';
import type { Store } from '../store/store.js';
import { reasonOf, type Channel, type Delivery } from './channel.js';
import type { NotifyMessage } from '../common/notifications.js';

export const MAX_ATTEMPTS = 3;
/**
 * How long a stop waits for a try in flight before cutting it short (its message then stays
 * pending and is sent again, with the same delivery id, after the restart). A target that has
 * answered is done in milliseconds; this only bounds one that is slow to, under the stop timeout.
 */
export const STOP_GRACE_MS = 5_000;

export type DispatchStore = Pick<
  Store,
  'dueNotifications' | 'claimNotification' | 'settleNotification' | 'appendEvent'
>;

export interface DispatcherOptions {
  store: DispatchStore;
  channels: ReadonlyMap<string, Channel>;
  /** @default Date.now */
  now?: () => number;
  /** The waits before the second and third tries. @default [2000, 8000] */
  backoffMs?: readonly number[];
  /** How often due messages (held ones, retries) are looked for between wake-ups. @default 1000 */
  tickMs?: number;
  log?: (line: string) => void;
}

export type TryOutcome =
  { delivered: true; durationMs: number } | { delivered: false; error: string; durationMs: number };

/** One try of one message on one channel, bounded by the channel's timeout and by `stop`. */
export async function tryOnce(
  channel: Channel,
  message: NotifyMessage,
  delivery: Delivery,
  stop: AbortSignal,
  now: () => number = Date.now,
): Promise<TryOutcome> {
  const started = now();
  const deadline = startDeadline(channel.timeoutMs, stop);
  try {
    await channel.send(message, delivery, deadline.signal);
    return { delivered: true, durationMs: now() - started };
  } catch (err) {
    return { delivered: false, error: reasonOf(err, deadline.signal, channel.timeoutMs), durationMs: now() - started };
  } finally {
    deadline.dispose();
  }
}

export class Dispatcher {
  readonly #store: DispatchStore;
  readonly #channels: ReadonlyMap<string, Channel>;
  readonly #now: () => number;
  readonly #backoffMs: readonly number[];
  readonly #tickMs: number;
  readonly #log: (line: string) => void;
  readonly #events: EventLog;
  /** Aborted on close: no message is taken any more. */
  readonly #closing = new AbortController();
  /** Aborted once the stop's grace is over: tries still in flight are cut short. */
  readonly #cutting = new AbortController();
  readonly #drains = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  #timer: NodeJS.Timeout | null = null;

  constructor(options: DispatcherOptions) {
    this.#store = options.store;
    this.#channels = options.channels;
    this.#now = options.now ?? Date.now;
    this.#backoffMs = options.backoffMs ?? [2000, 8000];
    this.#tickMs = options.tickMs ?? 1000;
    this.#log = options.log ?? console.error;
    this.#events = new EventLog(options.store, undefined, this.#log);
  }

  start(): void {
    this.#timer = setInterval(() => this.wake(), this.#tickMs);
    this.#timer.unref();
    this.wake();
  }

  /** Looks for due messages now (a new one was written). */
  wake(): void {
    if (this.#closing.signal.aborted) return;
    for (const target of this.#channels.keys()) this.#kick(target);
  }

  /**
   * Stops taking messages and waits for the drains: a try in flight may finish within STOP_GRACE_MS
   * (bounded by its channel's timeout), after which it is cut short and its message stays pending.
   */
  async close(): Promise<void> {
    const stopping = new Error('the hypervisor is stopping');
    this.#closing.abort(stopping);
    if (this.#timer) clearInterval(this.#timer);
    const grace = setTimeout(() => this.#cutting.abort(stopping), STOP_GRACE_MS);
    try {
      await Promise.all(this.#drains.values());
    } finally {
      clearTimeout(grace);
    }
  }

  /** Whether any drain is running (tests wait on it instead of sleeping). */
  idle(): boolean {
    return this.#drains.size === 0;
  }

  #kick(target: string): void {
    if (this.#drains.has(target)) {
      this.#again.add(target);
      return;
    }
    const drain = this.#drain(target)
      .catch((err: unknown) => this.#log(`hypervisor: notify ${target}: ${(err as Error).message}`))
      .finally(() => {
        this.#drains.delete(target);
        if (this.#again.delete(target)) this.#kick(target);
      });
    this.#drains.set(target, drain);
  }

  async #drain(target: string): Promise<void> {
    const channel = this.#channels.get(target)!;
    while (!this.#closing.signal.aborted) {
      const [due] = await this.#store.dueNotifications(target, this.#iso(), 1);
      if (!due) return;
      const leaseUntil = new Date(this.#now() + channel.timeoutMs + 60_000).toISOString();
      const taken = await this.#store.claimNotification(due.id, this.#iso(), leaseUntil);
      if (taken) await this.#try(channel, taken);
    }
  }

  async #try(channel: Channel, n: NotificationRecord): Promise<void> {
    const outcome = await tryOnce(
      channel,
      n.message,
      { id: n.deliveryId, attempt: n.attempts },
      this.#cutting.signal,
      this.#now,
    );
    if (this.#cutting.signal.aborted && !outcome.delivered) {
      // Cut short by our own stop: not the target's fault, so the try is not held against it.
      await this.#store.settleNotification(n.id, { state: 'pending', notBefore: null }, ['pending']);
      return;
    }
    if (outcome.delivered) {
      await this.#store.settleNotification(n.id, { state: 'delivered', lastError: null }, ['pending']);
      await this.#event(n, 'NotificationDelivered', `delivered (try ${n.attempts}, ${outcome.durationMs} ms)`, {});
      return;
    }
    if (n.attempts >= MAX_ATTEMPTS) {
      await this.#store.settleNotification(n.id, { state: 'failed', lastError: outcome.error }, ['pending']);
      await this.#event(n, 'NotificationFailed', `failed after ${n.attempts} tries: ${outcome.error}`, {
        error: outcome.error,
      });
      return;
    }
    const wait = this.#backoffMs[Math.min(n.attempts - 1, this.#backoffMs.length - 1)] ?? 0;
    const notBefore = new Date(this.#now() + wait).toISOString();
    await this.#store.settleNotification(n.id, { state: 'pending', notBefore, lastError: outcome.error }, ['pending']);
    await this.#event(
      n,
      'NotificationRetrying',
      `try ${n.attempts} of ${MAX_ATTEMPTS} failed: ${outcome.error}; next try in ${Math.round(wait / 1000)}s`,
      { error: outcome.error },
    );
  }

  /** Best effort: an outcome the store cannot record is logged; the delivery itself stands. */
  async #event(n: NotificationRecord, reason: string, what: string, data: Record<string, unknown>): Promise<void> {
    const event: NewEvent = {
      reason,
      actor: 'notify',
      color: n.message.color,
      message: `${n.kind}${n.message.tag ? ` ${n.message.tag}` : ''} to ${n.target}: ${what}`,
      data: {
        target: n.target,
        kind: n.kind,
        notification: n.id,
        delivery: n.deliveryId,
        attempts: n.attempts,
        tag: n.message.tag,
        event: n.eventId,
        ...data,
      },
    };
    await this.#events.record(event);
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }
}
