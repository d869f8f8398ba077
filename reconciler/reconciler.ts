// The loop's scheduler: one pass at a time (p-queue, concurrency 1), the triggers that arrive while
// a pass waits to run coalesced into that pass, and a requeue after the interval so the world is
// read again even when nothing wakes the loop. What a pass does is not its business (pass.ts), and
// it never asks what triggered one (controller-runtime's rule: reconcile by level, not by event).
import PQueue from 'p-queue';

/** Starts a one-shot timer and returns its cancel. Injected, so a test moves time itself. */
export type SetTimer = (fire: () => void, ms: number) => () => void;

/** Node's timer, unref'd: a pending requeue never keeps the process alive. */
export const nodeTimer: SetTimer = (fire, ms) => {
  const timer = setTimeout(fire, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

export interface ReconcilerOptions<R> {
  /** One pass; it reports its own failure in its result (a rejection is passed on to the callers). */
  pass(): Promise<R>;
  /** The next pass starts this long after the last one ended, unless a trigger came first. */
  requeueMs: number;
  /** What trigger() answers once closed, when no pass runs any more. */
  closed(): R;
  /** @default nodeTimer */
  timer?: SetTimer;
}

export class Reconciler<R> {
  readonly #options: ReconcilerOptions<R>;
  readonly #timer: SetTimer;
  readonly #queue = new PQueue({ concurrency: 1 });
  /** The pass queued behind the running one, not started yet: the one later triggers share. */
  #waiting: Promise<R> | null = null;
  #cancelRequeue: (() => void) | null = null;
  #closed = false;

  constructor(options: ReconcilerOptions<R>) {
    if (!Number.isFinite(options.requeueMs) || options.requeueMs <= 0)
      throw new RangeError(`requeueMs must be a positive number, got ${options.requeueMs}`);
    this.#options = options;
    this.#timer = options.timer ?? nodeTimer;
  }

  /**
   * Wakes the loop. Triggers that arrive while a pass is waiting to run share that pass; one that
   * arrives after a pass started gets the next one, since the running pass may have read the world
   * before the change it announces.
   */
  trigger(): Promise<R> {
    if (this.#closed) return Promise.resolve(this.#options.closed());
    if (this.#waiting) return this.#waiting;
    // p-queue may start the task inside add(): only a pass that has not started yet is shareable.
    const state = { started: false };
    const pass = this.#queue.add(
      () => {
        state.started = true;
        this.#waiting = null;
        return this.#run();
      },
      { throwOnTimeout: true },
    ) as Promise<R>;
    if (!state.started) this.#waiting = pass;
    return pass;
  }

  /** Runs `work` in the pass queue, so it never overlaps a pass (a plan preview observes there). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.#queue.add(work, { throwOnTimeout: true }) as Promise<T>;
  }

  /** No new pass and no requeue from now on; resolves once the pass under way (if any) ended. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelRequeue?.();
    this.#cancelRequeue = null;
    await this.#queue.onIdle();
  }

  async #run(): Promise<R> {
    try {
      return await this.#options.pass();
    } finally {
      this.#requeue();
    }
  }

  #requeue(): void {
    if (this.#closed) return;
    this.#cancelRequeue?.();
    this.#cancelRequeue = this.#timer(() => {
      this.#cancelRequeue = null;
      void this.trigger();
    }, this.#options.requeueMs);
  }
}
