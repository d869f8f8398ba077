// What the reconciler reads (observed state), decides (actions) and reports (status).
import type { SmokeReport } from '../common/status.js';
import type { Color, DesiredDoc, Phase, ReleaseRecord } from '../common/types.js';
import type { UnitObservation, UnitSpec } from '../units/driver.js';
import type { CanaryState } from './canary.js';

export interface HealthObservation {
  ready: boolean;
  version: string | null;
  reason: string;
}

/** One color as it really is, read again at the start of every pass. */
export interface ColorObservation {
  unit: UnitObservation;
  /** Null when the unit is not running, so nothing was probed. */
  health: HealthObservation | null;
  /** Failed probes in a row while the unit was active (reset by a Ready probe or a new MainPID). */
  consecutiveFailures: number;
  /** Whether this MainPID has been Ready at least once. */
  wasReady: boolean;
  /** Milliseconds since the current MainPID was first seen active (0 when not running). */
  runningForMs: number;
  /** Restarts the reconciler itself ordered for this color in a row, and how long ago the last one was. */
  healRestarts: number;
  sinceHealRestartMs: number | null;
}

export interface Observed {
  colors: Record<Color, ColorObservation>;
  /** The color the proxy sends public traffic to right now, and the preview color. */
  routed: Color | null;
  preview: Color | null;
  /**
   * Where new public requests go now: `routed`, or the preview color while the data plane has taken
   * `routed` out of routing (it stopped answering its probes).
   */
  serving: Color | null;
  /** Per color, why the data plane took it out of routing; null while it is in. */
  outOfRouting: Record<Color, string | null>;
  /** Release records of the tags the desired state names. */
  releases: Record<string, ReleaseRecord | undefined>;
  /** Tags whose build/test job is queued or running. */
  jobs: ReadonlySet<string>;
  /** Tags whose smoke gate is queued or running. @default none */
  smokes?: ReadonlySet<string>;
  /** Succeeded releases (of the desired tags) whose artifact is gone from disk. */
  missingArtifacts: ReadonlySet<string>;
  /** The canary rollout under way (reconciler/canary.ts), if any. @default null */
  canary?: CanaryState | null;
}

/** Per-color facts the planner needs from config (expected unit spec, thresholds). */
export interface PlanContext {
  /** The spec a color should run for a succeeded release, or null if the release has no artifact. */
  specFor(color: Color, release: ReleaseRecord): UnitSpec | null;
  failureThreshold: number;
  startTimeoutMs: number;
  /** Whether a Ready color must pass the smoke gate (gates.smoke) before traffic moves to it. @default false */
  smokeGate?: boolean;
  /** Backoff before the n-th self-heal restart in a row (n from 0). */
  healBackoffMs(n: number): number;
  /** gates.canary's steps: a switch moves traffic through them. @default null (a switch moves all at once) */
  canarySteps?: readonly number[] | null;
}

/** What changed behind the hypervisor's back, and the tag the color runs. */
export interface Drift {
  what: string;
  tag: string;
}

/**
 * A closed union: the executor handles each kind in an exhaustive switch. `drift` says what changed
 * on the host behind the hypervisor's back (a unit edited or stopped by hand) when the action
 * undoes it: the event says so, and a `drift_corrected` notification follows.
 */
export type Action =
  | { kind: 'build'; tag: string; reason: string }
  | { kind: 'smoke'; color: Color; tag: string; reason: string }
  | { kind: 'deploy'; color: Color; spec: UnitSpec; reason: string; drift?: Drift }
  | { kind: 'start'; color: Color; reason: string; drift?: Drift }
  | { kind: 'restart'; color: Color; reason: string }
  | { kind: 'stop'; color: Color; reason: string }
  | { kind: 'route'; active: Color | null; preview: Color | null; reason: string }
  | { kind: 'canary'; from: Color; to: Color; tag: string; step: number; reason: string }
  | { kind: 'end-canary'; reason: string };

export interface ColorStatus {
  phase: Phase;
  message: string;
  /** The smoke gate of a Ready color (absent: the gate is off or the color is not Ready). */
  smoke?: SmokeReport;
}

export interface Plan {
  actions: Action[];
  colors: Record<Color, ColorStatus>;
  /** Why traffic is (not) where the desired state wants it; null when it is. */
  waiting: string | null;
}

export interface PlanInput {
  desired: DesiredDoc;
  observed: Observed;
  context: PlanContext;
}
