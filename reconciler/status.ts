// The status the reconciler reports (its shape is common/status.ts): Flux-style, apart from the spec.
// Written on every exit of a pass, including a failed one, so an operator always sees what the loop
// last concluded and why.
import type { ColorReport, Condition, ReconcilerStatus } from '../common/status.js';
import type { Color, DesiredDoc } from '../common/types.js';
import type { ActionOutcome } from './act.js';
import type { Observed, Plan } from './types.js';

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
