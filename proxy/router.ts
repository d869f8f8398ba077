// Which backend each listener sends new requests to. A switch is one assignment: requests that
// already picked a target keep it until they end, and the old target is drained with its own
// deadline. The preview slot holds the other color exactly when it is Ready, which makes it the
// failover target for public requests the active color refuses. The proxy never stops a backend;
// the reconciler owns the units.
import type { Color } from '../common/types.js';
import { BackendPools } from './pools.js';
import { checkTarget, checkTargetOptions, positive, Target, type DrainResult, type TargetOptions } from './target.js';

/** `active` takes public traffic; `preview` is served on the second listener (the inactive color). */
export type Slot = 'active' | 'preview';

export interface RouteTarget {
  color: Color;
  port: number;
}

export interface RouterOptions extends TargetOptions {
  /** How long a replaced target may finish its requests before its pool is closed. @default 30000 */
  drainTimeoutMs?: number;
}

/** A request's hold on the target it started with; `release` when the response is over. */
export interface Lease {
  readonly target: Target;
  release(): void;
}

export interface TargetView {
  color: Color;
  port: number;
  inFlight: number;
}

export interface RouterSnapshot {
  active: TargetView | null;
  preview: TargetView | null;
  draining: TargetView[];
}

export class Router {
  readonly #pools: BackendPools;
  readonly #responseTimeoutMs: number;
  readonly #drainTimeoutMs: number;
  #slots: Record<Slot, Target | null> = { active: null, preview: null };
  #draining = new Set<Target>();
  #hold: Promise<void> | null = null;

  constructor(options: RouterOptions = {}) {
    const { drainTimeoutMs = 30_000, ...targetOptions } = options;
    positive('drainTimeoutMs', drainTimeoutMs);
    // Checked here so a bad pool option fails at start, not at the first switch.
    const checked = checkTargetOptions(targetOptions);
    this.#pools = new BackendPools(checked);
    this.#responseTimeoutMs = checked.responseTimeoutMs;
    this.#drainTimeoutMs = drainTimeoutMs;
  }

  get active(): Target | null {
    return this.#slots.active;
  }

  get preview(): Target | null {
    return this.#slots.preview;
  }

  activeColor(): Color | null {
    return this.#slots.active?.color ?? null;
  }

  previewColor(): Color | null {
    return this.#slots.preview?.color ?? null;
  }

  /**
   * Sends new public requests to `color` on `port` (or nowhere, with `null`). Resolves when the
   * replaced target is drained (null when nothing was replaced); the swap itself is immediate.
   */
  setActive(color: Color, port: number): Promise<DrainResult | null>;
  setActive(color: null): Promise<DrainResult | null>;
  setActive(color: Color | null, port?: number): Promise<DrainResult | null> {
    return this.#set('active', color, port);
  }

  /** Same as setActive, for the preview listener. */
  setPreview(color: Color, port: number): Promise<DrainResult | null>;
  setPreview(color: null): Promise<DrainResult | null>;
  setPreview(color: Color | null, port?: number): Promise<DrainResult | null> {
    return this.#set('preview', color, port);
  }

  /** Both slots at once (the reconciler's TrafficRouter port). Both are checked before either moves. */
  route(active: RouteTarget | null, preview: RouteTarget | null): Promise<(DrainResult | null)[]> {
    if (active) checkTarget(active.color, active.port);
    if (preview) checkTarget(preview.color, preview.port);
    return Promise.all([
      this.#set('active', active?.color ?? null, active?.port),
      this.#set('preview', preview?.color ?? null, preview?.port),
    ]);
  }

  /**
   * Until `decided` settles (at most `maxMs`), a request that finds no target waits for it instead
   * of getting 503 at once: a starting daemon has not routed yet, and the color it is about to route
   * to may well be Ready.
   */
  holdUntil(decided: Promise<unknown>, maxMs: number): void {
    positive('maxMs', maxMs);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs).unref()));
    const hold: Promise<void> = Promise.race([
      decided.then(
        () => undefined,
        () => undefined,
      ),
      deadline,
    ]).then(() => {
      clearTimeout(timer);
      if (this.#hold === hold) this.#hold = null;
    });
    this.#hold = hold;
  }

  /** What a request that finds no target waits for first; null when it gets 503 at once. */
  get holding(): Promise<void> | null {
    return this.#hold;
  }

  /** Picks the slot's current target and counts the request on it, in one synchronous step. */
  lease(slot: Slot): Lease | null {
    const target = this.#slots[slot];
    if (!target) return null;
    return { target, release: target.acquire() };
  }

  /**
   * For a public request `failed` refused: a lease on the other color, which the preview slot holds
   * exactly when it is Ready. Null when there is none (or it is the color that failed).
   */
  failoverLease(failed: Target): Lease | null {
    const other = this.#slots.preview;
    if (!other || other.color === failed.color) return null;
    return { target: other, release: other.acquire() };
  }

  snapshot(): RouterSnapshot {
    const view = (t: Target): TargetView => ({ color: t.color, port: t.port, inFlight: t.inFlight });
    return {
      active: this.#slots.active ? view(this.#slots.active) : null,
      preview: this.#slots.preview ? view(this.#slots.preview) : null,
      draining: [...this.#draining].map(view),
    };
  }

  /** Shutdown: routes nothing, drains every target up to the deadline, then aborts what is left. */
  async close(timeoutMs: number): Promise<DrainResult[]> {
    positive('timeoutMs', timeoutMs);
    const all = [this.#slots.active, this.#slots.preview, ...this.#draining].filter((t) => t !== null);
    this.#slots = { active: null, preview: null };
    const results = await Promise.all(all.map((t) => t.drain(timeoutMs)));
    await Promise.all(all.filter((t) => t.inFlight > 0).map((t) => t.destroy()));
    return results;
  }

  #set(slot: Slot, color: Color | null, port: number | undefined): Promise<DrainResult | null> {
    if (color !== null) checkTarget(color, port);
    const old = this.#slots[slot];
    if (color === null ? old === null : old?.matches(color, port as number)) return Promise.resolve(null);
    this.#slots[slot] = color === null ? null : new Target(color, port as number, this.#pools, this.#responseTimeoutMs);
    return old ? this.#retire(old) : Promise.resolve(null);
  }

  async #retire(target: Target): Promise<DrainResult> {
    this.#draining.add(target);
    try {
      return await target.drain(this.#drainTimeoutMs);
    } finally {
      this.#draining.delete(target);
    }
  }
}
