// Smoke runs are jobs in their own queue, like builds: a pass only queues one (the plan's `smoke`
// action) and never waits for it. A run in flight is part of the observed state (the color is
// Verifying); when it ends its result is an event and the loop is woken up to look at it.
import PQueue from 'p-queue';
import type { NewEvent, SmokeResult } from '../common/types.js';
import { smokeLogCommand } from '../desired-state/transitions.js';
import type { Store } from '../store/store.js';
import { smokeGateResult, type SmokeRequest, type SmokeTester } from './smoke.js';

export interface SmokeJobEvents {
  /** Best effort (EventLog.record): never rejects. */
  event(event: NewEvent): Promise<void>;
  /** A run's result was recorded on its release (before its event is written). */
  recorded(request: SmokeRequest, result: SmokeResult): Promise<void>;
  /** A run ended (recorded or not): time for a pass. */
  finished(): void;
}

/** One run per color at a time: at most two. */
const CONCURRENCY = 2;

export class SmokeJobs {
  readonly #tester: SmokeTester;
  readonly #events: SmokeJobEvents;
  readonly #queue = new PQueue({ concurrency: CONCURRENCY });
  readonly #inFlight = new Map<string, AbortController>();
  #closed = false;

  constructor(tester: SmokeTester, events: SmokeJobEvents) {
    this.#tester = tester;
    this.#events = events;
  }

  /** Tags whose smoke run is queued or running. */
  tags(): ReadonlySet<string> {
    return new Set(this.#inFlight.keys());
  }

  /** Queues a run unless one of the same tag is queued or running; returns whether it was queued. */
  enqueue(request: SmokeRequest, reason: string): boolean {
    if (this.#closed || this.#inFlight.has(request.tag)) return false;
    const controller = new AbortController();
    this.#inFlight.set(request.tag, controller);
    void this.#events.event({
      reason: 'SmokeQueued',
      color: request.color,
      message: `smoke test of ${request.tag} against ${request.color} queued: ${reason}`,
      data: { tag: request.tag },
    });
    void this.#queue.add(() => this.#run(request, controller.signal));
    return true;
  }

  /** Cancels every run and waits until none runs; a cancelled run records nothing and runs again later. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const controller of this.#inFlight.values()) controller.abort(new Error('hypervisor is stopping'));
    this.#queue.clear();
    await this.#queue.onIdle();
  }

  async #run(request: SmokeRequest, signal: AbortSignal): Promise<void> {
    try {
      if (signal.aborted) return;
      const result = await this.#tester.run(request, signal);
      if (result === null) return;
      await this.#events.recorded(request, result);
      await this.#events.event(resultEvent(request, result));
    } catch (err) {
      await this.#events.event({
        reason: 'SmokeError',
        color: request.color,
        message: `smoke test of ${request.tag} could not run or be recorded: ${(err as Error).message}`,
        data: { tag: request.tag },
      });
    } finally {
      this.#inFlight.delete(request.tag);
      if (!this.#closed) this.#events.finished();
    }
  }
}

/**
 * A smoke run of what serves already (a first deploy, a run again, a restart that lost the result):
 * its result goes onto the open ledger entry. A switch after a run writes it with the new entry.
 */
export async function smokeOnLedger(
  store: Pick<Store, 'openDeployments' | 'recordGate'>,
  { tag, color }: SmokeRequest,
  result: SmokeResult,
): Promise<void> {
  const entry = (await store.openDeployments()).find((d) => d.color === color && d.tag === tag);
  if (entry) await store.recordGate(entry.id, { gate: smokeGateResult(result) });
}

/** SmokePassed or SmokeFailed, with the facts a notification quotes (notify/triggers.ts). */
function resultEvent({ tag, color }: SmokeRequest, result: SmokeResult): NewEvent {
  const logCommand = smokeLogCommand(tag);
  return {
    reason: result.passed ? 'SmokePassed' : 'SmokeFailed',
    color,
    message: result.passed
      ? `smoke test of ${tag} against ${color} passed (${result.summary})`
      : `smoke test of ${tag} against ${color} failed: ${result.summary}; ` +
        `traffic will not move to it (log: ${logCommand})`,
    data: {
      tag,
      step: 'smoke',
      passed: result.passed,
      verdict: result.summary,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
      logCommand,
    },
  };
}
