// Who is told when something in the loop ended (a pass, a build). Listeners are told, never waited
// on: a slow or failing one must not hold up the loop, so a throw is logged and the next is told.

export class Listeners<A extends unknown[]> {
  readonly #listeners = new Set<(...args: A) => void>();

  /** Returns the unsubscribe. */
  add(listener: (...args: A) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  tell(...args: A): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(...args);
      } catch (err) {
        console.error(`hypervisor: a reconciler listener failed: ${(err as Error).message}`);
      }
    }
  }
}
