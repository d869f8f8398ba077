// The status the reconciler reports (its shape is common/status.ts): Flux-style, apart from the spec.
// Written on every exit of a pass, including a failed one, so an operator always sees what the loop
// last concluded and why.
import type { ActionSummary, ColorReport, Condition, ReconcilerStatus } from '../common/status.js';
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
        ...(unit.unrecognized ? { unrecognized: unit.unrecognized } : {}),
        mainPid: unit.mainPid,
        nRestarts: unit.nRestarts,
      },
      health,
    };
  };
  return { blue: report('blue'), green: report('green') };
}

export function summarizeOutcomes(outcomes: readonly ActionOutcome[]): ActionSummary[] {
  return outcomes.map((outcome): ActionSummary => {
    const { kind, reason } = outcome.action;
    switch (outcome.result) {
      case 'done':
        return { kind, reason, result: 'done' };
      case 'failed':
        return { kind, reason, result: 'failed', error: outcome.error };
      case 'skipped':
        return { kind, reason, result: 'skipped', why: outcome.why };
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${JSON.stringify(never)}`);
      }
    }
  });
}

/** What a completed pass saw, planned and did: everything its status is made of. */
export interface PassFacts {
  revision: number | null;
  desired: DesiredDoc;
  observed: Observed;
  plan: Plan;
  outcomes: readonly ActionOutcome[];
  /** The proxy's slots after the pass acted. */
  routed: { active: Color | null; preview: Color | null };
  ports: Record<Color, number>;
  builds: string[];
  durationMs: number;
}

/** The status a completed pass leaves: Flux-style conditions, per-color reports, the pass's actions. */
export function passStatus(previous: ReconcilerStatus, facts: PassFacts): ReconcilerStatus {
  const now = new Date().toISOString();
  const { desired, plan } = facts;
  const failed = facts.outcomes.flatMap((o) => (o.result === 'failed' ? [`${o.action.kind}: ${o.error}`] : []));
  const skipped = facts.outcomes.filter((o) => o.result === 'skipped').length;
  const notRun = skipped > 0 ? `; ${skipped} later action(s) not run` : '';
  let conditions = setCondition(
    previous.conditions,
    failed.length === 0
      ? { type: 'Reconciling', status: 'True', reason: 'PassSucceeded', message: `${facts.outcomes.length} action(s)` }
      : {
          type: 'Reconciling',
          status: 'False',
          reason: 'ActionFailed',
          message: `${failed.join('; ')}${notRun}`,
        },
    now,
  );
  const converged = plan.waiting === null && plan.actions.length === 0;
  conditions = setCondition(
    conditions,
    converged
      ? { type: 'Ready', status: 'True', reason: 'Converged', message: 'the host matches the desired state' }
      : {
          type: 'Ready',
          status: 'False',
          reason: desired.paused ? 'Paused' : 'Progressing',
          message: plan.waiting ?? plan.actions.map((a) => `${a.kind}: ${a.reason}`).join('; '),
        },
    now,
  );
  return {
    ...previous,
    observedRevision: facts.revision,
    desired,
    active: facts.routed.active,
    preview: facts.routed.preview,
    paused: desired.paused,
    colors: colorReports(facts.observed, plan, desired, facts.ports),
    waiting: plan.waiting,
    conditions,
    lastReconcileAt: now,
    lastPass: { durationMs: facts.durationMs, actions: summarizeOutcomes(facts.outcomes) },
    builds: facts.builds,
  };
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
