// The status the reconciler reports, as the API serves it and the CLIs read it: the shape alone,
// shared by the room that makes it (reconciler/status.ts) and those that pass it on (api/, cli/).
import type { Color, DesiredDoc, Phase } from './types.js';
import type { UnitState } from './unit-state.js';

export type ConditionType = 'Ready' | 'Reconciling' | 'DesiredSourceValid' | 'StoreHealthy' | 'Archived' | 'DiskSpace';

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface ColorReport {
  phase: Phase;
  message: string;
  desiredTag: string | null;
  runningTag: string | null;
  port: number;
  unit: UnitState & { mainPid: number | null; nRestarts: number };
  health: { ready: boolean; version: string | null; reason: string } | null;
  /** The smoke gate of the color's desired tag; null when the gate is off or the color is not Ready. */
  smoke: SmokeReport | null;
}

/**
 * Where the smoke gate of a Ready color stands: `queued` or `running` (the phase is Verifying), then
 * `passed` or `failed` (the color stays Ready, but a failed one is not promotable).
 */
export interface SmokeReport {
  state: 'queued' | 'running' | 'passed' | 'failed';
  message: string;
  /** The hyper-cli command that shows its log, once it has one. */
  logCommand: string | null;
}

/** One action of the last pass: done, failed (why), or skipped because an earlier one failed (why). */
export type ActionSummary =
  | { kind: ActionKind; reason: string; result: 'done' }
  | { kind: ActionKind; reason: string; result: 'failed'; error: string }
  | { kind: ActionKind; reason: string; result: 'skipped'; why: string };

/** The kinds of the loop's actions (reconciler/types.ts `Action`). */
export type ActionKind =
  'build' | 'smoke' | 'deploy' | 'start' | 'restart' | 'stop' | 'route' | 'canary' | 'end-canary';

/** A canary rollout under way (gates.canary): who gets what share, at which step. */
export interface CanaryReport {
  /** restored: read back after a restart, resumed by the next pass. promoting: the full switch is next. */
  phase: 'restored' | 'stepping' | 'promoting';
  from: Color | null;
  to: Color;
  tag: string;
  /** Per cent of the clients `to` has now (100 while promoting). */
  weight: number;
  /** 1-based; the full switch is step steps.length + 1. */
  step: number;
  steps: number[];
  /** When this step began (ISO-8601); null unless stepping. */
  stepStartedAt: string | null;
}

export interface ReconcilerStatus {
  /** The desired-state revision the last completed pass acted on. */
  observedRevision: number | null;
  /** The revision the last pass started with, whether it completed or not. */
  lastAttemptedRevision: number | null;
  desired: DesiredDoc | null;
  /** The color public traffic is routed to, and the preview listener's. */
  active: Color | null;
  preview: Color | null;
  /**
   * Where new public requests really go: `active`, or the other color while the proxy has taken
   * `active` out of routing because it stopped answering its probes (a failover, not a switch).
   */
  serving: Color | null;
  /** Per cent of the public clients each color gets now; null when none serves. */
  weights: Record<Color, number> | null;
  /** The canary rollout under way, or null. */
  canary: CanaryReport | null;
  paused: boolean;
  colors: Record<Color, ColorReport> | null;
  waiting: string | null;
  conditions: Condition[];
  lastReconcileAt: string | null;
  lastPass: { durationMs: number; actions: ActionSummary[] } | null;
  builds: string[];
}
