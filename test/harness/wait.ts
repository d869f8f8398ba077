// Polling with a deadline for tests: observe state until it holds, never a blind sleep.
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** @default 15_000 */
  timeoutMs?: number;
  /** @default 50 */
  intervalMs?: number;
  /** Says what was awaited, for the failure message. */
  what: string;
}

/** Calls `probe` until `accept` holds for its value; on timeout the error shows the last value seen. */
export async function waitUntil<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  let last = 'never probed';
  while (!deadline.aborted) {
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = JSON.stringify(value);
    } catch (err) {
      last = (err as Error).message;
    }
    await delay(options.intervalMs ?? 50);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${options.what}; last: ${last}`);
}

/**
 * Calls `probe` until it returns something other than null/undefined and returns that value:
 * the form for probes that compute their answer (e.g. "the status once blue is Ready").
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const value = await waitUntil(probe, (v) => v !== null && v !== undefined, { what, timeoutMs });
  return value as T;
}

/** Waits until a condition over in-process state holds (a counter, a flag), checked every 10 ms. */
export async function waitForCondition(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  await waitUntil(
    async () => condition(),
    (held) => held,
    { what, timeoutMs, intervalMs: 10 },
  );
}
