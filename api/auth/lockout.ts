// Failed logins per account name (known or not: counting only real accounts would tell an
// attacker which names exist). After `threshold` failures in a row the name is locked for `base`;
// every further failure once the lock ends locks it again for twice as long, up to `max`. A good
// login clears the name. Kept in memory: a restart forgives, which bounds the damage of a lock
// an attacker puts on an operator's account.

export interface LockoutSettings {
  threshold: number;
  baseMs: number;
  maxMs: number;
  /** Names remembered at most; the oldest is forgotten first. @default 10000 */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  /** Locks so far; the next lasts base * 2^locks. */
  locks: number;
  lockedUntil: number;
  lastFailureAt: number;
}

export interface LockState {
  locked: boolean;
  retryAfterMs: number;
}

/** What a failure did: whether it started a lock, and for how long. */
export interface FailureOutcome {
  failures: number;
  lockedForMs: number | null;
}

/** Retry-After for an attempt refused because the attempts in progress may still lock the name. */
const BUSY_RETRY_MS = 1000;

export class LoginLockout {
  readonly #settings: Required<LockoutSettings>;
  readonly #entries = new Map<string, Entry>();
  /** Attempts past `reserve` whose outcome is not known yet, per name. */
  readonly #pending = new Map<string, number>();

  constructor(settings: LockoutSettings) {
    if (!Number.isInteger(settings.threshold) || settings.threshold < 1)
      throw new RangeError(`threshold must be a positive integer, got ${settings.threshold}`);
    if (!(settings.baseMs > 0) || !(settings.maxMs >= settings.baseMs))
      throw new RangeError(`need 0 < baseMs <= maxMs, got ${settings.baseMs} and ${settings.maxMs}`);
    this.#settings = { maxEntries: 10_000, now: Date.now, ...settings };
  }

  check(name: string): LockState {
    const entry = this.#live(name);
    const remaining = entry ? entry.lockedUntil - this.#settings.now() : 0;
    return remaining > 0 ? { locked: true, retryAfterMs: remaining } : { locked: false, retryAfterMs: 0 };
  }

  /**
   * Takes a slot for one attempt, or says why not. Attempts in progress count toward the threshold,
   * so concurrent guesses cannot all pass the check before any of them has failed. Call `release`
   * once the attempt's outcome is known (before `fail` or `succeed`).
   */
  reserve(name: string): LockState {
    const state = this.check(name);
    if (state.locked) return state;
    const entry = this.#live(name);
    // Once a lock has ended, one attempt at a time: its failure locks the name again.
    const allowed = Math.max(1, this.#settings.threshold - (entry?.failures ?? 0));
    const pending = this.#pending.get(name) ?? 0;
    if (pending >= allowed) return { locked: true, retryAfterMs: BUSY_RETRY_MS };
    this.#pending.set(name, pending + 1);
    return state;
  }

  release(name: string): void {
    const pending = (this.#pending.get(name) ?? 0) - 1;
    if (pending > 0) this.#pending.set(name, pending);
    else this.#pending.delete(name);
  }

  fail(name: string): FailureOutcome {
    const now = this.#settings.now();
    const entry = this.#live(name) ?? { failures: 0, locks: 0, lockedUntil: 0, lastFailureAt: now };
    entry.failures += 1;
    entry.lastFailureAt = now;
    let lockedForMs: number | null = null;
    if (entry.failures >= this.#settings.threshold) {
      lockedForMs = Math.min(this.#settings.maxMs, this.#settings.baseMs * 2 ** Math.min(entry.locks, 30));
      entry.locks += 1;
      entry.lockedUntil = now + lockedForMs;
    }
    this.#remember(name, entry);
    return { failures: entry.failures, lockedForMs };
  }

  succeed(name: string): void {
    this.#entries.delete(name);
  }

  /** An entry idle for longer than the longest lock is forgotten, so old failures stop counting. */
  #live(name: string): Entry | undefined {
    const entry = this.#entries.get(name);
    if (entry && this.#settings.now() - Math.max(entry.lastFailureAt, entry.lockedUntil) > this.#settings.maxMs) {
      this.#entries.delete(name);
      return undefined;
    }
    return entry;
  }

  #remember(name: string, entry: Entry): void {
    this.#entries.delete(name);
    this.#entries.set(name, entry);
    while (this.#entries.size > this.#settings.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}
