// The one policy for writing events (the loop's, the desired-state sources', the notifier's): best
// effort. An event explains a change; it is never the change itself, so a store that cannot take an
// event must not abort a pass, fail an action that succeeded, or turn a build's result into an error.
// A failed write is logged once, with its cause, when the trouble starts; while it lasts the lost
// events are only counted, and the first write that works again says how many were lost. The log
// never fills with one line per event. (The API's audit lines are another matter: a change is
// stored with its event or not at all, api/audit.ts.)
import type { NewEvent } from '../common/types.js';
import type { Store } from './store.js';

export class EventLog {
  readonly #store: Pick<Store, 'appendEvent'>;
  readonly #actor: string | undefined;
  readonly #log: (line: string) => void;
  /** Events lost since the current trouble began; null while writes work. */
  #lost: number | null = null;

  /**
   * `actor` is written on events that name none (the component that writes them); `log` gets the
   * one line per trouble. @default log console.error
   */
  constructor(store: Pick<Store, 'appendEvent'>, actor?: string, log: (line: string) => void = console.error) {
    this.#store = store;
    this.#actor = actor;
    this.#log = log;
  }

  /** Writes the event; never rejects. Awaiting it keeps the trail in the order things happened. */
  async record(event: NewEvent): Promise<void> {
    try {
      await this.#store.appendEvent(this.#actor === undefined ? event : { actor: this.#actor, ...event });
    } catch (err) {
      this.#failed(event, err);
      return;
    }
    if (this.#lost !== null) {
      this.#log(`hypervisor: events are recorded again (${this.#lost} lost while the store refused them)`);
      this.#lost = null;
    }
  }

  #failed(event: NewEvent, err: unknown): void {
    if (this.#lost === null) {
      const cause = err instanceof Error ? err.message : String(err);
      this.#log(
        `hypervisor: cannot record event ${event.reason} (${cause}); the loop goes on, ` +
          'and further events are lost until the store takes them again',
      );
      this.#lost = 0;
    }
    this.#lost += 1;
  }
}
