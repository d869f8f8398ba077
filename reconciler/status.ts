// The status the reconciler reports: Flux-style, apart from the spec. Written on every exit of a
// pass, including a failed one, so an operator always sees what the loop last concluded and why.
import type { Color, DesiredDoc, Phase } from '../common/types.js';
import type { ActionOutcome } from './act.js';
import type { Observed, Plan } from './types.js';

export type ConditionType = 'Ready' | 'Reconciling' | 'DesiredSourceValid' | 'StoreHealthy';

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
  unit: { loadState: string; activeState: string; subState: string; mainPid: number | null; nRestarts: number };
  health: { ready: boolean; version: string | null; reason: string } | null;
}

export interface ReconcilerStatus {
  /** The desired-state revision the last completed pass acted on. */
  observedRevision: number | null;
  /** The revision the last pass started with, whether it completed or not. */
  lastAttemptedRevision: number | null;
  desired: DesiredDoc | null;
  /** Where public traffic goes now, and the preview listener. */
  active: Color | null;
  preview: Color | null;
  paused: boolean;
  colors: Record<Color, ColorReport> | null;
  waiting: string | null;
  conditions: Condition[];
  lastReconcileAt: string | null;
  lastPass: {
    durationMs: number;
    actions: Array<{ kind: string; ok: boolean; reason: string; error: string | null }>;
  } | null;
  builds: string[];
}

export function initialStatus(): ReconcilerStatus {
  return {
    observedRevision: null,
    lastAttemptedRevision: null,
    desired: null,
    active: null,
    preview: null,
    paused: false,
    colors: null,
    waiting: null,
    conditions: [],
    lastReconcileAt: null,
    lastPass: null,
    builds: [],
  };
}

export function colorReports(
  observed: Observed,
  result: Plan,
  desired: DesiredDoc,
  ports: Record<Color, number>,
): Record<Color, ColorReport> {
  const report = (color: Color): ColorReport => {
    const { unit, health } = observed.colors[color];
    return {
      ...result.colors[color],
      desiredTag: desired.colors[color].tag,
      runningTag: unit.installed?.tag ?? null,
      port: ports[color],
      unit: {
        loadState: unit.loadState,
        activeState: unit.activeState,
        subState: unit.subState,
        mainPid: unit.mainPid,
        nRestarts: unit.nRestarts,
      },
      health,
    };
  };
  return { blue: report('blue'), green: report('green') };
}

export function summarizeOutcomes(
  outcomes: readonly ActionOutcome[],
): NonNullable<ReconcilerStatus['lastPass']>['actions'] {
  return outcomes.map(({ action, ok, error }) => ({ kind: action.kind, ok, reason: action.reason, error }));
}

/** Sets a condition, keeping its lastTransitionTime unless its status changed. */
export function setCondition(
  conditions: Condition[],
  next: Omit<Condition, 'lastTransitionTime'>,
  now: string,
): Condition[] {
  const previous = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : now;
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}
