// What a store knows of its own integrity, and who wants to hear when that changes (the daemon puts
// it in status). Once damaged, a store stays damaged until it is repaired and opened again: a
// write that half-succeeds on a damaged file is worse than a clear refusal.
import type { StoreHealth } from '../common/types.js';

export type HealthListener = (health: StoreHealth) => void;

export class HealthState {
  #health: StoreHealth;
  readonly #listeners = new Set<HealthListener>();

  constructor(detail: string) {
    this.#health = { state: 'ok', detail };
  }

  get(): StoreHealth {
    return this.#health;
  }

  ok(detail: string): void {
    this.#set({ state: 'ok', detail });
  }

  /** The first damage found is the one reported; later finds are usually the same fault seen again. */
  damaged(detail: string, fix: string): void {
    if (this.#health.state === 'damaged') return;
    this.#set({ state: 'damaged', detail, fix });
  }

  onChange(listener: HealthListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #set(health: StoreHealth): void {
    this.#health = health;
    for (const listener of [...this.#listeners]) listener(health);
  }
}
