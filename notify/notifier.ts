// The notifier follows the event trail in id order from a cursor kept in the store, turns the
// events the trigger table knows into notices, decides per target (rules.ts) and writes the
// messages to the outbox, whose unique keys make a second host or a restart write nothing twice;
// the dispatcher sends them. It runs on its own timer: the loop never waits for it.
import { randomUUID } from 'node:crypto';
import type { NotifyMessage } from '../common/notifications.js';
import type { EventRecord, StoreHealth } from '../common/types.js';
import { NotFoundError } from '../common/errors.js';
import type { NotifyTarget } from '../config/notify.js';
import { EventLog } from '../store/event-log.js';
import type { Store } from '../store/store.js';
import type { Channel } from './channel.js';
import { compose, titleOf, type ComposeContext } from './compose.js';
import { Dispatcher, tryOnce, type DispatcherOptions, type TryOutcome } from './dispatcher.js';
import type { Notice } from './notice.js';
import { decide, type Told } from './rules.js';
import { noticeOf } from './triggers.js';

export type NotifierStore = Pick<
  Store,
  | 'notifyCursor'
  | 'advanceNotifyCursor'
  | 'listEventsAfter'
  | 'listRecentEvents'
  | 'addNotification'
  | 'lastNotification'
  | 'settleNotification'
  | 'dueNotifications'
  | 'claimNotification'
  | 'appendEvent'
>;

export interface NotifierOptions extends ComposeContext {
  store: NotifierStore;
  targets: readonly NotifyTarget[];
  channels: ReadonlyMap<string, Channel>;
  /** @default Date.now */
  now?: () => number;
  /** How often the trail is read for new events. @default 1000 */
  pollMs?: number;
  /** Passed to the dispatcher (backoff, tick). */
  dispatch?: Pick<DispatcherOptions, 'backoffMs' | 'tickMs'>;
  log?: (line: string) => void;
}

/** Events read per look at the trail: bounded, the rest is read on the next look. */
const BATCH = 100;
/**
 * Older events are passed over, not told: the trail a daemon finds after a long stop, or after
 * targets were configured again, is history, not news.
 */
export const STALE_AFTER_MS = 60 * 60_000;

export interface TestOutcome {
  target: string;
  kind: Channel['kind'];
  outcome: 'delivered' | 'failed';
  error: string | null;
  durationMs: number;
}

export class Notifier {
  readonly #o: NotifierOptions;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  readonly #events: EventLog;
  readonly #dispatcher: Dispatcher;
  readonly #stopping = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #reading: Promise<void> | null = null;
  #cursor = 0;
  /** The trouble being logged (one line per trouble, not per look). */
  #trouble: string | null = null;
  #storeProblemTold = false;

  constructor(options: NotifierOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? console.error;
    this.#events = new EventLog(options.store, undefined, this.#log);
    this.#dispatcher = new Dispatcher({
      ...options.dispatch,
      store: options.store,
      channels: options.channels,
      now: this.#now,
      log: this.#log,
    });
  }

  /** From the cursor on; a store that never had one starts at its newest event (history is not news). */
  async start(): Promise<void> {
    const stored = await this.#o.store.notifyCursor();
    if (stored === null) {
      this.#cursor = (await this.#o.store.listRecentEvents(1))[0]?.id ?? 0;
      await this.#o.store.advanceNotifyCursor(this.#cursor);
    } else {
      this.#cursor = stored;
    }
    if (this.#o.targets.length === 0) return;
    this.#timer = setInterval(() => void this.poll(), this.#o.pollMs ?? 1000);
    this.#timer.unref();
    this.#dispatcher.start();
  }

  async close(): Promise<void> {
    this.#stopping.abort(new Error('the hypervisor is stopping'));
    if (this.#timer) clearInterval(this.#timer);
    await this.#reading;
    await this.#dispatcher.close();
    for (const channel of this.#o.channels.values()) await channel.close();
  }

  /** Reads the trail once (the timer calls it; tests may too). One reading at a time. */
  poll(): Promise<void> {
    this.#reading ??= this.#read().finally(() => (this.#reading = null));
    return this.#reading;
  }

  /** Sends a test message to one target, once, now; NotFoundError for an unknown name. */
  async test(name: string, actor: string): Promise<TestOutcome> {
    const channel = this.#o.channels.get(name);
    if (!channel) {
      const known = [...this.#o.channels.keys()];
      throw new NotFoundError(
        `no notify target ${JSON.stringify(name)}; the targets are: ${known.join(', ') || 'none'}`,
      );
    }
    const message = this.#testMessage(actor);
    const tried = await tryOnce(channel, message, { id: randomUUID(), attempt: 1 }, this.#stopping.signal, this.#now);
    const outcome = testOutcome(channel, tried);
    await this.#events.record({
      reason: 'NotificationTested',
      actor,
      message: `test message to ${name}: ${outcome.outcome}${outcome.error ? ` (${outcome.error})` : ''}`,
      data: { target: name, outcome: outcome.outcome, error: outcome.error },
    });
    return outcome;
  }

  /**
   * The store's integrity: a damaged store refuses every write, events and outbox included, so
   * store_problem is told straight from this signal, once per damage, tried like any message but
   * remembered only in memory.
   */
  storeHealth(health: StoreHealth): void {
    if (health.state === 'ok' || this.#storeProblemTold) return;
    this.#storeProblemTold = true;
    const message = this.#signalMessage(
      'store_problem',
      `the store is damaged: ${health.detail}; writes are refused; fix: ${health.fix}`,
    );
    for (const target of this.#o.targets.filter((t) => t.on.includes('store_problem'))) {
      void this.#sendDirect(this.#o.channels.get(target.name)!, message);
    }
  }

  async #read(): Promise<void> {
    try {
      for (;;) {
        const events = await this.#o.store.listEventsAfter(this.#cursor, BATCH);
        for (const event of events) await this.#handle(event);
        if (events.length === 0) break;
        this.#cursor = events.at(-1)!.id;
        await this.#o.store.advanceNotifyCursor(this.#cursor);
        if (events.length < BATCH || this.#stopping.signal.aborted) break;
      }
      this.#trouble = null;
    } catch (err) {
      // The same events are read again next time; the outbox's keys keep that from sending twice.
      const message = (err as Error).message;
      if (this.#trouble !== message) this.#log(`hypervisor: notifications wait: ${message}`);
      this.#trouble = message;
    }
  }

  async #handle(event: EventRecord): Promise<void> {
    if (this.#now() - Date.parse(event.time) > STALE_AFTER_MS) return;
    const notice = noticeOf(event);
    if (!notice) return;
    let wrote = false;
    for (const target of this.#o.targets) wrote = (await this.#forTarget(notice, target)) || wrote;
    if (wrote) this.#dispatcher.wake();
  }

  async #forTarget(notice: Notice, target: NotifyTarget): Promise<boolean> {
    const now = this.#now();
    const told = await this.#told(target.name, notice.subject);
    let decision = decide(notice, target, told, now);
    if (decision.cancel !== null) {
      const cancelled = await this.#o.store.settleNotification(decision.cancel, { state: 'cancelled' }, ['held']);
      // Taken for sending meanwhile: the problem is being told, so its answer must be too.
      if (!cancelled && told.last)
        decision = decide(notice, target, { ...told, last: { ...told.last, state: 'pending' } }, now);
    }
    if (!decision.write) return false;
    const message = await compose(notice, decision.kind, decision.answers, this.#o);
    const { duplicate } = await this.#o.store.addNotification({
      key: `${target.name}|${decision.kind}|${notice.once}`,
      target: target.name,
      kind: decision.kind,
      role: notice.role,
      subject: notice.subject,
      eventId: notice.event.id,
      deliveryId: randomUUID(),
      state: decision.state,
      notBefore: decision.notBefore === null ? null : new Date(decision.notBefore).toISOString(),
      message,
      createdAt: new Date(now).toISOString(),
    });
    return !duplicate;
  }

  async #told(target: string, subject: string | null): Promise<Told> {
    if (subject === null) return { last: null, lastProblem: null };
    const last = await this.#o.store.lastNotification(target, subject);
    const lastProblem =
      last?.role === 'problem' ? last : await this.#o.store.lastNotification(target, subject, ['problem']);
    return { last, lastProblem };
  }

  /** Three tries with the dispatcher's backoff, in memory only (the store cannot be written). */
  async #sendDirect(channel: Channel, message: NotifyMessage): Promise<void> {
    const id = randomUUID();
    for (let attempt = 1; attempt <= 3 && !this.#stopping.signal.aborted; attempt++) {
      const tried = await tryOnce(channel, message, { id, attempt }, this.#stopping.signal, this.#now);
      if (tried.delivered) return;
      this.#log(`hypervisor: ${message.kind} to ${channel.name}: try ${attempt} of 3 failed: ${tried.error}`);
      if (attempt < 3) await abortableDelay(2000 * 4 ** (attempt - 1), this.#stopping.signal);
    }
  }

  #testMessage(actor: string): NotifyMessage {
    return {
      ...this.#signalMessage('test', `a test message, sent by ${actor} (hyper-cli notify test): this target works`),
      command: 'hyper-cli events',
    };
  }

  #signalMessage(kind: NotifyMessage['kind'], summary: string): NotifyMessage {
    return {
      schema: 1,
      kind,
      title: titleOf(kind, { tag: null, color: null, step: null }, this.#o.app),
      summary,
      app: this.#o.app,
      host: this.#o.host,
      tag: null,
      color: null,
      step: null,
      verdict: null,
      measured: null,
      answers: null,
      log: null,
      command: 'hyperctl doctor',
      event: null,
    };
  }
}

function testOutcome(channel: Channel, tried: TryOutcome): TestOutcome {
  return {
    target: channel.name,
    kind: channel.kind,
    outcome: tried.delivered ? 'delivered' : 'failed',
    error: tried.delivered ? null : tried.error,
    durationMs: tried.durationMs,
  };
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
