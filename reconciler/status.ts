// The status the reconciler reports (its shape is common/status.ts): Flux-style, apart from the spec.
// One pure function makes it: the status before, what happened, and the time give the status after.
// Every exit of a pass writes it, a failed one too, so an operator always sees what the loop last
// concluded and why; the desired-state sources and the store report their health into it as well.
import type { ActionSummary, ColorReport, ReconcilerStatus } from '../common/status.js';
import type { Color, DesiredDoc, StoreHealth } from '../common/types.js';
import type { ActionOutcome } from './act.js';
import {
  type NewCondition,
  passFailedCondition,
  readyCondition,
  reconcilingCondition,
  setCondition,
  sourceCondition,
  storeCondition,
} from './conditions.js';
import type { Observed, Plan } from './types.js';

/** What a completed pass saw, planned and did: everything its status is made of. */
export interface PassFacts {
  revision: number | null;
  desired: DesiredDoc;
  observed: Observed;
  plan: Plan;
  outcomes: readonly ActionOutcome[];
  /** The proxy's slots after the pass acted, and where it sends public requests. */
  routed: { active: Color | null; preview: Color | null; serving: Color | null };
  ports: Record<Color, number>;
  builds: string[];
  durationMs: number;
}

/** What changes the status: a pass (started, completed or failed), or a report from outside the loop. */
export type StatusChange =
  /** A pass read the desired state: the revision it attempts, whether it completes or not. */
  | { kind: 'attempted'; revision: number | null }
  | { kind: 'passed'; facts: PassFacts }
  /** A pass that could not complete: the store or an observation failed. */
  | { kind: 'failed'; error: string; durationMs: number }
  /** A desired-state source (the file, the config repo) read valid (error null) or not. */
  | { kind: 'source'; source: string; error: string | null }
  | { kind: 'store'; health: StoreHealth }
  /** A condition another part of the daemon owns (the archive's `Archived`, the disk watch's `DiskSpace`). */
  | { kind: 'condition'; condition: NewCondition };

export function initialStatus(): ReconcilerStatus {
  return {
    observedRevision: null,
    lastAttemptedRevision: null,
    desired: null,
    active: null,
    preview: null,
    serving: null,
    weights: null,
    canary: null,
    paused: false,
    colors: null,
    waiting: null,
    conditions: [],
    lastReconcileAt: null,
    lastPass: null,
    builds: [],
  };
}

/** The status after `change`, at `now` (an ISO time): pure, so every case is a table row in a test. */
export function nextStatus(previous: ReconcilerStatus, change: StatusChange, now: string): ReconcilerStatus {
  switch (change.kind) {
    case 'attempted':
      return { ...previous, lastAttemptedRevision: change.revision };
    case 'passed':
      return passStatus(previous, change.facts, now);
    case 'failed':
      return {
        ...previous,
        conditions: setCondition(previous.conditions, passFailedCondition(change.error), now),
        lastReconcileAt: now,
        lastPass: { durationMs: change.durationMs, actions: [] },
      };
    case 'source':
      return {
        ...previous,
        conditions: setCondition(previous.conditions, sourceCondition(change.source, change.error), now),
      };
    case 'store':
      return { ...previous, conditions: setCondition(previous.conditions, storeCondition(change.health), now) };
    case 'condition':
      return { ...previous, conditions: setCondition(previous.conditions, change.condition, now) };
    default: {
      const never: never = change;
      throw new Error(`unknown status change ${JSON.stringify(never)}`);
    }
  }
}

/** A completed pass: conditions, per-color reports and the pass's actions; observedRevision moves. */
function passStatus(previous: ReconcilerStatus, facts: PassFacts, now: string): ReconcilerStatus {
  const { desired, plan } = facts;
  let conditions = setCondition(previous.conditions, reconcilingCondition(facts.outcomes), now);
  conditions = setCondition(conditions, readyCondition(plan, desired.paused), now);
  return {
    ...previous,
    observedRevision: facts.revision,
    desired,
    active: facts.routed.active,
    preview: facts.routed.preview,
    serving: facts.routed.serving,
    paused: desired.paused,
    colors: colorReports(facts.observed, plan, desired, facts.ports),
    waiting: plan.waiting,
    conditions,
    lastReconcileAt: now,
    lastPass: { durationMs: facts.durationMs, actions: summarizeOutcomes(facts.outcomes) },
    builds: facts.builds,
  };
}

/** Each color as the pass concluded it (the plan's phase and message) and as it is (unit, health, tags). */
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
      smoke: result.colors[color].smoke ?? null,
    };
  };
  return { blue: report('blue'), green: report('green') };
}

/** The pass's actions as the status shows them: each done, failed (why) or skipped (why). */
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
