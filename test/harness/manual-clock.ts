// A clock and timers that move only when a test moves them, so a test of requeues, durations or
// probe cadences never sleeps. The loop's `now` and `timer` options (reconciler/loop.ts) take
// `now` and `timer`; the health watch's WatchClock (reconciler/health-watch.ts) takes the clock
// itself (`now` and `after`). advance() runs each timer due on the way at its own time;
// advanceSettled() also lets the promise chains each timer starts settle before the next one.
import type { SetTimer } from '../../reconciler/reconciler.js';

interface Timer {
  due: number;
  fire: () => void;
}

export class ManualClock {
  #now: number;
  #timers: Timer[] = [];

  constructor(start = Date.UTC(2026, 10, 27, 12, 0, 0)) {
    this.#now = start;
  }

  readonly now = (): number => this.#now;

  readonly timer: SetTimer = (fire, ms) => {
    // A timer set for the past fires at the next advance, never before the present.
    const timer = { due: this.#now + Math.max(0, ms), fire };
    this.#timers.push(timer);
    return () => void (this.#timers = this.#timers.filter((t) => t !== timer));
  };

  /** The WatchClock's one-shot timer: `timer` with its arguments the other way round. */
  readonly after = (ms: number, fire: () => void): (() => void) => this.timer(fire, ms);

  /** The time now as the status writes it. */
  iso(): string {
    return new Date(this.#now).toISOString();
  }

  /** Milliseconds from now until each timer set and neither fired nor cancelled falls due. */
  pending(): number[] {
    return this.#timers.map((t) => t.due - this.#now);
  }

  /** Moves time on by `ms` and fires, in order, each timer that falls due by then. */
  advance(ms: number): void {
    const until = this.#now + ms;
    while (this.#fireNext(until));
    this.#now = until;
  }

  /** advance(), letting the promise chains started by each timer run to their end before the next. */
  async advanceSettled(ms: number): Promise<void> {
    const until = this.#now + ms;
    do await settle();
    while (this.#fireNext(until));
    this.#now = until;
    await settle();
  }

  /** Fires the first timer due by `until` (ties in the order they were set); false when none is. */
  #fireNext(until: number): boolean {
    // sort() is stable: timers due at the same time stay in the order they were set.
    const next = this.#timers.filter((t) => t.due <= until).sort((a, b) => a.due - b.due)[0];
    if (!next) return false;
    this.#timers = this.#timers.filter((t) => t !== next);
    this.#now = next.due;
    next.fire();
    return true;
  }
}

/** Lets every promise chain that waits on nothing but other promises run to its end. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
