// Failed logins per account name (known or not: counting only real accounts would tell an
// attacker which names exist). After `threshold` failures in a row the name is locked for `base`;
// every further failure once the lock ends locks it again for twice as long, up to `max`. A good
// login clears the name. The counts live in the store, so a restart forgives nothing; a name idle
// for longer than `max` is forgotten there, which bounds the damage of a lock an attacker puts on
// an operator's account.
import type { LoginLockoutRecord, NewEvent } from '../../common/types.js';
import type { Store } from '../../store/store.js';

export interface LockoutSettings {
  threshold: number;
  baseMs: number;
  maxMs: number;
}

export type LockoutStore = Pick<Store, 'getLoginLockout' | 'updateLoginLockout'>;

export interface LockoutOptions {
  /** The clock locks are measured with (tests pass a fake one). @default Date.now */
  now?: () => number;
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
const OPEN: LockState = { locked: false, retryAfterMs: 0 };

export class LoginLockout {
  readonly #settings: LockoutSettings;
  readonly #store: LockoutStore;
  readonly #now: () => number;
  /** Attempts of this process whose outcome is not known yet, per name. */
  readonly #pending = new Map<string, number>();
  /** Per name, the tail of a chain that runs reserve and fail one at a time (see #serial). */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(settings: LockoutSettings, store: LockoutStore, options: LockoutOptions = {}) {
    if (!Number.isInteger(settings.threshold) || settings.threshold < 1)
      throw new RangeError(`threshold must be a positive integer, got ${settings.threshold}`);
    if (!(settings.baseMs > 0) || !(settings.maxMs >= settings.baseMs))
      throw new RangeError(`need 0 < baseMs <= maxMs, got ${settings.baseMs} and ${settings.maxMs}`);
    this.#settings = { ...settings };
    this.#store = store;
    this.#now = options.now ?? Date.now;
  }

  async check(name: string): Promise<LockState> {
    return lockState(await this.#store.getLoginLockout(name), this.#now());
  }

  /**
   * Takes a slot for one attempt, or says why not. Attempts in progress count toward the threshold,
   * so concurrent guesses cannot all pass the check before any of them has failed. Call `release`
   * once the attempt's outcome is recorded (after `fail` or `succeed`).
   */
  reserve(name: string): Promise<LockState> {
    return this.#serial(name, async () => {
      const record = await this.#store.getLoginLockout(name);
      const state = lockState(record, this.#now());
      if (state.locked) return state;
      // Once a lock has ended, one attempt at a time: its failure locks the name again.
      const allowed = Math.max(1, this.#settings.threshold - (record?.failures ?? 0));
      const pending = this.#pending.get(name) ?? 0;
      if (pending >= allowed) return { locked: true, retryAfterMs: BUSY_RETRY_MS };
      this.#pending.set(name, pending + 1);
      return OPEN;
    });
  }

  release(name: string): void {
    const pending = (this.#pending.get(name) ?? 0) - 1;
    if (pending > 0) this.#pending.set(name, pending);
    else this.#pending.delete(name);
  }

  /** Counts a failure; `events` are stored with it, in one write. */
  fail(name: string, events: (outcome: FailureOutcome) => readonly NewEvent[] = () => []): Promise<FailureOutcome> {
    return this.#serial(name, async () => {
      let outcome: FailureOutcome = { failures: 0, lockedForMs: null };
      await this.#store.updateLoginLockout(
        name,
        (current) => {
          const next = this.#failed(name, current, this.#now());
          outcome = next.outcome;
          return next.record;
        },
        () => events(outcome),
      );
      return outcome;
    });
  }

  /** Clears the name; most logins have nothing to clear, and write nothing then. */
  async succeed(name: string): Promise<void> {
    if ((await this.#store.getLoginLockout(name)) !== null) await this.#store.updateLoginLockout(name, () => null);
  }

  /** Pure: the store may run it again when another host wrote the same name at the same moment. */
  #failed(
    name: string,
    current: LoginLockoutRecord | null,
    now: number,
  ): { record: LoginLockoutRecord; outcome: FailureOutcome } {
    const failures = (current?.failures ?? 0) + 1;
    let locks = current?.locks ?? 0;
    let lockedUntil = current ? Date.parse(current.lockedUntil) : 0;
    let lockedForMs: number | null = null;
    if (failures >= this.#settings.threshold) {
      lockedForMs = Math.min(this.#settings.maxMs, this.#settings.baseMs * 2 ** Math.min(locks, 30));
      locks += 1;
      lockedUntil = now + lockedForMs;
    }
    const record: LoginLockoutRecord = {
      name,
      failures,
      locks,
      lockedUntil: new Date(lockedUntil).toISOString(),
      lastFailureAt: new Date(now).toISOString(),
      // Idle for longer than the longest lock: old failures stop counting.
      expiresAt: new Date(Math.max(now, lockedUntil) + this.#settings.maxMs).toISOString(),
    };
    return { record, outcome: { failures, lockedForMs } };
  }

  /**
   * Runs the reservations and failures of one name one after the other in this process, so a
   * reservation never reads the stored count between a failure's write and its release.
   */
  #serial<T>(name: string, step: () => Promise<T>): Promise<T> {
    const run = (this.#chains.get(name) ?? Promise.resolve()).then(step, step);
    const tail = run.catch(() => undefined);
    this.#chains.set(name, tail);
    void tail.then(() => {
      if (this.#chains.get(name) === tail) this.#chains.delete(name);
    });
    return run;
  }
}

function lockState(record: LoginLockoutRecord | null, now: number): LockState {
  const remaining = record ? Date.parse(record.lockedUntil) - now : 0;
  return remaining > 0 ? { locked: true, retryAfterMs: remaining } : OPEN;
}
