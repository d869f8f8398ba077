// Holds the status the API serves, between the pass that writes it and the sources and store that
// report into it. Every change goes through the one pure function (status.ts), stamped with the
// loop's clock.
import type { ReconcilerStatus } from '../common/status.js';
import { initialStatus, nextStatus, type StatusChange } from './status.js';

export class StatusBoard {
  readonly #now: () => number;
  #status: ReconcilerStatus = initialStatus();

  /** @default now Date.now */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  current(): ReconcilerStatus {
    return this.#status;
  }

  apply(change: StatusChange): ReconcilerStatus {
    this.#status = nextStatus(this.#status, change, new Date(this.#now()).toISOString());
    return this.#status;
  }
}
