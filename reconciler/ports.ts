// What the reconciler needs from the proxy and the build pipeline, stated as small ports so the
// loop can be composed (and its pieces replaced) in the daemon's one composition root.
import type { Color, ReleaseRecord } from '../common/types.js';

export interface RouteTarget {
  color: Color;
  port: number;
}

/** Public traffic goes to `to` because `from`, the active color, is out of routing (`why`). */
export interface Failover {
  from: Color;
  to: Color;
  why: string;
}

export interface TrafficRouter {
  /** The color public traffic is assigned to (the last route), or null when none is. */
  activeColor(): Color | null;
  previewColor(): Color | null;
  /**
   * New requests go to the new targets; requests in flight finish where they started. Resolves
   * when the targets it replaced are drained (bounded by the drain timeout).
   */
  route(active: RouteTarget | null, preview: RouteTarget | null): Promise<unknown>;
  /** Where new public requests go now: the active color, or the preview one while the active is out. */
  servingColor(): Color | null;
  /** The data plane's own verdict: `color` stopped answering, its public requests go elsewhere if they can. */
  takeOut(color: Color, why: string): void;
  /** `color` answers again and takes its public requests back. */
  putBack(color: Color): void;
  /** Why `color` is out of routing, or null while it is in. */
  outOfRouting(color: Color): string | null;
  /** Told of every change of the failover, synchronously; returns an unsubscribe. */
  onFailover(listener: (now: Failover | null, before: Failover | null) => void): () => void;
  /** Gives `canary.color` `weight` per cent of the public clients (sticky); null: all to the active color. */
  setCanary(canary: (RouteTarget & { weight: number }) | null): Promise<unknown>;
  /** The canary's color and share now, or null. */
  canary(): { color: Color; weight: number } | null;
}

/** A target's requests (and websockets) in flight. */
export interface InFlight {
  color: Color;
  inFlight: number;
}

/** The proxy's router as the metrics read it: what runs on each target, draining ones included. */
export interface TargetsInFlight {
  snapshot(): { active: InFlight | null; preview: InFlight | null; draining: readonly InFlight[] };
}

export interface ReleaseBuilder {
  /** Builds and tests one tag; resolves with the final release record, never leaves it mid-way. */
  run(tag: string, signal: AbortSignal): Promise<ReleaseRecord>;
}

/** What builds of an earlier daemon (killed mid-build) left on the host, and what clearing it found. */
export interface LeftoversCleared {
  /** Tags whose scripts were still running. */
  tags: string[];
  /** git processes that were still working in the mirror or a checkout. */
  gitProcesses: number;
  /** Temporary build folders removed. */
  tempFolders: string[];
}

export interface BuildLeftovers {
  /** Ends leftover processes and removes leftover folders; runs once, when the daemon starts. */
  clearLeftovers(): Promise<LeftoversCleared>;
  /** The folders builds write to that are on a full file system, with the fix; null when there is room. */
  fullDisk(): Promise<string | null>;
}
