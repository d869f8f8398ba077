// A clock and timers that move only when a test moves them: the loop's `now` and `timer` options
// (reconciler/loop.ts) take these, so a test of requeues or durations never sleeps.
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
    const timer = { due: this.#now + ms, fire };
    this.#timers.push(timer);
    return () => void (this.#timers = this.#timers.filter((t) => t !== timer));
  };

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
    for (;;) {
      const next = this.#timers.filter((t) => t.due <= until).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.due;
      next.fire();
    }
    this.#now = until;
  }
}
