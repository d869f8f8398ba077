// The colors the health watch took out of public routing (they stopped answering their probes), and
// the failover that follows from them: while the active color is out and the preview color is in,
// new public requests go to the preview color. The router owns the slots; this owns the verdicts,
// which target serves given the slots, and telling listeners each time the failover changes.
import { ValidationError } from '../common/errors.js';
import { isColor, type Color } from '../common/types.js';
import type { Target } from './target.js';

/** Public traffic goes to `to` because `from`, the active color, is out of routing (`why`). */
export interface Failover {
  from: Color;
  to: Color;
  why: string;
}

/** Told of every change of the failover: it began (`before` null), ended (`now` null) or moved. */
export type FailoverListener = (now: Failover | null, before: Failover | null) => void;

export class OutOfRouting {
  /** Colors taken out of public routing, with why. */
  readonly #out = new Map<Color, string>();
  #failover: Failover | null = null;
  readonly #listeners = new Set<FailoverListener>();

  /** Marks `color` out; false when it already was (it keeps its first reason). */
  takeOut(color: Color, why: string): boolean {
    if (!isColor(color)) throw new ValidationError('color', `must be blue or green, got ${String(color)}`);
    if (this.#out.has(color)) return false;
    this.#out.set(color, why);
    return true;
  }

  /** Marks `color` in again; false when it was not out. */
  putBack(color: Color): boolean {
    return this.#out.delete(color);
  }

  has(color: Color): boolean {
    return this.#out.has(color);
  }

  /** Why `color` is out of routing, or null while it is in. */
  why(color: Color): string | null {
    return this.#out.get(color) ?? null;
  }

  /** The target of new public requests: the active one unless it is out and the preview one is in. */
  servingTarget(active: Target | null, preview: Target | null): Target | null {
    if (!active || !this.#out.has(active.color)) return active;
    return preview && preview.color !== active.color && !this.#out.has(preview.color) ? preview : active;
  }

  /** The failover in effect, or null when public requests go to the active color. */
  current(): Failover | null {
    return this.#failover;
  }

  onChange(listener: FailoverListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Judges the failover for the slots as they are now, and tells the listeners if it changed. */
  refresh(active: Target | null, preview: Target | null): void {
    const serving = this.servingTarget(active, preview);
    const next =
      active && serving && serving !== active
        ? { from: active.color, to: serving.color, why: this.#out.get(active.color) ?? '' }
        : null;
    const before = this.#failover;
    if (next?.from === before?.from && next?.to === before?.to) return;
    this.#failover = next;
    for (const listener of [...this.#listeners]) {
      // A listener's failure must not undo or block a routing change that already happened.
      try {
        listener(next, before);
      } catch (err) {
        console.error(`hypervisor: a failover listener failed: ${(err as Error).message}`);
      }
    }
  }
}
