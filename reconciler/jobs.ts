// Builds run as jobs in their own queue so a reconcile pass never waits on one. A job in flight is
// part of the observed state (plan() must not queue the same tag twice); when it ends the loop is
// woken up to look at the result.
import PQueue from 'p-queue';
import type { ReleaseStatus } from '../common/types.js';
import { failedStep, type PipelineStep } from './pipeline/failed-step.js';
import type { ReleaseBuilder } from './ports.js';

/**
 * How a build job ended: the status of the release it left, why (a builder that threw: failed), and
 * the step it failed at (null: it did not fail there).
 */
export interface JobOutcome {
  status: ReleaseStatus;
  error: string | null;
  step: PipelineStep | null;
}

export interface JobEvents {
  started(tag: string): void;
  finished(tag: string, outcome: JobOutcome): void;
}

export class BuildJobs {
  readonly #queue: PQueue;
  readonly #builder: ReleaseBuilder;
  readonly #events: JobEvents;
  readonly #inFlight = new Map<string, AbortController>();
  #closed = false;

  constructor(builder: ReleaseBuilder, events: JobEvents, concurrency = 1) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new TypeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    this.#builder = builder;
    this.#events = events;
    this.#queue = new PQueue({ concurrency });
  }

  /** Tags queued or running. */
  tags(): ReadonlySet<string> {
    return new Set(this.#inFlight.keys());
  }

  /** Whether a build of `tag` is queued or running. */
  has(tag: string): boolean {
    return this.#inFlight.has(tag);
  }

  /** Queues a build of `tag` unless one is queued or running; returns whether it was queued. */
  enqueue(tag: string): boolean {
    // After close() a pass still finishing must not start a script that would outlive the daemon.
    if (this.#closed || this.#inFlight.has(tag)) return false;
    const controller = new AbortController();
    this.#inFlight.set(tag, controller);
    void this.#queue.add(() => this.#run(tag, controller.signal));
    return true;
  }

  cancel(tag: string): boolean {
    const controller = this.#inFlight.get(tag);
    controller?.abort(new Error(`build of ${tag} cancelled`));
    return controller !== undefined;
  }

  /** Cancels every job and waits until none runs. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const controller of this.#inFlight.values()) controller.abort(new Error('hypervisor is stopping'));
    this.#queue.clear();
    await this.#queue.onIdle();
  }

  async #run(tag: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) {
      this.#inFlight.delete(tag);
      return;
    }
    this.#events.started(tag);
    let outcome: JobOutcome;
    try {
      const record = await this.#builder.run(tag, signal);
      outcome = { status: record.status, error: record.error, step: failedStep(record) };
    } catch (err) {
      outcome = { status: 'failed', error: (err as Error).message, step: null };
    } finally {
      this.#inFlight.delete(tag);
    }
    this.#events.finished(tag, outcome);
  }
}
