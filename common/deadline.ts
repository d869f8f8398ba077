// A deadline for one piece of work, optionally cut short by a parent signal (the daemon stopping,
// a client going away).
//
// Why not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: on Node 20 the timeout signal inside
// `any()` is held only weakly, so after a garbage collection it never fires, and a fetch given the
// combined signal waits for as long as the peer stalls (measured on Node 20.20 with --expose-gc: a
// 300 ms deadline still waiting after 3 s; test/deadline.test.ts keeps that case). A controller and
// a timer that this module holds fire whatever the collector does.

export interface Deadline {
  /**
   * Aborts when the deadline passes (reason: a `TimeoutError` DOMException, as `AbortSignal.timeout`
   * gives) or when the parent aborts (the parent's reason), whichever comes first.
   */
  readonly signal: AbortSignal;
  /** Stops the timer and lets go of the parent: call it when the work ends, however it ends. */
  dispose(): void;
}

export function startDeadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  const onParent = (): void => controller.abort(parent?.reason);
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')),
    Math.max(0, ms),
  );
  // The deadline bounds work that holds the process open anyway; it must not hold it open itself.
  timer.unref();
  const dispose = (): void => {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onParent);
  };
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  controller.signal.addEventListener('abort', dispose, { once: true });
  return { signal: controller.signal, dispose };
}

/** Runs `work` under a deadline and disposes of it when the work ends. */
export async function withDeadline<T>(
  ms: number,
  parent: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = startDeadline(ms, parent);
  try {
    return await work(deadline.signal);
  } finally {
    deadline.dispose();
  }
}
