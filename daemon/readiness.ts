// Whether the daemon is ready: every part it starts is up. The public listener comes up first (it
// serves healthz), so until the last part is up healthz answers 503 naming what is not up yet; a
// caller that waits for 200 can then use the admin socket, the API and both proxy listeners at once.
// A stopping daemon is not ready either: its parts go down one by one.

export class Readiness {
  readonly #pending: Set<string>;
  #stopping = false;

  /** `parts` in the order they come up; each is named as not up until `up(part)` is called for it. */
  constructor(parts: readonly string[]) {
    if (parts.length === 0) throw new TypeError('readiness needs at least one part to wait for');
    this.#pending = new Set(parts);
  }

  up(part: string): void {
    if (!this.#pending.delete(part)) throw new TypeError(`readiness does not wait for ${JSON.stringify(part)}`);
  }

  stopping(): void {
    this.#stopping = true;
  }

  /** Null when ready; otherwise why not, for an operator (healthz's 503). */
  notReady(): string | null {
    if (this.#stopping) return 'the daemon is stopping';
    if (this.#pending.size === 0) return null;
    return `the daemon is starting; not up yet: ${[...this.#pending].join(', ')}`;
  }
}
