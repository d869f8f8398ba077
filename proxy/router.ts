// Which backend each listener sends new requests to. A switch is one assignment: requests that
// already picked a target keep it until they end, and the old target is drained with its own
// deadline. The preview slot holds the other color exactly when it is Ready, which makes it the
// failover target for public requests the active color refuses. A color the health watch took out
// of routing (it stopped answering its probes) sends its new public requests to the preview color
// instead, without changing the assignment: that is the data plane protecting itself, not a
// switch, and it ends by itself when the color is put back. The proxy never stops a backend; the
// reconciler owns the units.
import { ValidationError } from '../common/errors.js';
import type { Color } from '../common/types.js';
import { OutOfRouting, type Failover, type FailoverListener } from './out-of-routing.js';
import { BackendPools } from './pools.js';
import { inCanary } from './sticky.js';
import { checkTarget, checkTargetOptions, positive, Target, type DrainResult, type TargetOptions } from './target.js';

export type { Failover, FailoverListener } from './out-of-routing.js';

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

/** A canary: a second color that takes `weight` per cent of the public clients (proxy/sticky.ts). */
export interface CanaryRoute extends RouteTarget {
  /** Per cent of the clients, more than 0 and less than 100. */
  weight: number;
}

export interface RouterSnapshot {
  active: TargetView | null;
  preview: TargetView | null;
  canary: (TargetView & { weight: number }) | null;
  draining: TargetView[];
}

export class Router {
  readonly #pools: BackendPools;
  readonly #responseTimeoutMs: number;
  readonly #drainTimeoutMs: number;
  #slots: Record<Slot, Target | null> = { active: null, preview: null };
  #canary: { target: Target; weight: number } | null = null;
  #draining = new Set<Target>();
  #hold: Promise<void> | null = null;
  readonly #out = new OutOfRouting();

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

  /** Where new public requests go now: the active color, or the preview one while the active is out. */
  servingColor(): Color | null {
    return this.#publicTarget()?.color ?? null;
  }

  /**
   * Takes `color` out of public routing: while it is the active color and the preview color is in,
   * new public requests go to the preview color. A color already out keeps its first reason.
   */
  takeOut(color: Color, why: string): void {
    if (this.#out.takeOut(color, why)) this.#refreshFailover();
  }

  /** Puts `color` back into routing (it answers again); a color that is in stays so. */
  putBack(color: Color): void {
    if (this.#out.putBack(color)) this.#refreshFailover();
  }

  /** Why `color` is out of routing, or null while it is in. */
  outOfRouting(color: Color): string | null {
    return this.#out.why(color);
  }

  /** The failover in effect now, or null when public requests go to the active color. */
  failover(): Failover | null {
    return this.#out.current();
  }

  /** Calls `listener` on every change of the failover, synchronously; returns an unsubscribe. */
  onFailover(listener: FailoverListener): () => void {
    return this.#out.onChange(listener);
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
    // Both slots move before the failover is judged, so a listener never sees a half-made route.
    const drains = [
      this.#assign('active', active?.color ?? null, active?.port),
      this.#assign('preview', preview?.color ?? null, preview?.port),
    ];
    this.#refreshFailover();
    return Promise.all(drains);
  }

  /**
   * Sends `weight` per cent of the public clients to `canary.color` and the rest to the active color;
   * null ends the split (every client goes to the active color). A new weight for the same color keeps
   * its target, so requests in flight are not drained; another color replaces it and drains the old.
   */
  setCanary(canary: CanaryRoute | null): Promise<DrainResult | null> {
    if (canary !== null) checkCanary(canary);
    const old = this.#canary;
    if (canary !== null && old?.target.matches(canary.color, canary.port)) {
      old.weight = canary.weight;
      return Promise.resolve(null);
    }
    this.#canary =
      canary === null
        ? null
        : {
            target: new Target(canary.color, canary.port, this.#pools, this.#responseTimeoutMs),
            weight: canary.weight,
          };
    return old ? this.#retire(old.target) : Promise.resolve(null);
  }

  /** The canary's color and share, or null when every public client goes to the active color. */
  canary(): { color: Color; weight: number } | null {
    return this.#canary && { color: this.#canary.target.color, weight: this.#canary.weight };
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

  /**
   * Picks the slot's current target and counts the request on it, in one synchronous step. While a
   * canary runs, a public client's `bucket` (proxy/sticky.ts) decides between it and the active color;
   * a canary out of routing sends its share where the rest goes.
   */
  lease(slot: Slot, bucket: number | null = null): Lease | null {
    const canary = slot === 'active' ? this.#canary : null;
    const toCanary =
      canary && bucket !== null && inCanary(bucket, canary.weight) && !this.#out.has(canary.target.color);
    const target = toCanary ? canary.target : slot === 'active' ? this.#publicTarget() : this.#slots.preview;
    if (!target) return null;
    return { target, release: target.acquire() };
  }

  /** Whether public requests are split (and so need the client's bucket). */
  get splitting(): boolean {
    return this.#canary !== null;
  }

  /**
   * For a public request `failed` refused or left unanswered: a lease on the other color, which the
   * preview slot holds exactly when it is Ready (a canary request goes to the active color). Null when
   * there is none, it is the color that failed, or it is out of routing itself.
   */
  failoverLease(failed: Target): Lease | null {
    const other = failed === this.#canary?.target ? this.#slots.active : this.#slots.preview;
    if (!other || other.color === failed.color || this.#out.has(other.color)) return null;
    return { target: other, release: other.acquire() };
  }

  snapshot(): RouterSnapshot {
    const view = (t: Target): TargetView => ({ color: t.color, port: t.port, inFlight: t.inFlight });
    return {
      active: this.#slots.active ? view(this.#slots.active) : null,
      preview: this.#slots.preview ? view(this.#slots.preview) : null,
      canary: this.#canary ? { ...view(this.#canary.target), weight: this.#canary.weight } : null,
      draining: [...this.#draining].map(view),
    };
  }

  /** Shutdown: routes nothing, drains every target up to the deadline, then aborts what is left. */
  async close(timeoutMs: number): Promise<DrainResult[]> {
    positive('timeoutMs', timeoutMs);
    const all = [this.#slots.active, this.#slots.preview, this.#canary?.target ?? null, ...this.#draining].filter(
      (t) => t !== null,
    );
    this.#slots = { active: null, preview: null };
    this.#canary = null;
    const results = await Promise.all(all.map((t) => t.drain(timeoutMs)));
    await Promise.all(all.filter((t) => t.inFlight > 0).map((t) => t.destroy()));
    return results;
  }

  #publicTarget(): Target | null {
    return this.#out.servingTarget(this.#slots.active, this.#slots.preview);
  }

  #refreshFailover(): void {
    this.#out.refresh(this.#slots.active, this.#slots.preview);
  }

  #set(slot: Slot, color: Color | null, port: number | undefined): Promise<DrainResult | null> {
    const drained = this.#assign(slot, color, port);
    this.#refreshFailover();
    return drained;
  }

  #assign(slot: Slot, color: Color | null, port: number | undefined): Promise<DrainResult | null> {
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

function checkCanary(canary: CanaryRoute): void {
  checkTarget(canary.color, canary.port);
  if (!Number.isFinite(canary.weight) || canary.weight <= 0 || canary.weight >= 100) {
    throw new ValidationError('weight', `must be a per cent above 0 and below 100, got ${String(canary.weight)}`);
  }
}
